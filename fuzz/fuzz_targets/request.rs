//! Request heads from arbitrary request descriptions (kind, strings,
//! properties, sizes) into buffers of arbitrary size.
//!
//! - Counting (`head_len`) and writing (`write_head`) agree: the same length,
//!   or the same error; a buffer fails with `BufferTooSmall` exactly when it
//!   is shorter than the counted length. The C ABI gives the same.
//! - A written head is only printable ASCII and tab between `\r\n` line
//!   terminators: no CR or LF anywhere else (no header injection); its lines
//!   are exactly the request line, the headers expected from the
//!   description, each `Name: value` with a token name, and the blank line;
//!   the values are the inputs; the path decodes back to the path parts.
//! - Success implies every documented precondition.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use upy_azure::error::Error;
use upy_azure::ffi::send::{upy_azure_request_head, upy_azure_request_head_len};
use upy_azure::request::{
    head_len, is_token, write_head, UpyAzureProperties, UpyAzureProperty, UpyAzureRequest,
    UpyAzureStr,
};

/// Plausible values, so that the fuzzer reaches success paths quickly.
const COMMON: &[&[u8]] = &[
    b"ns.servicebus.windows.net",
    b"hub.azure-devices.net",
    b"hub",
    b"dev 1/x",
    b"3",
    b"SharedAccessSignature sr=x&sig=y%3D&se=1&skn=k",
    b"application/json",
    b"Alert",
    b"Strong Wind",
    b"k\"1\\",
    b"a\tb",
    b"",
    b"Host",
    b"x\r\nX-Evil: 1",
    "é".as_bytes(),
    b"\x7f",
];

#[derive(Arbitrary, Debug)]
enum S {
    Absent,
    Common(u8),
    Bytes(Vec<u8>),
}

impl S {
    fn get(&self) -> Option<&[u8]> {
        match self {
            S::Absent => None,
            S::Common(i) => Some(COMMON[*i as usize % COMMON.len()]),
            S::Bytes(b) => Some(b),
        }
    }
    fn st(&self) -> UpyAzureStr<'_> {
        self.get().map_or(UpyAzureStr::NONE, UpyAzureStr::new)
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    kind: u8,
    batch: bool,
    keep_alive: bool,
    host: S,
    entity: S,
    publisher: S,
    partition_id: S,
    module_id: S,
    token: S,
    content_type: S,
    partition_key: S,
    properties: Vec<(S, S)>,
    body_len: usize,
    max_size: usize,
    /// Output size relative to the counted length.
    slack: i16,
}

fn pct_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let h = std::str::from_utf8(&s[i + 1..i + 3]).unwrap();
            assert!(h.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));
            out.push(u8::from_str_radix(h, 16).unwrap());
            i += 3;
        } else {
            assert!(s[i].is_ascii_alphanumeric() || b"-._~".contains(&s[i]));
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

fn clean_value(v: &[u8]) -> bool {
    v.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
}

fuzz_target!(|i: Input| {
    let props: Vec<UpyAzureProperty<'_>> = i
        .properties
        .iter()
        .take(8)
        .map(|(n, v)| UpyAzureProperty {
            name: n.st(),
            value: v.st(),
        })
        .collect();
    let r = UpyAzureRequest {
        kind: i.kind,
        batch: i.batch,
        keep_alive: i.keep_alive,
        host: i.host.st(),
        entity: i.entity.st(),
        publisher: i.publisher.st(),
        partition_id: i.partition_id.st(),
        module_id: i.module_id.st(),
        token: i.token.st(),
        content_type: i.content_type.st(),
        partition_key: i.partition_key.st(),
        properties: UpyAzureProperties::new(&props),
        body_len: i.body_len,
        max_size: i.max_size,
    };

    let counted = head_len(&r);
    // SAFETY: `r` and everything in it are live.
    assert_eq!(
        unsafe { upy_azure_request_head_len(&r) },
        counted.map_or_else(|e| -(e.code() as isize), |n| n as isize)
    );
    let need = *counted.as_ref().unwrap_or(&0);
    let size = (need as i64 + i.slack as i64).clamp(0, 1 << 16) as usize;
    let mut out = vec![0xA5u8; size];
    let written = write_head(&mut out, &r);
    let mut out2 = vec![0xA5u8; size];
    // SAFETY: `out2` is live for `size` bytes.
    let rc = unsafe { upy_azure_request_head(out2.as_mut_ptr(), size, &r) };
    assert_eq!(rc, written.map_or_else(|e| -(e.code() as isize), |n| n as isize));

    let n = match (counted, written) {
        (Ok(n), Ok(m)) => {
            assert_eq!(n, m, "counted and written lengths differ");
            assert_eq!(out[..n], out2[..n]);
            n
        }
        (Ok(n), Err(e)) => {
            assert_eq!(e, Error::BufferTooSmall);
            assert!(size < n);
            return;
        }
        (Err(e), Err(f)) => {
            assert_eq!(e, f, "counting and writing fail differently");
            assert_ne!(e, Error::BufferTooSmall);
            return;
        }
        (Err(e), Ok(_)) => panic!("counting failed with {e:?} but writing worked"),
    };
    assert!(size >= n);
    let h = &out[..n];

    // Preconditions that success implies.
    let iot = i.kind == 2;
    assert!(i.kind <= 2);
    assert!(i.body_len <= i.max_size);
    let host = r.host.bytes();
    assert!(!host.is_empty() && host.iter().all(|&b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b)));
    assert!(!r.entity.bytes().is_empty());
    let token = r.token.bytes();
    assert!(!token.is_empty() && clean_value(token));

    // Only printable ASCII and tab, CR only before LF, LF only after CR.
    for (j, &b) in h.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(h.get(j + 1), Some(&b'\n'), "stray CR"),
            b'\n' => assert!(j > 0 && h[j - 1] == b'\r', "stray LF"),
            b'\t' | b' '..=b'~' => {}
            _ => panic!("byte {b:#x} in the head"),
        }
    }
    assert!(h.ends_with(b"\r\n\r\n"));
    let text = std::str::from_utf8(h).unwrap();
    let lines: Vec<&str> = text[..text.len() - 4].split("\r\n").collect();

    // The request line.
    let req = lines[0];
    assert_eq!(req.matches(' ').count(), 2, "{req}");
    let target = req.strip_prefix("POST ").unwrap().strip_suffix(" HTTP/1.1").unwrap();
    let (path, query) = target.split_once('?').unwrap();
    assert!(!query.contains(['?', '#', ' ']));
    let segs: Vec<&str> = path.split('/').collect();
    let entity = r.entity.bytes();
    let (publisher, partition, module) = (r.publisher.get(), r.partition_id.get(), r.module_id.get());
    if iot {
        assert_eq!(query, "api-version=2021-04-12");
        assert_eq!(segs[..2], ["", "devices"]);
        assert_eq!(pct_decode(segs[2].as_bytes()), entity);
        match module {
            Some(m) => {
                assert_eq!(segs[3], "modules");
                assert_eq!(pct_decode(segs[4].as_bytes()), m);
                assert_eq!(segs[5..], ["messages", "events"]);
            }
            None => assert_eq!(segs[3..], ["messages", "events"]),
        }
        assert!(publisher.is_none() && partition.is_none() && r.partition_key.get().is_none());
    } else {
        assert_eq!(query, "timeout=60&api-version=2014-01");
        assert_eq!(segs[0], "");
        assert_eq!(pct_decode(segs[1].as_bytes()), entity);
        assert!(module.is_none());
        match (publisher, partition) {
            (Some(p), None) => {
                assert_eq!(i.kind, 0);
                assert_eq!(segs[2], "publishers");
                assert_eq!(pct_decode(segs[3].as_bytes()), p);
                assert_eq!(segs[4..], ["messages"]);
            }
            (None, Some(p)) => {
                assert_eq!(i.kind, 0);
                assert_eq!(segs[2], "partitions");
                assert_eq!(pct_decode(segs[3].as_bytes()), p);
                assert_eq!(segs[4..], ["messages"]);
            }
            (None, None) => assert_eq!(segs[2..], ["messages"]),
            (Some(_), Some(_)) => panic!("publisher and partition both accepted"),
        }
    }

    // The headers, in order.
    let mut want: Vec<(String, Vec<u8>)> = vec![
        ("Host".into(), host.to_vec()),
        ("Authorization".into(), token.to_vec()),
    ];
    let ct: &[u8] = match (r.content_type.get(), iot, i.batch) {
        (Some(ct), _, batch) => {
            assert!(!batch && !ct.is_empty() && clean_value(ct));
            ct
        }
        (None, false, false) => b"application/atom+xml;type=entry;charset=utf-8",
        (None, false, true) => b"application/vnd.microsoft.servicebus.json",
        (None, true, false) => b"application/octet-stream",
        (None, true, true) => b"application/vnd.microsoft.iothub.json",
    };
    want.push(("Content-Type".into(), ct.to_vec()));
    want.push(("Content-Length".into(), i.body_len.to_string().into_bytes()));
    if let Some(pk) = r.partition_key.get() {
        assert!(clean_value(pk));
        let json = serde_json::to_string(&serde_json::json!({
            "PartitionKey": std::str::from_utf8(pk).unwrap()
        }))
        .unwrap();
        want.push(("BrokerProperties".into(), json.into_bytes()));
    }
    for p in &props {
        let (name, value) = (p.name.bytes(), p.value.bytes());
        assert!(is_token(name) && clean_value(value));
        let name = std::str::from_utf8(name).unwrap();
        if !iot {
            assert!(![
                "host",
                "authorization",
                "content-type",
                "content-length",
                "connection",
                "brokerproperties",
                "transfer-encoding",
                "expect"
            ]
            .contains(&name.to_ascii_lowercase().as_str()));
        }
        let name = if iot { format!("iothub-app-{name}") } else { name.to_string() };
        want.push((name, value.to_vec()));
    }
    want.push((
        "Connection".into(),
        if i.keep_alive { b"keep-alive".to_vec() } else { b"close".to_vec() },
    ));
    assert_eq!(lines.len() - 1, want.len(), "wrong number of header lines");
    for (line, (name, value)) in lines[1..].iter().zip(&want) {
        let (n, v) = line.split_once(": ").unwrap();
        assert!(is_token(n.as_bytes()), "{line}");
        assert_eq!(n, name);
        assert_eq!(v.as_bytes(), &value[..], "header {name}");
    }
});
