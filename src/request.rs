//! HTTP/1.1 request heads for Event Hubs, Service Bus and IoT Hub
//! (azure-protocol.md sections 2-4): the request line, the headers and the
//! blank line. The caller sends the body itself, so it is never copied.
//!
//! [`head_len`] and [`write_head`] run the same framing code ([`Sink`]), so
//! the length is exact: allocate once with it, then write.
//!
//! Refused, never sent: a path part that is empty (every other byte is
//! percent-encoded, so none can change the request line), a header name that
//! is not an RFC 7230 token or names a header this module writes itself,
//! a header value with a control character (CR, LF, NUL, ...) or a byte
//! outside ASCII, an invalid host, a body larger than `max_size`.

use core::marker::PhantomData;

use crate::connstr;
use crate::error::{Error, Result};
use crate::json::{self, Sink};
use crate::percent;

/// A byte string as C passes it: `ptr` NULL means "absent".
///
/// The fields are private: safe Rust builds one only from a slice, and the C
/// ABI functions that take one are `unsafe` with the contract that `ptr` is
/// NULL or valid for reads of `len` bytes while the call runs.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct UpyAzureStr<'a> {
    ptr: *const u8,
    len: usize,
    _life: PhantomData<&'a [u8]>,
}

impl<'a> UpyAzureStr<'a> {
    /// The absent string (NULL pointer).
    pub const NONE: UpyAzureStr<'static> = UpyAzureStr {
        ptr: core::ptr::null(),
        len: 0,
        _life: PhantomData,
    };

    pub const fn new(s: &'a [u8]) -> Self {
        UpyAzureStr {
            ptr: s.as_ptr(),
            len: s.len(),
            _life: PhantomData,
        }
    }

    /// `None` when the pointer is NULL.
    pub fn get(&self) -> Option<&'a [u8]> {
        if self.ptr.is_null() {
            None
        } else {
            // SAFETY: built from a slice by `new`, or handed over by C under
            // the contract of the `unsafe` ABI function (see the type doc).
            Some(unsafe { crate::ffi::slice(self.ptr, self.len) })
        }
    }

    /// The bytes; an absent string is empty.
    pub fn bytes(&self) -> &'a [u8] {
        self.get().unwrap_or(&[])
    }
}

/// One user (application) property: a header for a single event, a JSON
/// member in a batch.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct UpyAzureProperty<'a> {
    pub name: UpyAzureStr<'a>,
    pub value: UpyAzureStr<'a>,
}

impl<'a> UpyAzureProperty<'a> {
    pub const fn new(name: &'a [u8], value: &'a [u8]) -> Self {
        UpyAzureProperty {
            name: UpyAzureStr::new(name),
            value: UpyAzureStr::new(value),
        }
    }
}

/// The service; the C ABI numbers them 0, 1, 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    EventHub,
    ServiceBus,
    IotHub,
}

impl Kind {
    /// 0 Event Hubs, 1 Service Bus, 2 IoT Hub; anything else `InvalidState`.
    pub fn from_u8(k: u8) -> Result<Kind> {
        match k {
            0 => Ok(Kind::EventHub),
            1 => Ok(Kind::ServiceBus),
            2 => Ok(Kind::IotHub),
            _ => Err(Error::InvalidState),
        }
    }
}

/// What to frame. `None` = not given.
///
/// Combinations that have no REST target are `InvalidState`: `publisher`
/// together with `partition_id`; `publisher` or `partition_id` for Service
/// Bus or IoT Hub; `module_id` for Event Hubs or Service Bus; a
/// `partition_key` for IoT Hub (IoT Hub has no partition key: refused
/// rather than silently dropped); a `content_type` for a batch (the batch
/// content type is what tells the service the body is a batch).
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub kind: Kind,
    /// The body is a batch built by [`crate::batch`].
    pub batch: bool,
    /// `Connection: keep-alive` (else `close`).
    pub keep_alive: bool,
    pub host: &'a [u8],
    /// Event hub, queue or topic name, or IoT Hub device id.
    pub entity: &'a [u8],
    pub publisher: Option<&'a [u8]>,
    pub partition_id: Option<&'a [u8]>,
    pub module_id: Option<&'a [u8]>,
    /// The whole `SharedAccessSignature sr=...` string.
    pub token: &'a [u8],
    /// Overrides the default content type of a single event.
    pub content_type: Option<&'a [u8]>,
    pub partition_key: Option<&'a [u8]>,
    pub properties: &'a [UpyAzureProperty<'a>],
    pub body_len: usize,
    /// Largest body accepted, in bytes (`MessageTooLarge` above it).
    pub max_size: usize,
}

pub const CT_ATOM: &[u8] = b"application/atom+xml;type=entry;charset=utf-8";
pub const CT_SB_BATCH: &[u8] = b"application/vnd.microsoft.servicebus.json";
pub const CT_OCTETS: &[u8] = b"application/octet-stream";
pub const CT_IOT_BATCH: &[u8] = b"application/vnd.microsoft.iothub.json";

/// Prefix of IoT Hub application property headers (and batch members).
pub const IOT_APP_PREFIX: &[u8] = b"iothub-app-";

/// Headers this module writes itself (plus `Expect`, which it never sends):
/// a user property may not use these names (Event Hubs / Service Bus; IoT
/// Hub properties get the `iothub-app-` prefix and cannot collide).
const RESERVED: [&[u8]; 8] = [
    b"host",
    b"authorization",
    b"content-type",
    b"content-length",
    b"connection",
    b"brokerproperties",
    b"transfer-encoding",
    b"expect",
];

/// RFC 7230 `tchar`.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty RFC 7230 token.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Visible ASCII, space and tab only (no CR, LF, NUL, DEL, other controls
/// or bytes above 0x7E).
pub fn check_value(v: &[u8]) -> Result<()> {
    if v.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b)) {
        Ok(())
    } else {
        Err(Error::InvalidHeaderValue)
    }
}

fn check_nonempty_value(v: &[u8]) -> Result<()> {
    if v.is_empty() {
        return Err(Error::InvalidHeaderValue);
    }
    check_value(v)
}

/// One percent-encoded path segment; empty is `InvalidPathSegment`.
fn segment(s: &mut Sink<'_>, seg: &[u8]) -> Result<()> {
    if seg.is_empty() {
        return Err(Error::InvalidPathSegment);
    }
    match s.writer() {
        Some(w) => percent::encode_into(w, seg),
        None => s.count(percent::encoded_len(seg)),
    }
}

/// `CRLF name: value` (a header after the one before it).
fn header(s: &mut Sink<'_>, name: &[u8], value: &[u8]) -> Result<()> {
    s.push(b"\r\n")?;
    s.push(name)?;
    s.push(b": ")?;
    s.push(value)
}

/// Frames the head of `r` into `s`: the one code path behind both
/// [`head_len`] and [`write_head`].
pub fn frame(s: &mut Sink<'_>, r: &Request<'_>) -> Result<()> {
    if r.body_len > r.max_size {
        return Err(Error::MessageTooLarge);
    }
    if !connstr::valid_host(r.host) {
        return Err(Error::InvalidHost);
    }
    let iot = r.kind == Kind::IotHub;
    if r.batch && r.content_type.is_some() {
        return Err(Error::InvalidState);
    }

    s.push(b"POST /")?;
    if iot {
        if r.publisher.is_some() || r.partition_id.is_some() || r.partition_key.is_some() {
            return Err(Error::InvalidState);
        }
        s.push(b"devices/")?;
        segment(s, r.entity)?;
        if let Some(m) = r.module_id {
            s.push(b"/modules/")?;
            segment(s, m)?;
        }
        s.push(b"/messages/events?api-version=2021-04-12")?;
    } else {
        if r.module_id.is_some() {
            return Err(Error::InvalidState);
        }
        segment(s, r.entity)?;
        let (part, value): (&[u8], _) = match (r.kind, r.publisher, r.partition_id) {
            (_, None, None) => (b"", None),
            (Kind::EventHub, Some(p), None) => (b"/publishers/", Some(p)),
            (Kind::EventHub, None, Some(p)) => (b"/partitions/", Some(p)),
            _ => return Err(Error::InvalidState),
        };
        if let Some(v) = value {
            s.push(part)?;
            segment(s, v)?;
        }
        s.push(b"/messages?timeout=60&api-version=2014-01")?;
    }
    s.push(b" HTTP/1.1")?;

    header(s, b"Host", r.host)?;
    check_nonempty_value(r.token)?;
    header(s, b"Authorization", r.token)?;
    let ct = match (r.content_type, iot, r.batch) {
        (Some(ct), _, _) => {
            check_nonempty_value(ct)?;
            ct
        }
        (None, false, false) => CT_ATOM,
        (None, false, true) => CT_SB_BATCH,
        (None, true, false) => CT_OCTETS,
        (None, true, true) => CT_IOT_BATCH,
    };
    header(s, b"Content-Type", ct)?;
    s.push(b"\r\nContent-Length: ")?;
    s.push_u64(r.body_len as u64)?;

    if let Some(pk) = r.partition_key {
        // ASCII only: the JSON escape then keeps the header value clean.
        check_value(pk)?;
        s.push(b"\r\nBrokerProperties: {\"PartitionKey\":\"")?;
        json::escape_into(s, pk)?;
        s.push(b"\"}")?;
    }

    for p in r.properties {
        let name = p.name.bytes();
        let value = p.value.bytes();
        if !is_token(name) || (!iot && RESERVED.iter().any(|n| n.eq_ignore_ascii_case(name))) {
            return Err(Error::InvalidHeaderName);
        }
        check_value(value)?;
        s.push(b"\r\n")?;
        if iot {
            s.push(IOT_APP_PREFIX)?;
        }
        s.push(name)?;
        s.push(b": ")?;
        s.push(value)?;
    }

    s.push(if r.keep_alive {
        b"\r\nConnection: keep-alive\r\n\r\n"
    } else {
        b"\r\nConnection: close\r\n\r\n"
    })
}

/// Exact length of the head of `r`, validating everything [`write_head`] does.
pub fn head_len(r: &Request<'_>) -> Result<usize> {
    let mut s = Sink::counter();
    frame(&mut s, r)?;
    Ok(s.len())
}

/// Writes the head of `r` into `out` and returns its length.
pub fn write_head(out: &mut [u8], r: &Request<'_>) -> Result<usize> {
    let mut s = Sink::new(out);
    frame(&mut s, r)?;
    Ok(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    const TOKEN: &[u8] = b"SharedAccessSignature sr=x&sig=y%3D&se=1&skn=k";

    fn base(kind: Kind) -> Request<'static> {
        Request {
            kind,
            batch: false,
            keep_alive: true,
            host: if kind == Kind::IotHub {
                b"hub.azure-devices.net"
            } else {
                b"ns.servicebus.windows.net"
            },
            entity: b"hub",
            publisher: None,
            partition_id: None,
            module_id: None,
            token: TOKEN,
            content_type: None,
            partition_key: None,
            properties: &[],
            body_len: 5,
            max_size: 262144,
        }
    }

    fn head(r: &Request<'_>) -> Result<String> {
        let n = head_len(r)?;
        let mut out = std::vec![0u8; n];
        assert_eq!(write_head(&mut out, r), Ok(n));
        // One byte short must fail cleanly.
        if n > 0 {
            let mut short = std::vec![0u8; n - 1];
            assert_eq!(write_head(&mut short, r), Err(Error::BufferTooSmall));
        }
        Ok(String::from_utf8(out).unwrap())
    }

    const EH_TAIL: &str = "Host: ns.servicebus.windows.net\r\n\
        Authorization: SharedAccessSignature sr=x&sig=y%3D&se=1&skn=k\r\n";

    #[test]
    fn event_hub_targets() {
        let r = base(Kind::EventHub);
        assert_eq!(
            head(&r).unwrap(),
            std::format!(
                "POST /hub/messages?timeout=60&api-version=2014-01 HTTP/1.1\r\n{EH_TAIL}\
                 Content-Type: application/atom+xml;type=entry;charset=utf-8\r\n\
                 Content-Length: 5\r\nConnection: keep-alive\r\n\r\n"
            )
        );
        let r2 = Request {
            publisher: Some(b"dev 1/x"),
            keep_alive: false,
            ..r
        };
        assert_eq!(
            head(&r2).unwrap(),
            std::format!(
                "POST /hub/publishers/dev%201%2Fx/messages?timeout=60&api-version=2014-01 HTTP/1.1\r\n{EH_TAIL}\
                 Content-Type: application/atom+xml;type=entry;charset=utf-8\r\n\
                 Content-Length: 5\r\nConnection: close\r\n\r\n"
            )
        );
        let r3 = Request {
            partition_id: Some(b"3"),
            batch: true,
            body_len: 0,
            ..r
        };
        assert_eq!(
            head(&r3).unwrap(),
            std::format!(
                "POST /hub/partitions/3/messages?timeout=60&api-version=2014-01 HTTP/1.1\r\n{EH_TAIL}\
                 Content-Type: application/vnd.microsoft.servicebus.json\r\n\
                 Content-Length: 0\r\nConnection: keep-alive\r\n\r\n"
            )
        );
    }

    #[test]
    fn properties_partition_key_content_type() {
        let props = [
            UpyAzureProperty::new(b"Alert", b"Strong Wind"),
            UpyAzureProperty::new(b"x-Empty", b""),
        ];
        let r = Request {
            kind: Kind::ServiceBus,
            entity: b"queue",
            partition_key: Some(b"k\"1\\"),
            properties: &props,
            content_type: Some(b"application/json"),
            body_len: 262144,
            ..base(Kind::ServiceBus)
        };
        assert_eq!(
            head(&r).unwrap(),
            std::format!(
                "POST /queue/messages?timeout=60&api-version=2014-01 HTTP/1.1\r\n{EH_TAIL}\
                 Content-Type: application/json\r\n\
                 Content-Length: 262144\r\n\
                 BrokerProperties: {{\"PartitionKey\":\"k\\\"1\\\\\"}}\r\n\
                 Alert: Strong Wind\r\n\
                 x-Empty: \r\n\
                 Connection: keep-alive\r\n\r\n"
            )
        );
    }

    #[test]
    fn iot_hub_targets() {
        let props = [UpyAzureProperty::new(b"temp", b"21.5")];
        let r = Request {
            entity: b"dev:1",
            properties: &props,
            ..base(Kind::IotHub)
        };
        let tail = "Host: hub.azure-devices.net\r\n\
            Authorization: SharedAccessSignature sr=x&sig=y%3D&se=1&skn=k\r\n";
        assert_eq!(
            head(&r).unwrap(),
            std::format!(
                "POST /devices/dev%3A1/messages/events?api-version=2021-04-12 HTTP/1.1\r\n{tail}\
                 Content-Type: application/octet-stream\r\n\
                 Content-Length: 5\r\niothub-app-temp: 21.5\r\nConnection: keep-alive\r\n\r\n"
            )
        );
        let r2 = Request {
            module_id: Some(b"mod"),
            batch: true,
            properties: &[],
            ..r
        };
        assert_eq!(
            head(&r2).unwrap(),
            std::format!(
                "POST /devices/dev%3A1/modules/mod/messages/events?api-version=2021-04-12 HTTP/1.1\r\n{tail}\
                 Content-Type: application/vnd.microsoft.iothub.json\r\n\
                 Content-Length: 5\r\nConnection: keep-alive\r\n\r\n"
            )
        );
        // Reserved names are fine behind the iothub-app- prefix.
        let host = [UpyAzureProperty::new(b"Host", b"v")];
        assert!(head(&Request {
            properties: &host,
            ..r
        })
        .unwrap()
        .contains("\r\niothub-app-Host: v\r\n"));
    }

    #[test]
    fn bad_combinations() {
        let eh = base(Kind::EventHub);
        let sb = base(Kind::ServiceBus);
        let iot = base(Kind::IotHub);
        for r in [
            Request {
                publisher: Some(b"p"),
                partition_id: Some(b"1"),
                ..eh
            },
            Request {
                module_id: Some(b"m"),
                ..eh
            },
            Request {
                publisher: Some(b"p"),
                ..sb
            },
            Request {
                partition_id: Some(b"1"),
                ..sb
            },
            Request {
                partition_key: Some(b"k"),
                ..iot
            },
            Request {
                publisher: Some(b"p"),
                ..iot
            },
            Request {
                batch: true,
                content_type: Some(b"text/plain"),
                ..eh
            },
        ] {
            assert_eq!(head(&r), Err(Error::InvalidState));
        }
        for r in [
            Request { entity: b"", ..eh },
            Request {
                publisher: Some(b""),
                ..eh
            },
            Request {
                module_id: Some(b""),
                ..iot
            },
        ] {
            assert_eq!(head(&r), Err(Error::InvalidPathSegment));
        }
        for host in [&b""[..], b"a b", b"a\r\nX: y", b"h/x", "é".as_bytes()] {
            assert_eq!(head(&Request { host, ..eh }), Err(Error::InvalidHost));
        }
    }

    #[test]
    fn size_limit() {
        let r = Request {
            body_len: 262145,
            ..base(Kind::EventHub)
        };
        assert_eq!(head(&r), Err(Error::MessageTooLarge));
        let r = Request {
            body_len: 1048576,
            max_size: 1048576,
            ..r
        };
        assert!(head(&r).unwrap().contains("Content-Length: 1048576\r\n"));
        let r = Request {
            body_len: usize::MAX,
            max_size: usize::MAX,
            ..r
        };
        assert!(head(&r).is_ok());
    }

    #[test]
    fn injection_refused() {
        let eh = base(Kind::EventHub);
        for v in [
            &b"a\rb"[..],
            b"a\nb",
            b"a\r\nX-Evil: 1",
            b"a\0b",
            b"\x7f",
            b"\x1b[0m",
            "é".as_bytes(),
            b"\xff",
        ] {
            let props = [UpyAzureProperty::new(b"Name", v)];
            assert_eq!(
                head(&Request {
                    properties: &props,
                    ..eh
                }),
                Err(Error::InvalidHeaderValue)
            );
            assert_eq!(
                head(&Request { token: v, ..eh }),
                Err(Error::InvalidHeaderValue)
            );
            assert_eq!(
                head(&Request {
                    content_type: Some(v),
                    ..eh
                }),
                Err(Error::InvalidHeaderValue)
            );
            assert_eq!(
                head(&Request {
                    partition_key: Some(v),
                    ..eh
                }),
                Err(Error::InvalidHeaderValue)
            );
        }
        assert_eq!(
            head(&Request { token: b"", ..eh }),
            Err(Error::InvalidHeaderValue)
        );
        assert_eq!(
            head(&Request {
                content_type: Some(b""),
                ..eh
            }),
            Err(Error::InvalidHeaderValue)
        );
        // A tab is allowed in values.
        let tab = [UpyAzureProperty::new(b"N", b"a\tb")];
        assert!(head(&Request {
            properties: &tab,
            ..eh
        })
        .is_ok());

        for n in [
            &b""[..],
            b"a b",
            b"a:b",
            b"a\r\nb",
            b"a\0",
            b"(x)",
            b"\"q\"",
            "é".as_bytes(),
            b"Host",
            b"AUTHORIZATION",
            b"content-type",
            b"Content-Length",
            b"connection",
            b"BrokerProperties",
            b"Transfer-Encoding",
            b"Expect",
        ] {
            let props = [UpyAzureProperty::new(n, b"v")];
            assert_eq!(
                head(&Request {
                    properties: &props,
                    ..eh
                }),
                Err(Error::InvalidHeaderName),
                "{n:?}"
            );
        }
        let absent = [UpyAzureProperty {
            name: UpyAzureStr::NONE,
            value: UpyAzureStr::NONE,
        }];
        assert_eq!(
            head(&Request {
                properties: &absent,
                ..eh
            }),
            Err(Error::InvalidHeaderName)
        );
        let ok = [UpyAzureProperty::new(b"X-My_Prop.1!#$%&'*+^`|~", b"")];
        assert!(head(&Request {
            properties: &ok,
            ..eh
        })
        .is_ok());
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..12),
            "[a-zA-Z0-9 :/.-]{0,12}".prop_map(String::into_bytes),
        ]
    }

    fn opt() -> impl Strategy<Value = Option<Vec<u8>>> {
        proptest::option::of(bytes())
    }

    proptest! {
        #[test]
        fn framing_never_panics_and_length_is_exact(
            kind in 0u8..3,
            flags in any::<(bool, bool)>(),
            host in bytes(),
            entity in bytes(),
            publisher in opt(),
            partition_id in opt(),
            module_id in opt(),
            token in bytes(),
            content_type in opt(),
            partition_key in opt(),
            props in proptest::collection::vec((bytes(), bytes()), 0..3),
            body_len in any::<usize>(),
            max_size in any::<usize>(),
        ) {
            let props: Vec<_> = props.iter().map(|(n, v)| UpyAzureProperty::new(n, v)).collect();
            let r = Request {
                kind: Kind::from_u8(kind).unwrap(),
                batch: flags.0,
                keep_alive: flags.1,
                host: &host,
                entity: &entity,
                publisher: publisher.as_deref(),
                partition_id: partition_id.as_deref(),
                module_id: module_id.as_deref(),
                token: &token,
                content_type: content_type.as_deref(),
                partition_key: partition_key.as_deref(),
                properties: &props,
                body_len,
                max_size,
            };
            let mut out = [0u8; 1024];
            match (head_len(&r), write_head(&mut out, &r)) {
                (Ok(n), Ok(m)) => {
                    prop_assert_eq!(n, m);
                    let h = &out[..n];
                    // Exactly one blank line, at the end; only CRLF line ends.
                    prop_assert!(h.ends_with(b"\r\n\r\n"));
                    let lines = h.split(|&b| b == b'\n').count();
                    let crlf = h.windows(2).filter(|w| w == b"\r\n").count();
                    prop_assert_eq!(lines - 1, crlf);
                    prop_assert_eq!(h.windows(4).filter(|w| w == b"\r\n\r\n").count(), 1);
                    prop_assert!(h.iter().all(|&b| b == b'\r' || b == b'\n' || b == b'\t' || (b' '..=b'~').contains(&b)));
                    // The request line has exactly two spaces.
                    let first = h.split(|&b| b == b'\r').next().unwrap();
                    prop_assert_eq!(first.iter().filter(|&&b| b == b' ').count(), 2);
                }
                (Err(e), Err(f)) => prop_assert_eq!(e, f),
                (Ok(n), Err(e)) => prop_assert!(n > out.len() && e == Error::BufferTooSmall),
                (Err(e), Ok(_)) => prop_assert!(false, "count failed with {:?} but write worked", e),
            }
        }
    }
}
