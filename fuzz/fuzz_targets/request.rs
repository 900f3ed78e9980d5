//! The generic request-head framer `request::head` (and its C ABI
//! `upy_azure_head`) from arbitrary head descriptions: method, path
//! segments or a path as given, query, host, token, content type,
//! partition key, property prefix and properties, sizes.
//!
//! - A model built here from the documentation (`src/request.rs`) gives the
//!   exact expected head (percent-encoding, BrokerProperties JSON from
//!   serde_json, header order) or the set of rules the input breaks. The
//!   library must write exactly that head, or fail with one of the errors of
//!   the broken rules (the order in which it checks them is its own).
//! - Counting and writing agree (same length, or the same error, never
//!   `BufferTooSmall` from counting); writing fails with `BufferTooSmall`
//!   exactly when the buffer is shorter than the head. The C ABI agrees.
//! - A written head is only printable ASCII and tab between `\r\n` line
//!   terminators (no header injection), each header `Name: value` with a
//!   token name, and ends with the one blank line.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use upy_azure::error::Error;
use upy_azure::ffi::http::upy_azure_head;
use upy_azure::ffi::types::{UpyAzureHead, UpyAzureStr};
use upy_azure::request::{self, Head, MAX_SIZE_DEFAULT, MAX_SIZE_LIMIT};

/// Plausible values, so that the fuzzer reaches success paths quickly, and
/// a few hostile ones.
const COMMON: &[&[u8]] = &[
    b"POST",
    b"GET",
    b"DELETE",
    b"ns.servicebus.windows.net",
    b"hub.azure-devices.net",
    b"127.0.0.1:8443",
    b"hub",
    b"messages",
    b"devices",
    b"dev 1/x",
    b"/q/messages/31/7b5f-%2B",
    b"timeout=60&api-version=2014-01",
    b"api-version=2021-04-12",
    b"SharedAccessSignature sr=x&sig=y%3D&se=1&skn=k",
    b"application/json",
    b"iothub-app-",
    b"Alert",
    b"Strong Wind",
    b"k\"1\\",
    b"a\tb",
    b"",
    b"Host",
    b"content-LENGTH",
    b"x\r\nX-Evil: 1",
    b"a#b",
    b"a?b",
    "é".as_bytes(),
    b"\x7f",
];

#[derive(Arbitrary, Debug)]
enum S {
    Common(u8),
    Bytes(Vec<u8>),
}

impl S {
    fn get(&self) -> &[u8] {
        match self {
            S::Common(i) => COMMON[*i as usize % COMMON.len()],
            S::Bytes(b) => b,
        }
    }
}

fn opt(s: &Option<S>) -> Option<&[u8]> {
    s.as_ref().map(S::get)
}

#[derive(Arbitrary, Debug)]
enum Prefix {
    Empty,
    Iot,
    Other(S),
}

#[derive(Arbitrary, Debug)]
enum Max {
    Default,
    Limit,
    Over,
    Huge,
    Raw(u32),
}

#[derive(Arbitrary, Debug)]
struct Input {
    method: S,
    segments: Vec<S>,
    raw_path: Option<S>,
    query: Option<S>,
    host: S,
    token: Option<S>,
    content_type: Option<S>,
    partition_key: Option<S>,
    prefix: Prefix,
    /// Flat: name, value, ... (an odd count included).
    properties: Vec<S>,
    body_len: u32,
    max: Max,
    keep_alive: bool,
    /// Output size relative to the head's length.
    slack: i16,
}

/// RFC 7230 `tchar`, written out from the RFC.
fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| tchar(b))
}

/// A header value: tab and visible ASCII or space.
fn clean_value(v: &[u8]) -> bool {
    v.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
}

/// Visible ASCII (no space, no DEL, nothing above).
fn visible(b: u8) -> bool {
    (0x21..0x7f).contains(&b)
}

fn pct(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
}

const RESERVED: &[&str] = &[
    "host",
    "authorization",
    "content-type",
    "content-length",
    "connection",
    "brokerproperties",
    "transfer-encoding",
    "expect",
];

/// The documented head, or the errors of every rule the input breaks.
fn model(h: &Head<'_>, segs: &[&[u8]], props: &[&[u8]]) -> Result<Vec<u8>, Vec<Error>> {
    let mut bad = Vec::new();
    if h.max_size == 0 || h.max_size > MAX_SIZE_LIMIT {
        bad.push(Error::InvalidMaxSize);
    }
    if h.body_len > h.max_size {
        bad.push(Error::MessageTooLarge);
    }
    if h.host.is_empty()
        || !h
            .host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b))
    {
        bad.push(Error::InvalidHost);
    }
    if !token(h.method) || props.len() % 2 != 0 {
        bad.push(Error::InvalidState);
    }
    let mut t = h.method.to_vec();
    t.push(b' ');
    match h.raw_path {
        Some(p) => {
            if p.first() != Some(&b'/') || !p.iter().all(|&b| visible(b) && b != b'?' && b != b'#')
            {
                bad.push(Error::InvalidPath);
            }
            t.extend_from_slice(p);
        }
        None => {
            if segs.is_empty() || segs.iter().any(|s| s.is_empty()) {
                bad.push(Error::InvalidPathSegment);
            }
            for s in segs {
                t.push(b'/');
                pct(&mut t, s);
            }
        }
    }
    if let Some(q) = h.query {
        if !q.iter().all(|&b| visible(b) && b != b'#') {
            bad.push(Error::InvalidPath);
        }
        t.push(b'?');
        t.extend_from_slice(q);
    }
    t.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    t.extend_from_slice(h.host);
    t.extend_from_slice(b"\r\n");
    for (name, v) in [("Authorization", h.token), ("Content-Type", h.content_type)] {
        if let Some(v) = v {
            if v.is_empty() || !clean_value(v) {
                bad.push(Error::InvalidHeaderValue);
            }
            t.extend_from_slice(format!("{name}: ").as_bytes());
            t.extend_from_slice(v);
            t.extend_from_slice(b"\r\n");
        }
    }
    t.extend_from_slice(format!("Content-Length: {}\r\n", h.body_len).as_bytes());
    if let Some(pk) = h.partition_key {
        if !clean_value(pk) {
            bad.push(Error::InvalidHeaderValue);
        } else {
            let json = serde_json::to_string(&serde_json::json!({
                "PartitionKey": std::str::from_utf8(pk).unwrap()
            }))
            .unwrap();
            t.extend_from_slice(format!("BrokerProperties: {json}\r\n").as_bytes());
        }
    }
    for p in props.chunks(2) {
        let (name, value) = (p[0], p.get(1).copied().unwrap_or_default());
        // The header written is prefix + name: it must be a token, and the
        // property name itself a non-empty one; without a prefix, none of
        // the headers the framer writes itself.
        let reserved = h.prefix.is_empty()
            && RESERVED
                .iter()
                .any(|r| r.as_bytes().eq_ignore_ascii_case(name));
        if !token(name) || !h.prefix.iter().all(|&b| tchar(b)) || reserved {
            bad.push(Error::InvalidHeaderName);
        }
        if !clean_value(value) {
            bad.push(Error::InvalidHeaderValue);
        }
        t.extend_from_slice(h.prefix);
        t.extend_from_slice(name);
        t.extend_from_slice(b": ");
        t.extend_from_slice(value);
        t.extend_from_slice(b"\r\n");
    }
    t.extend_from_slice(if h.keep_alive {
        b"Connection: keep-alive\r\n\r\n"
    } else {
        b"Connection: close\r\n\r\n"
    });
    if bad.is_empty() {
        Ok(t)
    } else {
        Err(bad)
    }
}

fn o(v: Option<&[u8]>) -> UpyAzureStr<'_> {
    v.map_or(UpyAzureStr::NONE, UpyAzureStr::new)
}

fn rc(r: Result<usize, Error>) -> isize {
    r.map_or_else(|e| -(e.code() as isize), |n| n as isize)
}

fuzz_target!(|i: Input| {
    let segs: Vec<&[u8]> = i.segments.iter().take(9).map(S::get).collect();
    let props: Vec<&[u8]> = i.properties.iter().take(17).map(S::get).collect();
    let prefix: &[u8] = match &i.prefix {
        Prefix::Empty => b"",
        Prefix::Iot => b"iothub-app-",
        Prefix::Other(s) => s.get(),
    };
    let h = Head {
        method: i.method.get(),
        raw_path: opt(&i.raw_path),
        query: opt(&i.query),
        host: i.host.get(),
        token: opt(&i.token),
        content_type: opt(&i.content_type),
        partition_key: opt(&i.partition_key),
        prefix,
        body_len: i.body_len as usize,
        max_size: match i.max {
            Max::Default => MAX_SIZE_DEFAULT,
            Max::Limit => MAX_SIZE_LIMIT,
            Max::Over => MAX_SIZE_LIMIT + 1,
            Max::Huge => usize::MAX,
            Max::Raw(n) => n as usize,
        },
        keep_alive: i.keep_alive,
    };
    let want = model(&h, &segs, &props);

    let counted = request::head(None, &h, &segs[..], &props[..]);
    let need = want.as_ref().map_or(0, Vec::len);
    let size = (need as i64 + i.slack as i64).clamp(0, 1 << 16) as usize;
    let mut out = vec![0xA5u8; size];
    let written = request::head(Some(&mut out), &h, &segs[..], &props[..]);

    match (&want, counted, written) {
        (Ok(t), Ok(n), w) => {
            assert_eq!(n, t.len(), "counted length differs from the model");
            if size >= n {
                assert_eq!(w, Ok(n));
                assert_eq!(
                    out[..n],
                    t[..],
                    "head differs from the model:\n{:?}\n{:?}",
                    String::from_utf8_lossy(&out[..n]),
                    String::from_utf8_lossy(t)
                );
            } else {
                assert_eq!(w, Err(Error::BufferTooSmall));
            }
        }
        (Err(bad), Err(e), Err(f)) => {
            assert!(
                bad.contains(&e),
                "{e:?} is not one of the broken rules {bad:?}"
            );
            assert_eq!(e, f, "counting and writing fail differently");
        }
        (Ok(_), Err(e), _) => panic!("refused with {e:?}, the model accepts"),
        (Err(bad), c, w) => panic!("accepted ({c:?}, {w:?}), the model refuses: {bad:?}"),
    }

    // The C ABI: the same, counting (NULL) and writing.
    let csegs: Vec<UpyAzureStr<'_>> = segs.iter().map(|s| UpyAzureStr::new(s)).collect();
    let cprops: Vec<UpyAzureStr<'_>> = props.iter().map(|s| UpyAzureStr::new(s)).collect();
    let ch = UpyAzureHead {
        method: UpyAzureStr::new(h.method),
        segments: if csegs.is_empty() {
            std::ptr::null()
        } else {
            csegs.as_ptr()
        },
        n_segments: csegs.len(),
        raw_path: o(h.raw_path),
        query: o(h.query),
        host: UpyAzureStr::new(h.host),
        token: o(h.token),
        content_type: o(h.content_type),
        partition_key: o(h.partition_key),
        prefix: if prefix.is_empty() {
            UpyAzureStr::NONE
        } else {
            UpyAzureStr::new(prefix)
        },
        properties: cprops.as_ptr(),
        n_properties: cprops.len(),
        body_len: h.body_len,
        max_size: h.max_size,
        keep_alive: h.keep_alive,
    };
    let mut out2 = vec![0xA5u8; size];
    // SAFETY: every string and array in `ch` is a live slice; `out2` is
    // live for `size` bytes.
    unsafe {
        assert_eq!(upy_azure_head(std::ptr::null_mut(), 0, &ch), rc(counted));
        assert_eq!(upy_azure_head(out2.as_mut_ptr(), size, &ch), rc(written));
    }
    let Ok(n) = written else { return };
    assert_eq!(out2[..n], out[..n]);

    // The head's shape, independently of the model.
    let hd = &out[..n];
    for (j, &b) in hd.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(hd.get(j + 1), Some(&b'\n'), "stray CR"),
            b'\n' => assert!(j > 0 && hd[j - 1] == b'\r', "stray LF"),
            b'\t' | b' '..=b'~' => {}
            _ => panic!("byte {b:#x} in the head"),
        }
    }
    assert!(hd.ends_with(b"\r\n\r\n"));
    let text = std::str::from_utf8(&hd[..n - 4]).unwrap();
    assert!(!text.contains("\r\n\r\n"));
    let mut lines = text.split("\r\n");
    let req = lines.next().unwrap();
    assert_eq!(req.matches(' ').count(), 2, "{req}");
    assert!(req.ends_with(" HTTP/1.1"));
    let mut count = 0;
    for line in lines {
        let (name, _) = line.split_once(": ").unwrap();
        assert!(token(name.as_bytes()), "header name {name:?}");
        count += 1;
    }
    let optional = [h.token, h.content_type, h.partition_key];
    assert_eq!(
        count,
        3 + optional.iter().flatten().count() + props.len() / 2,
        "wrong number of header lines"
    );
});
