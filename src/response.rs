//! An incremental HTTP/1.1 response reader, fed whatever bytes the socket
//! delivers (any split, one byte at a time included: a partial response is
//! a normal state, as in httparse). Fixed-size state, `#[repr(C)]` with
//! C-compatible fields only, so the C glue embeds it by value.
//!
//! It reads the status line (HTTP/1.1 or HTTP/1.0), skips 1xx interim
//! responses, reads the headers it needs case-insensitively
//! (`Content-Length`, `Transfer-Encoding`, `Connection`, `Retry-After`) and
//! consumes the body: none for 204 and 304; `Content-Length`; chunked
//! (extensions and trailers skipped); or, with neither, everything until the
//! connection closes ([`UpyAzureResponse::finish`]). The first
//! [`RESPONSE_EXCERPT_CAP`] body bytes are kept for error messages.
//!
//! Lines (status, headers, chunk sizes, trailers) end in LF; CR bytes in
//! them are dropped. A line longer than [`RESPONSE_LINE_CAP`] is cut: that is fine
//! for the status line, chunk-size lines and headers the reader ignores,
//! and `ResponseHeaderTooLong` for the four headers it needs. Anything it
//! cannot read as HTTP is `BadResponse`; after an error every call fails
//! until [`UpyAzureResponse::reset`].

use crate::error::{Error, Result};
use crate::request::is_token;

/// Longest line kept (the rest of a longer line is dropped).
pub const RESPONSE_LINE_CAP: usize = 128;
/// Body bytes kept for error messages.
pub const RESPONSE_EXCERPT_CAP: usize = 128;

const S_STATUS: u8 = 0;
const S_HEADERS: u8 = 1;
const S_BODY: u8 = 2;
const S_CHUNK_SIZE: u8 = 3;
const S_CHUNK_DATA: u8 = 4;
const S_CHUNK_END: u8 = 5;
const S_TRAILERS: u8 = 6;
const S_UNTIL_CLOSE: u8 = 7;
const S_DONE: u8 = 8;
const S_FAILED: u8 = 9;

const F_HTTP10: u8 = 1;
const F_CLOSE: u8 = 2;
const F_KEEP_ALIVE: u8 = 4;
const F_TE: u8 = 8;
const F_CHUNKED: u8 = 16;
const F_LENGTH: u8 = 32;

/// Headers the reader needs, lowercase, in the order `header` matches them.
const NEEDED: [&[u8]; 4] = [
    b"content-length",
    b"transfer-encoding",
    b"connection",
    b"retry-after",
];

/// The reader state. C reads the `pub` fields directly and leaves the
/// others alone; initialise it with `upy_azure_response_init` (or
/// [`UpyAzureResponse::new`]).
#[repr(C)]
pub struct UpyAzureResponse {
    /// Body bytes still to read (Content-Length or the current chunk).
    remaining: u32,
    /// `Retry-After` in whole seconds; -1 when absent or an HTTP-date.
    pub retry_after: i32,
    /// Status code of the final (non-1xx) response; 0 before its status line.
    pub status: u16,
    /// Valid bytes in `excerpt`.
    pub excerpt_len: u16,
    line_len: u16,
    /// The whole response has been read; `feed` now consumes nothing.
    pub complete: bool,
    /// The connection can carry the next request (valid once `complete`).
    pub keep_alive: bool,
    state: u8,
    flags: u8,
    /// The first body bytes (chunked framing removed).
    pub excerpt: [u8; RESPONSE_EXCERPT_CAP],
    line: [u8; RESPONSE_LINE_CAP],
}

impl Default for UpyAzureResponse {
    fn default() -> Self {
        Self::new()
    }
}

/// The leading digits of `s` in `radix`: (value, `None` on overflow;
/// how many digits).
fn leading_number(s: &[u8], radix: u32) -> (Option<u32>, usize) {
    let mut n = Some(0u32);
    let mut i = 0;
    while let Some(d) = s.get(i).and_then(|&b| (b as char).to_digit(radix)) {
        n = n.and_then(|n| n.checked_mul(radix)?.checked_add(d));
        i += 1;
    }
    (n, i)
}

/// Decimal digits only (at least one, no sign or space): `None` for
/// anything else, `Some(None)` when the number overflows 32 bits.
fn decimal(s: &[u8]) -> Option<Option<u32>> {
    match leading_number(s, 10) {
        (n, i) if i > 0 && i == s.len() => Some(n),
        _ => None,
    }
}

/// `HTTP/1.x SSS[ reason]` -> (status, is HTTP/1.0).
fn status_line(line: &[u8]) -> Result<(u16, bool)> {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    if line.get(..7) != Some(b"HTTP/1.") || !at(7).is_ascii_digit() || at(8) != b' ' {
        return Err(Error::BadResponse);
    }
    if line.len() > 12 && at(12) != b' ' {
        return Err(Error::BadResponse);
    }
    match line.get(9..12).and_then(decimal).flatten() {
        Some(code @ 100..=999) => Ok((code as u16, at(7) == b'0')),
        _ => Err(Error::BadResponse),
    }
}

/// Hex chunk size, then the end of the line or an extension. In a `cut`
/// line the digits must end before the cut (a long extension is fine;
/// digits running into the cut, e.g. many leading zeros, are not a size).
fn chunk_size(line: &[u8], cut: bool) -> Result<u32> {
    match leading_number(line, 16) {
        (Some(n), i)
            if i > 0
                && match line.get(i) {
                    None => !cut,
                    Some(b) => matches!(b, b';' | b' ' | b'\t'),
                } =>
        {
            Ok(n)
        }
        _ => Err(Error::BadResponse),
    }
}

/// `t` is one of the comma-separated tokens of `v`.
#[inline(never)]
fn has_token(v: &[u8], t: &[u8]) -> bool {
    v.split(|&b| b == b',').any(|x| x.trim_ascii() == t)
}

impl UpyAzureResponse {
    pub const fn new() -> Self {
        UpyAzureResponse {
            remaining: 0,
            retry_after: -1,
            status: 0,
            excerpt_len: 0,
            line_len: 0,
            complete: false,
            keep_alive: false,
            state: S_STATUS,
            flags: 0,
            excerpt: [0; RESPONSE_EXCERPT_CAP],
            line: [0; RESPONSE_LINE_CAP],
        }
    }

    /// Ready for the next response on the same connection.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// `Retry-After` in seconds, when given as a number of seconds.
    pub fn retry_after(&self) -> Option<u32> {
        u32::try_from(self.retry_after).ok()
    }

    /// What to read next from a stream that blocks until its buffer is full
    /// (MicroPython's `readinto`): 0 = one line (up to LF), n > 0 = exactly
    /// n body bytes, `u32::MAX` = everything until the connection closes.
    /// Reading only this much never waits for bytes that are not coming.
    pub fn want(&self) -> u32 {
        match self.state {
            S_BODY | S_CHUNK_DATA => self.remaining,
            S_UNTIL_CLOSE => u32::MAX,
            _ => 0,
        }
    }

    /// The first body bytes.
    pub fn excerpt(&self) -> &[u8] {
        self.excerpt
            .get(..self.excerpt_len as usize)
            .unwrap_or(&self.excerpt)
    }

    fn done(&mut self) {
        self.state = S_DONE;
        self.complete = true;
    }

    fn keep(&mut self, body: &[u8]) {
        for &b in body {
            match self.excerpt.get_mut(self.excerpt_len as usize) {
                Some(slot) => *slot = b,
                None => return,
            }
            self.excerpt_len += 1;
        }
    }

    /// Reads from `data` and returns how many bytes it consumed: all of them
    /// while the response is incomplete, fewer once it completes (the rest
    /// belongs to the next response), 0 after completion.
    pub fn feed(&mut self, data: &[u8]) -> Result<usize> {
        let mut i = 0;
        while let Some(rest) = data.get(i..).filter(|r| !r.is_empty()) {
            match self.state {
                S_DONE => break,
                S_FAILED => return Err(Error::BadResponse),
                S_UNTIL_CLOSE => {
                    self.keep(rest);
                    i = data.len();
                }
                S_BODY | S_CHUNK_DATA => {
                    let n = rest.len().min(self.remaining as usize);
                    self.keep(rest.get(..n).unwrap_or(&[]));
                    i += n;
                    // n <= remaining, and a zero `remaining` moves on too.
                    self.remaining -= n as u32;
                    if self.remaining == 0 {
                        if self.state == S_BODY {
                            self.done();
                        } else {
                            self.state = S_CHUNK_END;
                        }
                    }
                }
                _ => {
                    // A line state: collect up to LF.
                    i += 1;
                    match rest.first().copied().unwrap_or(b'\n') {
                        b'\n' => {
                            let r = self.line_end();
                            self.line_len = 0;
                            if let Err(e) = r {
                                self.state = S_FAILED;
                                return Err(e);
                            }
                        }
                        b'\r' => {}
                        b => {
                            if let Some(slot) = self.line.get_mut(self.line_len as usize) {
                                *slot = b;
                            }
                            // RESPONSE_LINE_CAP + 1 marks a cut line.
                            if (self.line_len as usize) <= RESPONSE_LINE_CAP {
                                self.line_len += 1;
                            }
                        }
                    }
                }
            }
        }
        Ok(i)
    }

    /// The connection closed. A read-until-close body completes here; any
    /// other unfinished response was truncated: `BadResponse`.
    pub fn finish(&mut self) -> Result<()> {
        match self.state {
            S_DONE => Ok(()),
            S_UNTIL_CLOSE => {
                self.done();
                Ok(())
            }
            _ => {
                self.state = S_FAILED;
                Err(Error::BadResponse)
            }
        }
    }

    fn line_end(&mut self) -> Result<()> {
        let cut = self.line_len as usize > RESPONSE_LINE_CAP;
        let n = (self.line_len as usize).min(RESPONSE_LINE_CAP);
        // A copy, so the parsing below can update `self`.
        let mut buf = self.line;
        if self.state == S_HEADERS {
            // Header names are case-insensitive; the values we read too.
            buf.make_ascii_lowercase();
        }
        let line = buf.get(..n).unwrap_or(&[]);
        let empty = line.is_empty();
        match self.state {
            // Tolerate blank lines before the status line.
            S_STATUS if empty => Ok(()),
            S_STATUS => {
                let (code, http10) = status_line(line)?;
                self.status = code;
                if http10 {
                    self.flags |= F_HTTP10;
                }
                self.state = S_HEADERS;
                Ok(())
            }
            S_HEADERS if empty => {
                self.headers_end();
                Ok(())
            }
            S_HEADERS => self.header(line, cut),
            S_CHUNK_SIZE => {
                self.remaining = chunk_size(line, cut)?;
                self.state = if self.remaining == 0 {
                    S_TRAILERS
                } else {
                    S_CHUNK_DATA
                };
                Ok(())
            }
            S_CHUNK_END if empty => {
                self.state = S_CHUNK_SIZE;
                Ok(())
            }
            S_TRAILERS => {
                if empty {
                    self.done();
                }
                Ok(())
            }
            _ => Err(Error::BadResponse),
        }
    }

    /// A header line (lowercased by `line_end`).
    fn header(&mut self, line: &[u8], cut: bool) -> Result<()> {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            // A cut line may have its colon in the part dropped.
            return if cut { Ok(()) } else { Err(Error::BadResponse) };
        };
        let name = line.get(..colon).unwrap_or(&[]);
        // Also refuses obs-fold and whitespace before the colon.
        if !is_token(name) {
            return Err(Error::BadResponse);
        }
        let Some(which) = NEEDED.iter().position(|n| *n == name) else {
            return Ok(());
        };
        if cut {
            return Err(Error::ResponseHeaderTooLong);
        }
        let value = line.get(colon + 1..).unwrap_or(&[]).trim_ascii();
        match which {
            0 => {
                let n = decimal(value).flatten().ok_or(Error::BadResponse)?;
                if self.flags & F_LENGTH != 0 && self.remaining != n {
                    return Err(Error::BadResponse);
                }
                self.flags |= F_LENGTH;
                self.remaining = n;
            }
            1 => {
                // Chunked only when it is the last coding.
                let last = match value.iter().rposition(|&b| b == b',') {
                    Some(i) => value.get(i + 1..).unwrap_or(&[]),
                    None => value,
                };
                self.flags |= F_TE | F_CHUNKED;
                if !has_token(last, b"chunked") {
                    self.flags &= !F_CHUNKED;
                }
            }
            2 => {
                if has_token(value, b"close") {
                    self.flags |= F_CLOSE;
                }
                if has_token(value, b"keep-alive") {
                    self.flags |= F_KEEP_ALIVE;
                }
            }
            _ => {
                // Seconds (saturating); an HTTP-date is "unknown" (-1).
                self.retry_after = match decimal(value) {
                    Some(n) => n.map_or(i32::MAX, |s| s.min(i32::MAX as u32) as i32),
                    None => -1,
                };
            }
        }
        Ok(())
    }

    fn headers_end(&mut self) {
        if self.status < 200 {
            // Interim (100 Continue, ...): the real response follows.
            self.reset();
            return;
        }
        let f = self.flags;
        self.keep_alive = f & F_CLOSE == 0 && (f & F_HTTP10 == 0 || f & F_KEEP_ALIVE != 0);
        if self.status == 204 || self.status == 304 {
            self.done();
        } else if f & F_CHUNKED != 0 {
            self.state = S_CHUNK_SIZE;
        } else if f & (F_TE | F_LENGTH) == F_LENGTH {
            if self.remaining == 0 {
                self.done();
            } else {
                self.state = S_BODY;
            }
        } else {
            // No length: the body ends when the server closes.
            self.keep_alive = false;
            self.state = S_UNTIL_CLOSE;
        }
    }
}

/// What to do after a response.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Any 2xx (Azure sends 200, 201, 202, 204): delivered. A 2xx is never
    /// retried, since that would store the event twice.
    Success = 0,
    /// 401: build a new token, then send again.
    RenewToken = 1,
    /// 400, 403, 404, 410, 413 and every other status not listed here
    /// (1xx, 3xx, other 4xx, 600+): sending again will not help.
    Fatal = 2,
    /// 408, 429 and every 5xx: wait (see `backoff`) and send again.
    Retry = 3,
}

pub fn classify(status: u16) -> Class {
    match status {
        200..=299 => Class::Success,
        401 => Class::RenewToken,
        408 | 429 | 500..=599 => Class::Retry,
        _ => Class::Fatal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    #[derive(Debug, PartialEq, Eq, Clone)]
    struct Outcome {
        result: core::result::Result<usize, Error>,
        complete: bool,
        status: u16,
        keep_alive: bool,
        retry_after: Option<u32>,
        excerpt: Vec<u8>,
    }

    /// Feeds `parts` in order and then reports EOF if `eof`. `result` is the
    /// total consumed (or the first error).
    fn run(parts: &[&[u8]], eof: bool) -> Outcome {
        let mut r = UpyAzureResponse::new();
        let mut total = 0usize;
        let mut result = Ok(0);
        'outer: for p in parts {
            match r.feed(p) {
                Ok(n) => {
                    total += n;
                    assert!(n <= p.len());
                    if n < p.len() {
                        assert!(r.complete);
                        assert_eq!(r.feed(&p[n..]), Ok(0));
                        break 'outer;
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break 'outer;
                }
            }
        }
        if result.is_ok() {
            result = Ok(total);
            if eof && !r.complete {
                if let Err(e) = r.finish() {
                    result = Err(e);
                }
            }
        }
        Outcome {
            result,
            complete: r.complete,
            status: r.status(),
            keep_alive: r.keep_alive(),
            retry_after: r.retry_after(),
            excerpt: r.excerpt().to_vec(),
        }
    }

    /// Every 1-, 2- and 3-part split and byte-by-byte give the same outcome.
    fn all_splits(resp: &[u8], eof: bool) -> Outcome {
        let whole = run(&[resp], eof);
        let bytes: Vec<&[u8]> = resp.chunks(1).collect();
        assert_eq!(run(&bytes, eof), whole, "byte by byte");
        for i in 0..=resp.len() {
            assert_eq!(run(&[&resp[..i], &resp[i..]], eof), whole, "split {i}");
            for j in i..=resp.len() {
                assert_eq!(
                    run(&[&resp[..i], &resp[i..j], &resp[j..]], eof),
                    whole,
                    "split {i} {j}"
                );
            }
        }
        whole
    }

    const CREATED: &[u8] = b"HTTP/1.1 201 Created\r\n\
        Content-Length: 0\r\n\
        Content-Type: application/xml; charset=utf-8\r\n\
        Server: Microsoft-HTTPAPI/2.0\r\n\
        Strict-Transport-Security: max-age=31536000\r\n\
        Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n";

    #[test]
    fn created_then_next_response() {
        let o = all_splits(CREATED, false);
        assert_eq!(o.result, Ok(CREATED.len()));
        assert!(o.complete && o.keep_alive);
        assert_eq!(o.status, 201);
        assert_eq!(o.retry_after, None);
        assert!(o.excerpt.is_empty());
        // Pipelined bytes are left for the next response.
        let mut two = CREATED.to_vec();
        two.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
        let mut r = UpyAzureResponse::new();
        assert_eq!(r.feed(&two), Ok(CREATED.len()));
        assert_eq!(r.feed(&two[CREATED.len()..]), Ok(0));
        r.reset();
        assert_eq!(r.feed(&two[CREATED.len()..]), Ok(two.len() - CREATED.len()));
        assert_eq!((r.status(), r.is_complete()), (204, true));
    }

    /// Reads the way the Python client does: a line when `want()` is 0, else
    /// exactly `want()` bytes. Returns how far it read into `stream`.
    fn read_by_want(stream: &[u8]) -> (UpyAzureResponse, usize) {
        let mut r = UpyAzureResponse::new();
        let mut pos = 0;
        while !r.is_complete() && pos < stream.len() {
            let rest = &stream[pos..];
            let n = match r.want() {
                0 => rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |i| i + 1),
                w => rest.len().min(w as usize),
            };
            assert_eq!(r.feed(&rest[..n]), Ok(n));
            pos += n;
        }
        (r, pos)
    }

    #[test]
    fn want_never_reads_past_the_response() {
        let next = b"HTTP/1.1 201 Created\r\n\r\n";
        for resp in [
            CREATED,
            &b"HTTP/1.1 503 Busy\r\nRetry-After: 4\r\nContent-Length: 4\r\n\r\nbusy"[..],
            &b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n"[..],
            &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"[..],
        ] {
            let mut stream = resp.to_vec();
            stream.extend_from_slice(next);
            let (r, pos) = read_by_want(&stream);
            assert!(r.is_complete());
            assert_eq!(pos, resp.len(), "read into the next response");
            assert_eq!(r.want(), 0);
        }
        let until_close = b"HTTP/1.0 500 Oops\r\n\r\nuntil close";
        let (r, pos) = read_by_want(until_close);
        assert_eq!((r.want(), pos), (u32::MAX, until_close.len()));
    }

    #[test]
    fn no_content_iot_hub() {
        let resp = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\
            iothub-errorcode: ServerError\r\nDate: x\r\n\r\n";
        let o = all_splits(resp, false);
        assert_eq!((o.status, o.complete, o.keep_alive), (204, true, true));
        // 204 has no body even with a bogus length.
        let resp = b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n";
        assert!(run(&[resp], false).complete);
    }

    #[test]
    fn unauthorized_xml_body() {
        let body = b"<Error><Code>401</Code><Detail>InvalidSignature: The token has an invalid signature. TrackingId:8d9e, SystemTracker:ns.servicebus.windows.net:hub, Timestamp:2024-01-01T00:00:00</Detail></Error>";
        // Same body with Content-Length.
        let mut cl = std::format!(
            "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/xml; charset=utf-8\r\n\
             CONTENT-LENGTH: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        cl.extend_from_slice(body);
        let o = all_splits(&cl, false);
        assert_eq!(o.result, Ok(cl.len()));
        assert_eq!((o.status, o.complete, o.keep_alive), (401, true, true));
        assert_eq!(o.excerpt, body[..RESPONSE_EXCERPT_CAP].to_vec());
        assert_eq!(classify(o.status), Class::RenewToken);
        // The same body chunked in two pieces.
        let mut ch = b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let (a, b) = body.split_at(100);
        for part in [a, b] {
            ch.extend_from_slice(std::format!("{:x}\r\n", part.len()).as_bytes());
            ch.extend_from_slice(part);
            ch.extend_from_slice(b"\r\n");
        }
        ch.extend_from_slice(b"0\r\n\r\n");
        let o = all_splits(&ch, false);
        assert_eq!(o.result, Ok(ch.len()));
        assert_eq!((o.status, o.complete, o.keep_alive), (401, true, true));
        assert_eq!(o.excerpt, body[..RESPONSE_EXCERPT_CAP].to_vec());
    }

    #[test]
    fn busy_chunked_retry_after() {
        let resp = b"HTTP/1.1 503 Service Unavailable\r\n\
            Transfer-Encoding: chunked\r\n\
            Content-Type: application/xml; charset=utf-8\r\n\
            Retry-After: 4\r\n\r\n\
            1f;name=\"ext\"\r\n<Error><Code>503</Code><Detail>\r\n\
            19\r\nServer busy, code 50002.\r\r\n\
            0\r\nX-Trailer: 1\r\n\r\n";
        let o = all_splits(resp, false);
        assert_eq!(o.result, Ok(resp.len()));
        assert_eq!((o.status, o.complete, o.keep_alive), (503, true, true));
        assert_eq!(o.retry_after, Some(4));
        assert_eq!(
            o.excerpt,
            b"<Error><Code>503</Code><Detail>Server busy, code 50002.\r".to_vec()
        );
        assert_eq!(classify(503), Class::Retry);
    }

    #[test]
    fn http10_close() {
        let resp = b"HTTP/1.0 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nerror";
        let o = all_splits(resp, false);
        assert_eq!((o.status, o.complete, o.keep_alive), (500, true, false));
        assert_eq!(o.excerpt, b"error".to_vec());
        let ka = b"HTTP/1.0 201 Created\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n";
        let o = all_splits(ka, false);
        assert_eq!((o.status, o.complete, o.keep_alive), (201, true, true));
        let close = b"HTTP/1.1 201 Created\r\nConnection: foo, close\r\nContent-Length: 0\r\n\r\n";
        let o = all_splits(close, false);
        assert_eq!((o.status, o.complete, o.keep_alive), (201, true, false));
    }

    #[test]
    fn continue_then_created() {
        let resp = b"HTTP/1.1 100 Continue\r\n\r\n\
            HTTP/1.1 102 Processing\r\nContent-Length: 7\r\n\r\n\
            HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
        let o = all_splits(resp, false);
        assert_eq!(o.result, Ok(resp.len()));
        assert_eq!((o.status, o.complete, o.keep_alive), (201, true, true));
        assert_eq!(o.excerpt, b"ok".to_vec());
    }

    #[test]
    fn read_until_close() {
        let resp = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nbad things";
        let o = run(&[resp], false);
        assert_eq!(o.result, Ok(resp.len()));
        assert!(!o.complete);
        let o = all_splits(resp, true);
        assert_eq!(o.result, Ok(resp.len()));
        assert_eq!((o.status, o.complete, o.keep_alive), (400, true, false));
        assert_eq!(o.excerpt, b"bad things".to_vec());
        // A non-chunked transfer coding is read until close too.
        let gz =
            b"HTTP/1.1 500 x\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 1\r\n\r\nabc";
        let o = run(&[gz], true);
        assert_eq!(
            (o.complete, o.keep_alive, o.excerpt.len()),
            (true, false, 3)
        );
    }

    #[test]
    fn truncated() {
        for resp in [
            &b""[..],
            b"HTTP/1.1 201 Cre",
            b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nab",
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
        ] {
            let o = all_splits(resp, true);
            assert_eq!(o.result, Err(Error::BadResponse));
            assert!(!o.complete);
        }
    }

    #[test]
    fn bad_syntax() {
        for resp in [
            &b"HTTP/2 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 099 OK\r\n\r\n",
            b"HTTP/1.1  200 OK\r\n\r\n",
            b"http/1.1 200 OK\r\n\r\n",
            b"<html>\r\n",
            b"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nName : x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1x\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100000000\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n",
        ] {
            let o = all_splits(resp, true);
            assert_eq!(
                o.result,
                Err(Error::BadResponse),
                "{:?}",
                std::str::from_utf8(resp)
            );
        }
        // Sticky until reset.
        let mut r = UpyAzureResponse::new();
        assert_eq!(r.feed(b"garbage\n"), Err(Error::BadResponse));
        assert_eq!(r.feed(CREATED), Err(Error::BadResponse));
        r.reset();
        assert_eq!(r.feed(CREATED), Ok(CREATED.len()));
    }

    #[test]
    fn long_lines() {
        let long = "x".repeat(500);
        // An ignored header, a long reason phrase, a long chunk extension.
        let resp = std::format!(
            "HTTP/1.1 201 {long}\r\nX-Long: {long}\r\n{long}: v\r\nTransfer-Encoding: chunked\r\n\r\n\
             2;{long}\r\nok\r\n0\r\nTrailer: {long}\r\n\r\n"
        );
        let o = run(&[resp.as_bytes()], false);
        assert_eq!(o.result, Ok(resp.len()));
        assert_eq!((o.status, o.complete), (201, true));
        // A needed header that does not fit.
        let resp = std::format!("HTTP/1.1 201 Created\r\nRetry-After: {long}\r\n\r\n");
        assert_eq!(
            all_splits(resp.as_bytes(), false).result,
            Err(Error::ResponseHeaderTooLong)
        );
        // Exactly RESPONSE_LINE_CAP bytes still fit.
        let pad = "1".repeat(RESPONSE_LINE_CAP - "Retry-After: ".len());
        let resp =
            std::format!("HTTP/1.1 503 x\r\nRetry-After: {pad}\r\nContent-Length: 0\r\n\r\n");
        let o = run(&[resp.as_bytes()], false);
        assert_eq!(o.result, Ok(resp.len()));
        assert_eq!(o.retry_after, Some(i32::MAX as u32));
    }

    #[test]
    fn chunk_size_digits_into_the_cut() {
        // Regression: 500 leading zeros were cut to 128 zeros and read as
        // the last chunk (size 0), so the data was taken for trailers.
        let zeros = "0".repeat(500);
        let resp = std::format!(
            "HTTP/1.1 500 Err\r\nTransfer-Encoding: chunked\r\n\r\n{zeros}2\r\nok\r\n0\r\n\r\n"
        );
        assert_eq!(
            all_splits(resp.as_bytes(), false).result,
            Err(Error::BadResponse)
        );
        // Digits that fill the kept part exactly, cut right after them.
        let digits = std::format!("{}2", "0".repeat(RESPONSE_LINE_CAP - 1));
        let resp = std::format!(
            "HTTP/1.1 500 Err\r\nTransfer-Encoding: chunked\r\n\r\n{digits};ext\r\nok\r\n0\r\n\r\n"
        );
        assert_eq!(
            all_splits(resp.as_bytes(), false).result,
            Err(Error::BadResponse)
        );
        // Exactly RESPONSE_LINE_CAP digits, not cut: still a size.
        let resp = std::format!(
            "HTTP/1.1 500 Err\r\nTransfer-Encoding: chunked\r\n\r\n{digits}\r\nok\r\n0\r\n\r\n"
        );
        let o = run(&[resp.as_bytes()], false);
        assert_eq!(o.result, Ok(resp.len()));
        assert_eq!((o.complete, o.excerpt), (true, b"ok".to_vec()));
    }

    #[test]
    fn retry_after_forms() {
        for (v, want) in [
            ("120", Some(120)),
            (" 7 ", Some(7)),
            ("Wed, 21 Oct 2015 07:28:00 GMT", None),
            ("", None),
            ("-1", None),
        ] {
            let resp = std::format!(
                "HTTP/1.1 429 Too Many\r\nRetry-After: {v}\r\nContent-Length: 0\r\n\r\n"
            );
            let o = run(&[resp.as_bytes()], false);
            assert_eq!((o.complete, o.retry_after), (true, want), "{v}");
        }
    }

    #[test]
    fn bare_lf_and_leading_blank_lines() {
        let resp = b"\r\n\nHTTP/1.1 201 Created\nContent-Length: 1\n\nx";
        let o = all_splits(resp, false);
        assert_eq!(
            (o.status, o.complete, o.excerpt),
            (201, true, b"x".to_vec())
        );
    }

    #[test]
    fn classes() {
        for s in [200, 201, 202, 204] {
            assert_eq!(classify(s), Class::Success);
        }
        assert_eq!(classify(401), Class::RenewToken);
        for s in [
            400, 403, 404, 410, 413, 405, 409, 499, 0, 100, 301, 600, 65535,
        ] {
            assert_eq!(classify(s), Class::Fatal, "{s}");
        }
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert_eq!(classify(s), Class::Retry, "{s}");
        }
    }

    #[test]
    fn small_state() {
        assert!(core::mem::size_of::<UpyAzureResponse>() <= 300);
    }

    fn responses() -> impl Strategy<Value = Vec<u8>> {
        let header = prop_oneof![
            Just("Content-Length: 3".to_string()),
            Just("Content-Length: 0".to_string()),
            Just("Transfer-Encoding: chunked".to_string()),
            Just("Connection: close".to_string()),
            Just("Retry-After: 5".to_string()),
            "[A-Za-z-]{1,8}: [ -~]{0,8}".prop_map(|s| s),
        ];
        let body = prop_oneof![
            Just("abc".to_string()),
            Just("3\r\nabc\r\n0\r\n\r\n".to_string()),
            Just("1;x\r\na\r\n0\r\nT: 1\r\n\r\n".to_string()),
            "[ -~\r\n]{0,10}",
        ];
        (
            prop_oneof![
                Just("HTTP/1.1 "),
                Just("HTTP/1.0 "),
                Just("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 ")
            ],
            prop_oneof![
                Just(200u16),
                Just(201),
                Just(204),
                Just(401),
                Just(503),
                100u16..600
            ],
            proptest::collection::vec(header, 0..4),
            body,
        )
            .prop_map(|(v, s, h, b)| {
                let mut r = std::format!("{v}{s} Reason\r\n");
                for x in h {
                    r.push_str(&x);
                    r.push_str("\r\n");
                }
                r.push_str("\r\n");
                r.push_str(&b);
                r.into_bytes()
            })
    }

    proptest! {
        #[test]
        fn never_panics_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..300), cut in any::<usize>()) {
            let whole = run(&[&data], true);
            let c = cut % (data.len() + 1);
            prop_assert_eq!(run(&[&data[..c], &data[c..]], true), whole.clone());
            let bytes: Vec<&[u8]> = data.chunks(1).collect();
            prop_assert_eq!(run(&bytes, true), whole);
        }

        #[test]
        fn splits_agree_on_responses(resp in responses(), a in any::<usize>(), b in any::<usize>(), eof in any::<bool>()) {
            let whole = run(&[&resp], eof);
            let i = a % (resp.len() + 1);
            let j = i + b % (resp.len() - i + 1);
            prop_assert_eq!(run(&[&resp[..i], &resp[i..j], &resp[j..]], eof), whole.clone());
            let bytes: Vec<&[u8]> = resp.chunks(1).collect();
            prop_assert_eq!(run(&bytes, eof), whole);
        }
    }

    /// Chunk data must be followed by CRLF (or a bare LF): anything else
    /// between the data and the next size line is refused, fed whole, in
    /// every 2- and 3-part split and byte by byte, with or without EOF.
    #[test]
    fn chunk_data_not_followed_by_crlf() {
        let head = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n";
        for body in [
            &b"5\r\nhelloX\r\n0\r\n\r\n"[..],
            b"5\r\nhello0\r\n\r\n",
            b"5\r\nhello5\r\nworld\r\n0\r\n\r\n",
            b"5\r\nhello \r\n0\r\n\r\n",
            b"5\r\nhello\tX\r\n0\r\n\r\n",
            b"3\r\nhello\r\n0\r\n\r\n",
        ] {
            let mut resp = head.to_vec();
            resp.extend_from_slice(body);
            for eof in [false, true] {
                let o = all_splits(&resp, eof);
                assert_eq!(
                    o.result,
                    Err(Error::BadResponse),
                    "{:?}",
                    std::str::from_utf8(body)
                );
                assert!(!o.complete);
            }
        }
        // The same chunks with their CRLF (or bare LF) are read.
        for body in [
            &b"5\r\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhello\n0\n\n",
            b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n",
        ] {
            let mut resp = head.to_vec();
            resp.extend_from_slice(body);
            let o = all_splits(&resp, false);
            assert_eq!(o.result, Ok(resp.len()));
            assert!(o.complete);
            assert!(o.excerpt.starts_with(b"hello"));
        }
    }
}
