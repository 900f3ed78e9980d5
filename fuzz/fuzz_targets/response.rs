//! The incremental HTTP response reader on arbitrary bytes.
//!
//! Input layout: byte 0 = flags (bit 7: the connection closes at the end,
//! i.e. `finish()`; bits 0-3: how many split sizes follow), then that many
//! split-size bytes (a chunk of `size + 1` bytes each, cycled), then the
//! stream itself (possibly several pipelined responses).
//!
//! The stream is read four ways -- in one piece, in the chosen pieces, one
//! byte at a time, and the way the Python client reads (`want()`: a line
//! when 0, else exactly that many bytes) -- and every way must give the same
//! sequence of responses (status, complete, keep_alive, retry_after,
//! excerpt) and the same error. Along the way: `feed` never consumes more
//! than it is given, consumes everything while the response is incomplete,
//! consumes nothing once it is complete, errors are sticky, and the `want()`
//! reader never reads a byte past the end of a response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upy_azure::error::Error;
use upy_azure::ffi::send::{
    upy_azure_response_eof, upy_azure_response_feed, upy_azure_response_init, upy_azure_response_want,
};
use upy_azure::response::{UpyAzureResponse, RESPONSE_EXCERPT_CAP};

#[derive(Debug, PartialEq, Eq, Clone)]
struct Outcome {
    complete: bool,
    status: u16,
    keep_alive: bool,
    retry_after: i32,
    excerpt: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
struct Run {
    /// One entry per response seen, the last one possibly incomplete.
    responses: Vec<Outcome>,
    /// Bytes consumed in all.
    consumed: usize,
    error: Option<Error>,
}

fn outcome(r: &UpyAzureResponse) -> Outcome {
    // State that holds at every point.
    assert!(r.excerpt_len as usize <= RESPONSE_EXCERPT_CAP);
    assert_eq!(r.excerpt().len(), r.excerpt_len as usize);
    assert!(r.status == 0 || (100..=999).contains(&r.status), "{}", r.status);
    assert!(r.retry_after >= -1);
    assert_eq!(r.retry_after(), u32::try_from(r.retry_after).ok());
    if r.complete {
        assert!(r.status >= 200, "complete on an interim status");
        assert_eq!(r.want(), 0);
    }
    Outcome {
        complete: r.complete,
        status: r.status,
        keep_alive: r.keep_alive,
        retry_after: r.retry_after,
        excerpt: r.excerpt().to_vec(),
    }
}

/// After an error every call fails until reset.
fn check_sticky(r: &mut UpyAzureResponse) {
    let before = outcome(r);
    assert_eq!(r.feed(b"HTTP/1.1 200 OK\r\n\r\n"), Err(Error::BadResponse));
    assert_eq!(r.feed(b"\n"), Err(Error::BadResponse));
    assert_eq!(r.finish(), Err(Error::BadResponse));
    assert_eq!(outcome(r), before);
}

/// A response is complete: it consumes nothing more, and `finish` is a no-op.
fn check_complete(r: &mut UpyAzureResponse, rest: &[u8]) {
    let before = outcome(r);
    assert_eq!(r.feed(rest), Ok(0));
    assert_eq!(r.feed(b"HTTP/1.1 200 OK\r\n\r\n"), Ok(0));
    assert_eq!(r.finish(), Ok(()));
    assert_eq!(outcome(r), before);
}

/// The end of the stream: the connection closes (`eof`) or not.
/// `c_abi`: through `upy_azure_response_eof` instead of `finish`.
fn end(r: &mut UpyAzureResponse, run: &mut Run, fed_since_reset: bool, eof: bool, c_abi: bool) {
    if run.error.is_none() && eof && fed_since_reset {
        let until_close = r.want() == u32::MAX;
        let result = if c_abi {
            // SAFETY: `r` is a live, initialised reader.
            match unsafe { upy_azure_response_eof(r) } {
                0 => Ok(()),
                rc => {
                    assert_eq!(rc, -Error::BadResponse.code());
                    Err(Error::BadResponse)
                }
            }
        } else {
            r.finish()
        };
        match result {
            Ok(()) => {
                assert!(until_close && r.complete && !r.keep_alive);
                check_complete(r, b"x");
            }
            Err(e) => {
                assert_eq!(e, Error::BadResponse);
                assert!(!r.complete);
                run.error = Some(e);
                check_sticky(r);
            }
        }
    }
    run.responses.push(outcome(r));
    if run.error.is_some() {
        // Where in the failing piece the error was found is not reported.
        run.consumed = 0;
    }
}

/// Feeds `chunks` in order; a completed response is recorded, the reader
/// reset, and the rest of the chunk fed to the next response.
fn run_chunks<'a>(chunks: impl Iterator<Item = &'a [u8]>, eof: bool) -> Run {
    let mut r = UpyAzureResponse::new();
    let mut run = Run {
        responses: Vec::new(),
        consumed: 0,
        error: None,
    };
    let mut fed = false;
    'outer: for chunk in chunks {
        let mut rest = chunk;
        while !rest.is_empty() {
            let was_complete = r.complete;
            assert!(!was_complete);
            match r.feed(rest) {
                Ok(n) => {
                    assert!(n <= rest.len(), "consumed more than given");
                    fed |= n > 0;
                    run.consumed += n;
                    if n < rest.len() {
                        assert!(r.complete, "stopped early while incomplete");
                    }
                    rest = &rest[n..];
                    if r.complete {
                        check_complete(&mut r, rest);
                        run.responses.push(outcome(&r));
                        r.reset();
                        assert_eq!(outcome(&r), outcome(&UpyAzureResponse::new()));
                        fed = false;
                    }
                }
                Err(e) => {
                    assert!(matches!(e, Error::BadResponse | Error::ResponseHeaderTooLong));
                    assert!(!r.complete);
                    run.error = Some(e);
                    check_sticky(&mut r);
                    break 'outer;
                }
            }
        }
    }
    end(&mut r, &mut run, fed, eof, false);
    run
}

/// Reads like the Python client: `want()` 0 = up to and including the next
/// LF, n = exactly n bytes (or what is left), `u32::MAX` = everything.
/// Through the C ABI, to cover it too.
fn run_by_want(stream: &[u8], eof: bool) -> Run {
    let mut slot = core::mem::MaybeUninit::<UpyAzureResponse>::uninit();
    // SAFETY: init writes the whole struct.
    let r = unsafe {
        upy_azure_response_init(slot.as_mut_ptr());
        slot.assume_init_mut()
    };
    let mut run = Run {
        responses: Vec::new(),
        consumed: 0,
        error: None,
    };
    let mut pos = 0;
    let mut fed = false;
    while pos < stream.len() {
        let rest = &stream[pos..];
        // SAFETY: `r` is a live, initialised reader.
        let want = unsafe { upy_azure_response_want(r) };
        assert_eq!(want, r.want());
        let n = match want {
            0 => rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1),
            w => rest.len().min(w as usize),
        };
        // SAFETY: `rest[..n]` is a live slice.
        let got = unsafe { upy_azure_response_feed(r, rest.as_ptr(), n) };
        if got < 0 {
            let e = if -got == Error::ResponseHeaderTooLong.code() as isize {
                Error::ResponseHeaderTooLong
            } else {
                assert_eq!(-got, Error::BadResponse.code() as isize);
                Error::BadResponse
            };
            run.error = Some(e);
            check_sticky(r);
            break;
        }
        // What `want()` asked for is exactly what the response needs.
        assert_eq!(got as usize, n, "want() asked for bytes past the response");
        pos += n;
        run.consumed += n;
        fed = true;
        if r.complete {
            check_complete(r, &stream[pos..]);
            run.responses.push(outcome(r));
            r.reset();
            fed = false;
        }
    }
    end(r, &mut run, fed, eof, true);
    run
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let eof = flags & 0x80 != 0;
    let n_sizes = ((flags & 0x0f) as usize).min(rest.len());
    let (sizes, stream) = rest.split_at(n_sizes);

    let whole = run_chunks(core::iter::once(stream), eof);
    assert!(whole.consumed <= stream.len());
    if whole.error.is_none() {
        // Nothing was left unread: every byte went to some response.
        assert_eq!(whole.consumed, stream.len());
    }

    let split = if sizes.is_empty() {
        run_chunks(stream.chunks(1 + stream.len() / 2), eof)
    } else {
        let mut pieces = Vec::new();
        let mut at = 0;
        for &s in sizes.iter().cycle() {
            if at >= stream.len() {
                break;
            }
            let end = (at + s as usize + 1).min(stream.len());
            pieces.push(&stream[at..end]);
            at = end;
        }
        run_chunks(pieces.into_iter(), eof)
    };
    assert_eq!(split, whole, "split feed differs from one-shot");

    let bytes = run_chunks(stream.chunks(1), eof);
    assert_eq!(bytes, whole, "byte-by-byte feed differs from one-shot");

    let by_want = run_by_want(stream, eof);
    assert_eq!(by_want, whole, "want()-driven reading differs from one-shot");
});
