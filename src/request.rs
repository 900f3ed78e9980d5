//! HTTP/1.1 request heads: the request line, the headers and the blank
//! line, for any method and path (docs/protocol.md: sending, provisioning,
//! cloud-to-device, Service Bus receive). The caller sends the body itself,
//! so it is never copied.
//!
//! One framer for every request the clients make: the service-specific
//! parts (path segments, query, content type, property prefix) are plain
//! inputs. [`head`] with no buffer counts, with a buffer writes: the same
//! code runs both ways ([`Sink`]), so the length is exact: allocate once
//! with it, then write.
//!
//! Refused, never sent: an empty path segment (every other byte is
//! percent-encoded, so none can change the request line), a path given as
//! is or a query with a byte that would end the request line or start a
//! fragment, a header name (property prefix and name) that is not an RFC
//! 7230 token or names a header this module writes itself, a header value
//! with a control character (CR, LF, NUL, ...) or a byte outside ASCII, an
//! invalid host, a body larger than `max_size`, a `max_size` outside
//! 1..=[`MAX_SIZE_LIMIT`].

use crate::error::{Error, Result};
use crate::http::{check_value, is_token, valid_host};
use crate::json;
use crate::strs::Strs;
use crate::writer::Sink;

/// The largest body any tier accepts (Event Hubs / Service Bus Standard: 1 MB).
pub const MAX_SIZE_LIMIT: usize = 1_048_576;
/// The default `max_size`: 256 KB, the Basic tier's limit.
pub const MAX_SIZE_DEFAULT: usize = 262_144;

/// Headers this module writes itself (plus `Expect`, which it never sends):
/// a property without a prefix may not use these names.
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

/// Everything about a request head but its lists (path segments and
/// properties, passed to [`head`] beside it).
#[derive(Clone, Copy)]
pub struct Head<'a> {
    /// `GET`, `POST`, `PUT`, `DELETE`.
    pub method: &'a [u8],
    /// A path used as given (already encoded, e.g. from a `Location`
    /// header): it must start with `/`. `None`: the path is `/` + the
    /// segments, each percent-encoded, joined by `/`.
    pub raw_path: Option<&'a [u8]>,
    /// Written after `?` as given (e.g. `api-version=2021-04-12`).
    pub query: Option<&'a [u8]>,
    pub host: &'a [u8],
    /// The whole `SharedAccessSignature sr=...` string (`Authorization`).
    pub token: Option<&'a [u8]>,
    pub content_type: Option<&'a [u8]>,
    /// `BrokerProperties: {"PartitionKey":"..."}` (Event Hubs / Service Bus).
    pub partition_key: Option<&'a [u8]>,
    /// Written before every property name (`iothub-app-` for IoT Hub):
    /// token characters only, like the names.
    pub prefix: &'a [u8],
    /// The `Content-Length` (0 for a request without a body).
    pub body_len: usize,
    /// Largest body accepted (`MessageTooLarge` above it).
    pub max_size: usize,
    /// `Connection: keep-alive`, else `Connection: close`.
    pub keep_alive: bool,
}

/// A path given as is: `/` then visible ASCII without `?` or `#`.
fn check_raw_path(p: &[u8]) -> Result<()> {
    match p.split_first() {
        Some((b'/', rest))
            if rest
                .iter()
                .all(|&b| b > b' ' && b < 0x7f && b != b'?' && b != b'#') =>
        {
            Ok(())
        }
        _ => Err(Error::InvalidPath),
    }
}

/// Frames the head into `s`: the one code path behind counting and
/// writing. `segments` are the path's names; `properties` is a flat list
/// `name, value, name, value, ...`. An error anywhere means nothing is sent.
pub fn frame<S: Strs + ?Sized, P: Strs + ?Sized>(
    s: &mut Sink<'_>,
    h: &Head<'_>,
    segments: &S,
    properties: &P,
) -> Result<()> {
    if h.max_size == 0 || h.max_size > MAX_SIZE_LIMIT {
        return Err(Error::InvalidMaxSize);
    }
    if h.body_len > h.max_size {
        return Err(Error::MessageTooLarge);
    }
    if !valid_host(h.host) {
        return Err(Error::InvalidHost);
    }
    if !is_token(h.method) || !properties.count().is_multiple_of(2) {
        return Err(Error::InvalidState);
    }

    s.push(h.method);
    s.push_byte(b' ');
    match h.raw_path {
        Some(p) => {
            check_raw_path(p)?;
            s.push(p);
        }
        None => {
            if segments.count() == 0 {
                return Err(Error::InvalidPathSegment);
            }
            for i in 0..segments.count() {
                let seg = segments.at(i);
                if seg.is_empty() {
                    return Err(Error::InvalidPathSegment);
                }
                s.push_byte(b'/');
                s.push_percent(seg);
            }
        }
    }
    if let Some(q) = h.query {
        if !q.iter().all(|&b| b > b' ' && b < 0x7f && b != b'#') {
            return Err(Error::InvalidPath);
        }
        s.push_byte(b'?');
        s.push(q);
    }
    s.push(b" HTTP/1.1\r\nHost: ");
    s.push(h.host);

    if let Some(token) = h.token {
        check_value(token, false)?;
        s.push(b"\r\nAuthorization: ");
        s.push(token);
    }
    if let Some(ct) = h.content_type {
        check_value(ct, false)?;
        s.push(b"\r\nContent-Type: ");
        s.push(ct);
    }
    s.push(b"\r\nContent-Length: ");
    s.push_u64(h.body_len as u64);

    if let Some(pk) = h.partition_key {
        // ASCII only: the JSON escape then keeps the header value clean.
        check_value(pk, true)?;
        s.push(b"\r\nBrokerProperties: {\"PartitionKey\":\"");
        json::escape_into(s, pk)?;
        s.push(b"\"}");
    }

    for i in (0..properties.count()).step_by(2) {
        let (name, value) = (properties.at(i), properties.at(i + 1));
        if !is_token(name)
            || if h.prefix.is_empty() {
                RESERVED.iter().any(|n| n.eq_ignore_ascii_case(name))
            } else {
                !is_token(h.prefix)
            }
        {
            return Err(Error::InvalidHeaderName);
        }
        check_value(value, true)?;
        s.push(b"\r\n");
        s.push(h.prefix);
        s.push(name);
        s.push(b": ");
        s.push(value);
    }

    s.push(if h.keep_alive {
        b"\r\nConnection: keep-alive\r\n\r\n"
    } else {
        b"\r\nConnection: close\r\n\r\n"
    });
    Ok(())
}

/// The head's exact length when `out` is `None`, else writes it into `out`
/// and returns its length. Validates the same way both times.
pub fn head<S: Strs + ?Sized, P: Strs + ?Sized>(
    out: Option<&mut [u8]>,
    h: &Head<'_>,
    segments: &S,
    properties: &P,
) -> Result<usize> {
    let mut s = Sink::from_option(out);
    frame(&mut s, h, segments, properties)?;
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    const TOKEN: &[u8] = b"SharedAccessSignature sr=x&sig=y%3D&se=1&skn=k";
    const NS: &[u8] = b"ns.servicebus.windows.net";
    const EH_QUERY: &[u8] = b"timeout=60&api-version=2014-01";
    const IOT_QUERY: &[u8] = b"api-version=2021-04-12";
    const ATOM: &[u8] = b"application/atom+xml;type=entry;charset=utf-8";

    fn post(host: &'static [u8], query: &'static [u8]) -> Head<'static> {
        Head {
            method: b"POST",
            raw_path: None,
            query: Some(query),
            host,
            token: Some(TOKEN),
            content_type: Some(ATOM),
            partition_key: None,
            prefix: b"",
            body_len: 5,
            max_size: 262144,
            keep_alive: true,
        }
    }

    /// Counts, writes into exactly that size, and checks one byte less fails.
    fn frame_str(h: &Head<'_>, segs: &[&[u8]], props: &[&[u8]]) -> Result<String> {
        let n = head(None, h, segs, props)?;
        let mut out = std::vec![0u8; n];
        assert_eq!(head(Some(&mut out), h, segs, props), Ok(n));
        if n > 0 {
            let mut short = std::vec![0u8; n - 1];
            assert_eq!(
                head(Some(&mut short), h, segs, props),
                Err(Error::BufferTooSmall)
            );
        }
        Ok(String::from_utf8(out).unwrap())
    }

    const EH_TAIL: &str = "Host: ns.servicebus.windows.net\r\n\
        Authorization: SharedAccessSignature sr=x&sig=y%3D&se=1&skn=k\r\n";

    #[test]
    fn event_hub_targets() {
        let h = post(NS, EH_QUERY);
        assert_eq!(
            frame_str(&h, &[b"hub", b"messages"], &[]).unwrap(),
            std::format!(
                "POST /hub/messages?timeout=60&api-version=2014-01 HTTP/1.1\r\n{EH_TAIL}\
                 Content-Type: application/atom+xml;type=entry;charset=utf-8\r\n\
                 Content-Length: 5\r\nConnection: keep-alive\r\n\r\n"
            )
        );
        let h2 = Head {
            keep_alive: false,
            ..h
        };
        assert_eq!(
            frame_str(&h2, &[b"hub", b"publishers", b"dev 1/x", b"messages"], &[]).unwrap(),
            std::format!(
                "POST /hub/publishers/dev%201%2Fx/messages?timeout=60&api-version=2014-01 HTTP/1.1\r\n{EH_TAIL}\
                 Content-Type: application/atom+xml;type=entry;charset=utf-8\r\n\
                 Content-Length: 5\r\nConnection: close\r\n\r\n"
            )
        );
    }

    #[test]
    fn properties_partition_key_content_type() {
        let h = Head {
            partition_key: Some(b"k\"1\\"),
            content_type: Some(b"application/json"),
            body_len: 262144,
            ..post(NS, EH_QUERY)
        };
        assert_eq!(
            frame_str(
                &h,
                &[b"queue", b"messages"],
                &[b"Alert", b"Strong Wind", b"x-Empty", b""]
            )
            .unwrap(),
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
    fn iot_hub_prefix_and_other_methods() {
        let h = Head {
            prefix: b"iothub-app-",
            content_type: Some(b"application/octet-stream"),
            ..post(b"hub.azure-devices.net", IOT_QUERY)
        };
        let tail = "Host: hub.azure-devices.net\r\n\
            Authorization: SharedAccessSignature sr=x&sig=y%3D&se=1&skn=k\r\n";
        assert_eq!(
            frame_str(
                &h,
                &[b"devices", b"dev:1", b"messages", b"events"],
                &[b"temp", b"21.5"]
            )
            .unwrap(),
            std::format!(
                "POST /devices/dev%3A1/messages/events?api-version=2021-04-12 HTTP/1.1\r\n{tail}\
                 Content-Type: application/octet-stream\r\n\
                 Content-Length: 5\r\niothub-app-temp: 21.5\r\nConnection: keep-alive\r\n\r\n"
            )
        );
        // Reserved names are fine behind a prefix.
        assert!(frame_str(&h, &[b"d"], &[b"Host", b"v"])
            .unwrap()
            .contains("\r\niothub-app-Host: v\r\n"));
        // A GET without content type or body; a DELETE on a path as given.
        let get = Head {
            method: b"GET",
            content_type: None,
            body_len: 0,
            prefix: b"",
            ..h
        };
        assert_eq!(
            frame_str(&get, &[b"devices", b"d1", b"messages", b"deviceBound"], &[]).unwrap(),
            std::format!(
                "GET /devices/d1/messages/deviceBound?api-version=2021-04-12 HTTP/1.1\r\n{tail}\
                 Content-Length: 0\r\nConnection: keep-alive\r\n\r\n"
            )
        );
        let del = Head {
            method: b"DELETE",
            raw_path: Some(b"/q/messages/31/7b5f-%2B"),
            query: None,
            token: None,
            ..get
        };
        assert_eq!(
            frame_str(&del, &[], &[]).unwrap(),
            "DELETE /q/messages/31/7b5f-%2B HTTP/1.1\r\nHost: hub.azure-devices.net\r\n\
             Content-Length: 0\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn bad_paths_methods_hosts() {
        let h = post(NS, EH_QUERY);
        assert_eq!(frame_str(&h, &[], &[]), Err(Error::InvalidPathSegment));
        assert_eq!(
            frame_str(&h, &[b"hub", b""], &[]),
            Err(Error::InvalidPathSegment)
        );
        for p in [
            &b""[..],
            b"x",
            b"/a b",
            b"/a?b",
            b"/a#",
            b"/\r\n",
            b"/\xc3\xa9",
            b"/\x7f",
        ] {
            let r = Head {
                raw_path: Some(p),
                ..h
            };
            assert_eq!(frame_str(&r, &[], &[]), Err(Error::InvalidPath), "{p:?}");
        }
        for q in [&b"a b"[..], b"a#b", b"a\r\nb", b"\xff"] {
            let r = Head {
                query: Some(q),
                ..h
            };
            assert_eq!(frame_str(&r, &[b"x"], &[]), Err(Error::InvalidPath));
        }
        for m in [&b""[..], b"GET /", b"P\rOST"] {
            let r = Head { method: m, ..h };
            assert_eq!(frame_str(&r, &[b"x"], &[]), Err(Error::InvalidState));
        }
        assert_eq!(frame_str(&h, &[b"x"], &[b"odd"]), Err(Error::InvalidState));
        for host in [&b""[..], b"a b", b"a\r\nX: y", b"h/x", "é".as_bytes()] {
            let r = Head { host, ..h };
            assert_eq!(frame_str(&r, &[b"x"], &[]), Err(Error::InvalidHost));
        }
    }

    #[test]
    fn size_limits() {
        let h = Head {
            body_len: 262145,
            ..post(NS, EH_QUERY)
        };
        assert_eq!(frame_str(&h, &[b"x"], &[]), Err(Error::MessageTooLarge));
        let h = Head {
            body_len: MAX_SIZE_LIMIT,
            max_size: MAX_SIZE_LIMIT,
            ..h
        };
        assert!(frame_str(&h, &[b"x"], &[])
            .unwrap()
            .contains("Content-Length: 1048576\r\n"));
        for max_size in [0, MAX_SIZE_LIMIT + 1, usize::MAX] {
            let r = Head {
                max_size,
                body_len: 0,
                ..h
            };
            assert_eq!(frame_str(&r, &[b"x"], &[]), Err(Error::InvalidMaxSize));
        }
    }

    #[test]
    fn injection_refused() {
        let h = post(NS, EH_QUERY);
        let seg: &[&[u8]] = &[b"hub", b"messages"];
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
            assert_eq!(
                frame_str(&h, seg, &[b"Name", v]),
                Err(Error::InvalidHeaderValue)
            );
            for r in [
                Head {
                    token: Some(v),
                    ..h
                },
                Head {
                    content_type: Some(v),
                    ..h
                },
                Head {
                    partition_key: Some(v),
                    ..h
                },
            ] {
                assert_eq!(frame_str(&r, seg, &[]), Err(Error::InvalidHeaderValue));
            }
        }
        for r in [
            Head {
                token: Some(b""),
                ..h
            },
            Head {
                content_type: Some(b""),
                ..h
            },
        ] {
            assert_eq!(frame_str(&r, seg, &[]), Err(Error::InvalidHeaderValue));
        }
        assert!(frame_str(&h, seg, &[b"N", b"a\tb"]).is_ok());
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
            assert_eq!(
                frame_str(&h, seg, &[n, b"v"]),
                Err(Error::InvalidHeaderName),
                "{n:?}"
            );
        }
        assert!(frame_str(&h, seg, &[b"X-My_Prop.1!#$%&'*+^`|~", b""]).is_ok());
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..12),
            "[a-zA-Z0-9 ._~:/-]{0,12}".prop_map(|s| s.into_bytes()),
        ]
    }

    proptest! {
        #[test]
        fn length_is_exact_and_lines_are_clean(
            method in prop_oneof![Just(b"POST".to_vec()), bytes()],
            raw in proptest::option::of(bytes()),
            query in proptest::option::of(bytes()),
            host in prop_oneof![Just(NS.to_vec()), bytes()],
            token in proptest::option::of(bytes()),
            ct in proptest::option::of(bytes()),
            pk in proptest::option::of(bytes()),
            prefix in prop_oneof![Just(Vec::new()), Just(b"iothub-app-".to_vec())],
            segs in proptest::collection::vec(bytes(), 0..4),
            props in proptest::collection::vec(bytes(), 0..5),
            body_len in 0usize..2_000_000,
            keep_alive in any::<bool>(),
        ) {
            let h = Head {
                method: &method,
                raw_path: raw.as_deref(),
                query: query.as_deref(),
                host: &host,
                token: token.as_deref(),
                content_type: ct.as_deref(),
                partition_key: pk.as_deref(),
                prefix: &prefix,
                body_len,
                max_size: MAX_SIZE_LIMIT,
                keep_alive,
            };
            let segs: Vec<&[u8]> = segs.iter().map(|v| &v[..]).collect();
            let props: Vec<&[u8]> = props.iter().map(|v| &v[..]).collect();
            if let Ok(n) = head(None, &h, &segs[..], &props[..]) {
                let mut out = std::vec![0u8; n];
                prop_assert_eq!(head(Some(&mut out), &h, &segs[..], &props[..]), Ok(n));
                // Exactly one blank line, at the end; no bare CR or LF.
                let text = &out[..n - 4];
                prop_assert!(out.ends_with(b"\r\n\r\n"));
                prop_assert!(!text.windows(4).any(|w| w == b"\r\n\r\n"));
                for (i, &b) in text.iter().enumerate() {
                    if b == b'\n' {
                        prop_assert!(i > 0 && text[i - 1] == b'\r');
                    }
                    if b == b'\r' {
                        prop_assert!(text.get(i + 1) == Some(&b'\n'));
                    }
                }
                prop_assert!(out.is_ascii());
            }
        }
    }

    /// Found by the `request` fuzz target: the prefix was written before
    /// each property name unchecked, so a prefix with CR LF (or any byte
    /// outside a token) made a header injection or an invalid header name.
    #[test]
    fn prefix_must_keep_names_tokens() {
        let seg: &[&[u8]] = &[b"POST"];
        for prefix in [
            &b"\xff"[..],
            b"x\r\nX-Evil: 1\r\nY-",
            b"a b",
            b"a:",
            "é".as_bytes(),
        ] {
            let h = Head {
                prefix,
                ..post(NS, EH_QUERY)
            };
            assert_eq!(
                frame_str(&h, seg, &[b"messages", b"POST"]),
                Err(Error::InvalidHeaderName),
                "{prefix:?}"
            );
            // Without properties the prefix is never written.
            assert!(frame_str(&h, seg, &[]).is_ok());
        }
        let h = Head {
            prefix: b"x-ms-!#$%&'*+.^_`|~",
            ..post(NS, EH_QUERY)
        };
        assert!(frame_str(&h, seg, &[b"p", b"v"])
            .unwrap()
            .contains("\r\nx-ms-!#$%&'*+.^_`|~p: v\r\n"));
    }

    #[test]
    fn query_refuses_del() {
        let h = Head {
            query: Some(b"a=\x7f"),
            ..post(NS, EH_QUERY)
        };
        assert_eq!(
            frame_str(&h, &[b"hub", b"messages"], &[]),
            Err(Error::InvalidPath)
        );
        let h = Head {
            query: Some(b"a=~"),
            ..post(NS, EH_QUERY)
        };
        assert!(frame_str(&h, &[b"hub", b"messages"], &[]).is_ok());
    }
}
