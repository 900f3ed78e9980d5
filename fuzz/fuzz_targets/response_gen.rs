//! The response reader on well-formed (and some deliberately borderline)
//! responses built from a structured description, so its answers can be
//! checked against what the response says -- not only against itself as in
//! the `response` target: status, keep_alive, Retry-After, the body excerpt
//! (chunked framing removed), the exact number of bytes consumed (the next,
//! pipelined response is left alone), and the documented errors for lines
//! the reader cannot keep (a needed header over 128 bytes; chunk-size digits
//! running into the cut of a long line).
//!
//! Covers: leading blank lines, LF-only line ends, interim 1xx responses,
//! HTTP/1.0, header names and values in any case, unknown and long headers,
//! Connection token lists, Retry-After as seconds (leading zeros, overflow)
//! or a date, Content-Length (leading zeros, repeated), chunked bodies
//! (leading zeros, upper/lower hex, long extensions, trailers, other
//! codings before `chunked`, a Content-Length alongside), 204/304 with
//! framing headers, and bodies read until the connection closes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use upy_azure::error::Error;
use upy_azure::response::{UpyAzureResponse, RESPONSE_EXCERPT_CAP, RESPONSE_LINE_CAP};

const NEEDED: [&str; 4] = ["content-length", "transfer-encoding", "connection", "retry-after"];
const TCHARS: &[u8] = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

#[derive(Arbitrary, Debug)]
struct Other {
    name: Vec<u8>,
    value: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
enum Conn {
    Close,
    KeepAlive,
    Upgrade,
    Te,
}

#[derive(Arbitrary, Debug)]
enum H {
    Other(Other),
    RetryAfterSecs { secs: u64, zeros: u8, ows: bool },
    RetryAfterDate,
    Connection(Vec<Conn>),
}

#[derive(Arbitrary, Debug)]
enum Framing {
    Length {
        zeros: u8,
        twice: bool,
    },
    Chunked {
        sizes: Vec<u8>,
        zeros: Vec<u8>,
        upper: bool,
        ext: Vec<u8>,
        ext_every: u8,
        gzip_first: bool,
        with_length: Option<u32>,
        trailers: Vec<Other>,
    },
    UntilClose,
}

#[derive(Arbitrary, Debug)]
struct Input {
    blank_lines: u8,
    lf_only: bool,
    case_seed: u64,
    interim: Vec<(u8, Vec<Other>)>,
    http10: bool,
    status: u16,
    reason: Vec<u8>,
    headers: Vec<H>,
    framing: Framing,
    body: Vec<u8>,
    split: u16,
}

struct Gen {
    out: Vec<u8>,
    eol: &'static [u8],
    case: u64,
    /// The first error the reader must report.
    error: Option<Error>,
}

impl Gen {
    fn line(&mut self, l: &[u8]) {
        self.out.extend_from_slice(l);
        self.out.extend_from_slice(self.eol);
    }
    /// `s` with letters in fuzzer-chosen case.
    fn cased(&mut self, s: &str) -> Vec<u8> {
        s.bytes()
            .map(|b| {
                self.case = self.case.rotate_left(1);
                if self.case & 1 == 1 {
                    b.to_ascii_uppercase()
                } else {
                    b
                }
            })
            .collect()
    }
    /// A header the reader needs: over the line cap it is refused.
    fn needed(&mut self, name: &str, value: &[u8]) {
        let mut l = self.cased(name);
        l.push(b':');
        l.extend_from_slice(value);
        if l.len() > RESPONSE_LINE_CAP && self.error.is_none() {
            self.error = Some(Error::ResponseHeaderTooLong);
        }
        self.line(&l);
    }
    fn other(&mut self, o: &Other) {
        let mut name: Vec<u8> =
            o.name.iter().map(|&b| TCHARS[b as usize % TCHARS.len()]).take(200).collect();
        let lower = String::from_utf8(name.to_ascii_lowercase()).unwrap();
        if name.is_empty() || NEEDED.contains(&lower.as_str()) {
            name.insert(0, b'x');
        }
        let mut l = name;
        l.extend_from_slice(b": ");
        l.extend(o.value.iter().map(|&b| b' ' + b % 95).take(300));
        self.line(&l);
    }
}

fn printable(v: &[u8], max: usize) -> Vec<u8> {
    v.iter().map(|&b| b' ' + b % 95).take(max).collect()
}

fuzz_target!(|i: Input| {
    let mut g = Gen {
        out: Vec::new(),
        eol: if i.lf_only { b"\n" } else { b"\r\n" },
        case: i.case_seed,
        error: None,
    };
    for _ in 0..i.blank_lines % 4 {
        let eol = g.eol;
        g.out.extend_from_slice(eol);
    }
    for (code, headers) in i.interim.iter().take(3) {
        g.line(format!("HTTP/1.1 {} Interim", 100 + code % 100).as_bytes());
        for h in headers.iter().take(4) {
            g.other(h);
        }
        g.line(b"");
    }
    let status = 200 + i.status % 800;
    let mut sl = format!("HTTP/1.{} {status}", if i.http10 { 0 } else { 1 }).into_bytes();
    if !i.reason.is_empty() {
        sl.push(b' ');
        sl.extend(printable(&i.reason, 300));
    }
    g.line(&sl);

    let mut close = false;
    let mut keep_alive_token = false;
    let mut retry_after = -1i32;
    for h in i.headers.iter().take(8) {
        match h {
            H::Other(o) => g.other(o),
            H::RetryAfterSecs { secs, zeros, ows } => {
                let mut v = Vec::new();
                if *ows {
                    v.extend_from_slice(b" \t");
                }
                v.extend(std::iter::repeat_n(b'0', *zeros as usize % 130));
                v.extend_from_slice(secs.to_string().as_bytes());
                if *ows {
                    v.push(b' ');
                }
                retry_after = (*secs).min(i32::MAX as u64) as i32;
                g.needed("Retry-After", &v);
            }
            H::RetryAfterDate => {
                retry_after = -1;
                g.needed("Retry-After", b" Wed, 21 Oct 2015 07:28:00 GMT");
            }
            H::Connection(toks) => {
                let mut parts = Vec::new();
                for t in toks.iter().take(40) {
                    let s = match t {
                        Conn::Close => {
                            close = true;
                            "close"
                        }
                        Conn::KeepAlive => {
                            keep_alive_token = true;
                            "keep-alive"
                        }
                        Conn::Upgrade => "upgrade",
                        Conn::Te => "TE",
                    };
                    parts.push(g.cased(s));
                }
                let mut v = b" ".to_vec();
                v.extend(parts.join(&b", "[..]));
                g.needed("Connection", &v);
            }
        }
    }

    let no_body = status == 204 || status == 304;
    let body: &[u8] = if no_body { &[] } else { &i.body };
    let mut until_close = false;
    match &i.framing {
        Framing::Length { zeros, twice } => {
            let mut v = b" ".to_vec();
            v.extend(std::iter::repeat_n(b'0', *zeros as usize % 130));
            v.extend_from_slice(i.body.len().to_string().as_bytes());
            g.needed("Content-Length", &v);
            if *twice {
                g.needed("Content-Length", &v);
            }
            g.line(b"");
            g.out.extend_from_slice(body);
        }
        Framing::Chunked {
            sizes,
            zeros,
            upper,
            ext,
            ext_every,
            gzip_first,
            with_length,
            trailers,
        } => {
            let te = if *gzip_first { " gzip, chunked" } else { " chunked" };
            let te = g.cased(te);
            g.needed("Transfer-Encoding", &te);
            if let Some(n) = with_length {
                g.needed("Content-Length", format!(" {n}").as_bytes());
            }
            g.line(b"");
            if !no_body {
                let ext = printable(ext, 300);
                let mut rest = body;
                let mut k = 0usize;
                loop {
                    let n = if rest.is_empty() {
                        0
                    } else {
                        let s = sizes.get(k % sizes.len().max(1)).copied().unwrap_or(255);
                        (s as usize + 1).min(rest.len())
                    };
                    let z = zeros.get(k % zeros.len().max(1)).copied().unwrap_or(0) as usize % 140;
                    let mut l = vec![b'0'; z];
                    let hex = if *upper { format!("{n:X}") } else { format!("{n:x}") };
                    l.extend_from_slice(hex.as_bytes());
                    let digits = l.len();
                    if *ext_every != 0 && k % (*ext_every as usize) == 0 {
                        l.push(b';');
                        l.extend(ext.iter().map(|&b| if b == b';' { b'x' } else { b }));
                    }
                    // Digits running into the cut of a long line are no size.
                    if l.len() > RESPONSE_LINE_CAP && digits >= RESPONSE_LINE_CAP && g.error.is_none() {
                        g.error = Some(Error::BadResponse);
                    }
                    g.line(&l);
                    if n == 0 {
                        break;
                    }
                    g.out.extend_from_slice(&rest[..n]);
                    g.line(b"");
                    rest = &rest[n..];
                    k += 1;
                }
                for t in trailers.iter().take(4) {
                    g.other(t);
                }
                g.line(b"");
            }
        }
        Framing::UntilClose => {
            g.line(b"");
            g.out.extend_from_slice(body);
            until_close = !no_body;
        }
    }

    let resp = g.out.clone();
    let mut stream = resp.clone();
    let next = b"HTTP/1.1 201 Next\r\nContent-Length: 0\r\n\r\n";
    if !until_close {
        stream.extend_from_slice(next);
    }
    let keep_alive = !until_close && !close && (!i.http10 || keep_alive_token);
    let excerpt = &body[..body.len().min(RESPONSE_EXCERPT_CAP)];

    let cut = i.split as usize % (stream.len() + 1);
    for parts in [vec![&stream[..]], vec![&stream[..cut], &stream[cut..]]] {
        let mut r = UpyAzureResponse::new();
        let mut consumed = 0;
        let mut err = None;
        for p in parts {
            match r.feed(p) {
                Ok(n) => consumed += n,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        if err.is_none() && until_close {
            assert!(!r.complete);
            assert_eq!(r.want(), u32::MAX);
            err = r.finish().err();
        }
        match g.error {
            Some(e) => {
                assert_eq!(err, Some(e), "{:?}", String::from_utf8_lossy(&resp));
                continue;
            }
            None => assert_eq!(err, None, "{:?}", String::from_utf8_lossy(&resp)),
        }
        assert!(r.complete);
        assert_eq!(consumed, resp.len(), "did not stop at the end of the response");
        assert_eq!(r.status, status);
        assert_eq!(r.keep_alive, keep_alive, "keep_alive");
        assert_eq!(r.retry_after, retry_after, "retry_after");
        assert_eq!(r.excerpt(), excerpt, "excerpt");
        if !until_close {
            // The next response is read intact.
            r.reset();
            assert_eq!(r.feed(&stream[consumed..]), Ok(next.len()));
            assert!(r.complete && r.status == 201);
        }
    }
});
