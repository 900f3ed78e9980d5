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
            Some(unsafe { core::slice::from_raw_parts(self.ptr, self.len) })
        }
    }

    /// The bytes; an absent string is empty.
    pub fn bytes(&self) -> &'a [u8] {
        self.get().unwrap_or_default()
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

/// A C array of properties: `ptr` NULL (or `len` 0) is empty. Same
/// contract as [`UpyAzureStr`]: built from a slice in Rust, handed over by C
/// under the contract of the `unsafe` ABI functions.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct UpyAzureProperties<'a> {
    ptr: *const UpyAzureProperty<'a>,
    len: usize,
    _life: PhantomData<&'a [UpyAzureProperty<'a>]>,
}

impl<'a> UpyAzureProperties<'a> {
    pub const fn new(p: &'a [UpyAzureProperty<'a>]) -> Self {
        UpyAzureProperties {
            ptr: p.as_ptr(),
            len: p.len(),
            _life: PhantomData,
        }
    }

    /// # Safety
    /// `ptr` must be NULL or valid for `len` elements for `'a`.
    pub const unsafe fn from_raw(ptr: *const UpyAzureProperty<'a>, len: usize) -> Self {
        UpyAzureProperties {
            ptr,
            len,
            _life: PhantomData,
        }
    }

    pub fn get(&self) -> &'a [UpyAzureProperty<'a>] {
        if self.ptr.is_null() || self.len == 0 {
            &[]
        } else {
            // SAFETY: see the type doc.
            unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

/// `kind` values: the services.
pub const KIND_EVENT_HUB: u8 = 0;
pub const KIND_SERVICE_BUS: u8 = 1;
pub const KIND_IOT_HUB: u8 = 2;

/// Everything a request head needs, laid out for C. Strings with a NULL
/// `ptr` are absent; for `host`, `entity` and `token` absent is empty, and
/// refused.
///
/// Combinations that have no REST target are `InvalidState`: a `kind` above
/// 2; `publisher` together with `partition_id`; `publisher` or
/// `partition_id` for Service Bus or IoT Hub; `module_id` for Event Hubs or
/// Service Bus; a `partition_key` for IoT Hub (IoT Hub has no partition
/// key: refused rather than silently dropped); a `content_type` for a batch
/// (the batch content type is what tells the service the body is a batch).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct UpyAzureRequest<'a> {
    /// 0 Event Hubs, 1 Service Bus, 2 IoT Hub.
    pub kind: u8,
    /// The body is a batch built by `upy_azure_batch_*`.
    pub batch: bool,
    /// `Connection: keep-alive`, else `Connection: close`.
    pub keep_alive: bool,
    pub host: UpyAzureStr<'a>,
    /// Event hub, queue or topic name, or IoT Hub device id.
    pub entity: UpyAzureStr<'a>,
    /// Event Hubs only: `/{hub}/publishers/{publisher}/messages`.
    pub publisher: UpyAzureStr<'a>,
    /// Event Hubs only: `/{hub}/partitions/{partition_id}/messages`.
    pub partition_id: UpyAzureStr<'a>,
    /// IoT Hub only: `/devices/{id}/modules/{module_id}/messages/events`.
    pub module_id: UpyAzureStr<'a>,
    /// The whole `SharedAccessSignature sr=...` string.
    pub token: UpyAzureStr<'a>,
    /// Single events only; absent = the service's default.
    pub content_type: UpyAzureStr<'a>,
    /// Event Hubs / Service Bus only (`BrokerProperties` header).
    pub partition_key: UpyAzureStr<'a>,
    /// `Name: value` headers (`iothub-app-Name: value` for IoT Hub).
    pub properties: UpyAzureProperties<'a>,
    /// The `Content-Length`.
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
    matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'!' | b'#'..=b'\'' | b'*' | b'+'
        | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// A non-empty RFC 7230 token.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Visible ASCII, space and tab only (no CR, LF, NUL, DEL, other controls
/// or bytes above 0x7E); empty only if `may_be_empty`.
#[inline(never)]
fn check_value(v: &[u8], may_be_empty: bool) -> Result<()> {
    if (may_be_empty || !v.is_empty())
        && v.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        Ok(())
    } else {
        Err(Error::InvalidHeaderValue)
    }
}

/// Frames the head of `r` into `s`: the one code path behind both
/// [`head_len`] and [`write_head`]. Checks come first where they decide
/// the target; header values are checked just before they are written (an
/// error anywhere means nothing is sent).
pub fn frame(s: &mut Sink<'_>, r: &UpyAzureRequest<'_>) -> Result<()> {
    let host = r.host.bytes();
    let entity = r.entity.bytes();
    let token = r.token.bytes();
    let (publisher, partition_id, module_id) =
        (r.publisher.get(), r.partition_id.get(), r.module_id.get());
    let (content_type, partition_key) = (r.content_type.get(), r.partition_key.get());
    let iot = r.kind == KIND_IOT_HUB;
    let eh = r.kind == KIND_EVENT_HUB;

    if r.body_len > r.max_size {
        return Err(Error::MessageTooLarge);
    }
    if !connstr::valid_host(host) {
        return Err(Error::InvalidHost);
    }
    // The optional second path segment.
    let (sub, sub_prefix): (_, &[u8]) = match (publisher, partition_id) {
        (Some(p), None) => (Some(p), b"/publishers/"),
        (None, p) => (p, b"/partitions/"),
        _ => return Err(Error::InvalidState),
    };
    let bad = r.kind > KIND_IOT_HUB
        || (r.batch && content_type.is_some())
        || if iot {
            sub.is_some() || partition_key.is_some()
        } else {
            module_id.is_some() || (!eh && sub.is_some())
        };
    if bad {
        return Err(Error::InvalidState);
    }
    let (sub, sub_prefix) = if iot {
        (module_id, &b"/modules/"[..])
    } else {
        (sub, sub_prefix)
    };
    if entity.is_empty() || sub == Some(&[]) {
        return Err(Error::InvalidPathSegment);
    }

    s.push(if iot { b"POST /devices/" } else { b"POST /" });
    s.push_percent(entity);
    if let Some(v) = sub {
        s.push(sub_prefix);
        s.push_percent(v);
    }
    s.push(if iot {
        b"/messages/events?api-version=2021-04-12 HTTP/1.1\r\nHost: "
    } else {
        b"/messages?timeout=60&api-version=2014-01 HTTP/1.1\r\nHost: "
    });
    s.push(host);

    check_value(token, false)?;
    s.push(b"\r\nAuthorization: ");
    s.push(token);

    let ct = match (content_type, iot, r.batch) {
        (Some(ct), _, _) => {
            check_value(ct, false)?;
            ct
        }
        (None, false, false) => CT_ATOM,
        (None, false, true) => CT_SB_BATCH,
        (None, true, false) => CT_OCTETS,
        (None, true, true) => CT_IOT_BATCH,
    };
    s.push(b"\r\nContent-Type: ");
    s.push(ct);
    s.push(b"\r\nContent-Length: ");
    s.push_u64(r.body_len as u64);

    if let Some(pk) = partition_key {
        // ASCII only: the JSON escape then keeps the header value clean.
        check_value(pk, true)?;
        s.push(b"\r\nBrokerProperties: {\"PartitionKey\":\"");
        json::escape_into(s, pk)?;
        s.push(b"\"}");
    }

    for p in r.properties.get() {
        let name = p.name.bytes();
        let value = p.value.bytes();
        if !is_token(name) || (!iot && RESERVED.iter().any(|n| n.eq_ignore_ascii_case(name))) {
            return Err(Error::InvalidHeaderName);
        }
        check_value(value, true)?;
        s.push(b"\r\n");
        if iot {
            s.push(IOT_APP_PREFIX);
        }
        s.push(name);
        s.push(b": ");
        s.push(value);
    }

    s.push(if r.keep_alive {
        b"\r\nConnection: keep-alive\r\n\r\n"
    } else {
        b"\r\nConnection: close\r\n\r\n"
    });
    Ok(())
}

/// Exact length of the head of `r`, validating everything [`write_head`] does.
pub fn head_len(r: &UpyAzureRequest<'_>) -> Result<usize> {
    head(None, r)
}

/// Writes the head of `r` into `out` and returns its length.
pub fn write_head(out: &mut [u8], r: &UpyAzureRequest<'_>) -> Result<usize> {
    head(Some(out), r)
}

/// [`head_len`] when `out` is `None`, else [`write_head`].
pub fn head(out: Option<&mut [u8]>, r: &UpyAzureRequest<'_>) -> Result<usize> {
    let mut s = Sink::from_option(out);
    frame(&mut s, r)?;
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    const NONE: UpyAzureStr<'static> = UpyAzureStr::NONE;

    fn st(b: &[u8]) -> UpyAzureStr<'_> {
        UpyAzureStr::new(b)
    }

    const TOKEN: &[u8] = b"SharedAccessSignature sr=x&sig=y%3D&se=1&skn=k";

    fn base(kind: u8) -> UpyAzureRequest<'static> {
        UpyAzureRequest {
            kind,
            batch: false,
            keep_alive: true,
            host: st(if kind == KIND_IOT_HUB {
                b"hub.azure-devices.net"
            } else {
                b"ns.servicebus.windows.net"
            }),
            entity: st(b"hub"),
            publisher: NONE,
            partition_id: NONE,
            module_id: NONE,
            token: st(TOKEN),
            content_type: NONE,
            partition_key: NONE,
            properties: UpyAzureProperties::new(&[]),
            body_len: 5,
            max_size: 262144,
        }
    }

    fn head(r: &UpyAzureRequest<'_>) -> Result<String> {
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
        let r = base(KIND_EVENT_HUB);
        assert_eq!(
            head(&r).unwrap(),
            std::format!(
                "POST /hub/messages?timeout=60&api-version=2014-01 HTTP/1.1\r\n{EH_TAIL}\
                 Content-Type: application/atom+xml;type=entry;charset=utf-8\r\n\
                 Content-Length: 5\r\nConnection: keep-alive\r\n\r\n"
            )
        );
        let r2 = UpyAzureRequest {
            publisher: st(b"dev 1/x"),
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
        let r3 = UpyAzureRequest {
            partition_id: st(b"3"),
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
        let r = UpyAzureRequest {
            kind: KIND_SERVICE_BUS,
            entity: st(b"queue"),
            partition_key: st(b"k\"1\\"),
            properties: UpyAzureProperties::new(&props),
            content_type: st(b"application/json"),
            body_len: 262144,
            ..base(KIND_SERVICE_BUS)
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
        let r = UpyAzureRequest {
            entity: st(b"dev:1"),
            properties: UpyAzureProperties::new(&props),
            ..base(KIND_IOT_HUB)
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
        let r2 = UpyAzureRequest {
            module_id: st(b"mod"),
            batch: true,
            properties: UpyAzureProperties::new(&[]),
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
        assert!(head(&UpyAzureRequest {
            properties: UpyAzureProperties::new(&host),
            ..r
        })
        .unwrap()
        .contains("\r\niothub-app-Host: v\r\n"));
    }

    #[test]
    fn bad_combinations() {
        let eh = base(KIND_EVENT_HUB);
        let sb = base(KIND_SERVICE_BUS);
        let iot = base(KIND_IOT_HUB);
        for r in [
            UpyAzureRequest {
                publisher: st(b"p"),
                partition_id: st(b"1"),
                ..eh
            },
            UpyAzureRequest {
                module_id: st(b"m"),
                ..eh
            },
            UpyAzureRequest {
                publisher: st(b"p"),
                ..sb
            },
            UpyAzureRequest {
                partition_id: st(b"1"),
                ..sb
            },
            UpyAzureRequest {
                partition_key: st(b"k"),
                ..iot
            },
            UpyAzureRequest {
                publisher: st(b"p"),
                ..iot
            },
            UpyAzureRequest {
                batch: true,
                content_type: st(b"text/plain"),
                ..eh
            },
        ] {
            assert_eq!(head(&r), Err(Error::InvalidState));
        }
        for r in [
            UpyAzureRequest {
                entity: st(b""),
                ..eh
            },
            UpyAzureRequest {
                publisher: st(b""),
                ..eh
            },
            UpyAzureRequest {
                module_id: st(b""),
                ..iot
            },
        ] {
            assert_eq!(head(&r), Err(Error::InvalidPathSegment));
        }
        for host in [&b""[..], b"a b", b"a\r\nX: y", b"h/x", "é".as_bytes()] {
            assert_eq!(
                head(&UpyAzureRequest {
                    host: st(host),
                    ..eh
                }),
                Err(Error::InvalidHost)
            );
        }
    }

    #[test]
    fn size_limit() {
        let r = UpyAzureRequest {
            body_len: 262145,
            ..base(KIND_EVENT_HUB)
        };
        assert_eq!(head(&r), Err(Error::MessageTooLarge));
        let r = UpyAzureRequest {
            body_len: 1048576,
            max_size: 1048576,
            ..r
        };
        assert!(head(&r).unwrap().contains("Content-Length: 1048576\r\n"));
        let r = UpyAzureRequest {
            body_len: usize::MAX,
            max_size: usize::MAX,
            ..r
        };
        assert!(head(&r).is_ok());
    }

    #[test]
    fn injection_refused() {
        let eh = base(KIND_EVENT_HUB);
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
                head(&UpyAzureRequest {
                    properties: UpyAzureProperties::new(&props),
                    ..eh
                }),
                Err(Error::InvalidHeaderValue)
            );
            assert_eq!(
                head(&UpyAzureRequest { token: st(v), ..eh }),
                Err(Error::InvalidHeaderValue)
            );
            assert_eq!(
                head(&UpyAzureRequest {
                    content_type: st(v),
                    ..eh
                }),
                Err(Error::InvalidHeaderValue)
            );
            assert_eq!(
                head(&UpyAzureRequest {
                    partition_key: st(v),
                    ..eh
                }),
                Err(Error::InvalidHeaderValue)
            );
        }
        assert_eq!(
            head(&UpyAzureRequest {
                token: st(b""),
                ..eh
            }),
            Err(Error::InvalidHeaderValue)
        );
        assert_eq!(
            head(&UpyAzureRequest {
                content_type: st(b""),
                ..eh
            }),
            Err(Error::InvalidHeaderValue)
        );
        // A tab is allowed in values.
        let tab = [UpyAzureProperty::new(b"N", b"a\tb")];
        assert!(head(&UpyAzureRequest {
            properties: UpyAzureProperties::new(&tab),
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
                head(&UpyAzureRequest {
                    properties: UpyAzureProperties::new(&props),
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
            head(&UpyAzureRequest {
                properties: UpyAzureProperties::new(&absent),
                ..eh
            }),
            Err(Error::InvalidHeaderName)
        );
        let ok = [UpyAzureProperty::new(b"X-My_Prop.1!#$%&'*+^`|~", b"")];
        assert!(head(&UpyAzureRequest {
            properties: UpyAzureProperties::new(&ok),
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

    fn o(v: &Option<Vec<u8>>) -> UpyAzureStr<'_> {
        v.as_deref().map_or(NONE, UpyAzureStr::new)
    }

    fn opt() -> impl Strategy<Value = Option<Vec<u8>>> {
        proptest::option::of(bytes())
    }

    proptest! {
        #[test]
        fn framing_never_panics_and_length_is_exact(
            kind in 0u8..4,
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
            let r = UpyAzureRequest {
                kind,
                batch: flags.0,
                keep_alive: flags.1,
                host: st(&host),
                entity: st(&entity),
                publisher: o(&publisher),
                partition_id: o(&partition_id),
                module_id: o(&module_id),
                token: st(&token),
                content_type: o(&content_type),
                partition_key: o(&partition_key),
                properties: UpyAzureProperties::new(&props),
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
