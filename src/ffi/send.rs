//! C ABI of the sending side: request heads, batch bodies, the response
//! reader, status classes and backoff. Same conventions as `auth`: a length
//! (>= 0) or `-code`; NULL string pointers are "absent".

use core::ffi::c_int;

use super::{ret, slice, slice_mut};
use crate::backoff;
use crate::batch::{Event, UpyAzureBatch};
use crate::error::Error;
use crate::request::{self, UpyAzureProperties, UpyAzureProperty, UpyAzureRequest, UpyAzureStr};
use crate::response::{self, UpyAzureResponse};

/// Exact length of the request head (validates everything), or `-code`.
///
/// # Safety
/// `r` NULL or valid, every string and the property array in it NULL or
/// valid for its length.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_request_head_len(r: *const UpyAzureRequest<'_>) -> isize {
    upy_azure_request_head(core::ptr::null_mut(), 0, r)
}

/// Writes the request head into `out` and returns its length, or `-code`.
/// `out` NULL: only computes the length (same as `upy_azure_request_head_len`).
///
/// # Safety
/// `out` NULL or valid for `out_len` writes, not overlapping the inputs;
/// `r` as for `upy_azure_request_head_len`.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_request_head(
    out: *mut u8,
    out_len: usize,
    r: *const UpyAzureRequest<'_>,
) -> isize {
    let out = if out.is_null() {
        None
    } else {
        Some(slice_mut(out, out_len))
    };
    ret(match r.as_ref() {
        Some(r) => request::head(out, r),
        None => Err(Error::InvalidState),
    })
}

/// Sets up `b`: writing into `buf[0..cap]`, or only counting when `buf` is
/// NULL (to size the buffer: count every event, then init again with a
/// buffer of the `upy_azure_batch_finish` length and add them again).
///
/// # Safety
/// `b` NULL or valid for writes; `buf` NULL or valid for `cap` writes for
/// as long as `b` is used.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_batch_init(
    b: *mut UpyAzureBatch<'_>,
    buf: *mut u8,
    cap: usize,
    kind: u8,
    max_size: usize,
) {
    if !b.is_null() {
        b.write(UpyAzureBatch::from_raw(buf, cap, kind, max_size));
    }
}

/// Appends one event. Returns 0 or `-code`; on error the batch is as it was
/// (after `MessageTooLarge` it can still be finished and sent).
///
/// # Safety
/// `b` NULL or set up by `upy_azure_batch_init`; `body`, `partition_key`
/// and `props[0..n_props]` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_batch_add(
    b: *mut UpyAzureBatch<'_>,
    body: UpyAzureStr<'_>,
    props: *const UpyAzureProperty<'_>,
    n_props: usize,
    partition_key: UpyAzureStr<'_>,
) -> c_int {
    let ev = Event {
        body: body.bytes(),
        properties: UpyAzureProperties::from_raw(props, n_props).get(),
        partition_key: partition_key.get(),
    };
    match b
        .as_mut()
        .ok_or(Error::InvalidState)
        .and_then(|b| b.add(&ev))
    {
        Ok(()) => 0,
        Err(e) => -e.code(),
    }
}

/// Closes the array (writes `]` unless counting) and returns the total body
/// length, or `-code` (`EmptyBatch` without events).
///
/// # Safety
/// `b` NULL or set up by `upy_azure_batch_init`.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_batch_finish(b: *mut UpyAzureBatch<'_>) -> isize {
    ret(b
        .as_mut()
        .ok_or(Error::InvalidState)
        .and_then(|b| b.finish()))
}

/// Size of `UpyAzureResponse` as Rust lays it out: the C glue can check it
/// against `sizeof` once.
#[no_mangle]
pub extern "C" fn upy_azure_response_size() -> usize {
    core::mem::size_of::<UpyAzureResponse>()
}

/// Resets `r` for a new response (also its first initialisation).
///
/// # Safety
/// `r` must be NULL or valid for writes (it may be uninitialised).
#[no_mangle]
pub unsafe extern "C" fn upy_azure_response_init(r: *mut UpyAzureResponse) {
    if !r.is_null() {
        r.write(UpyAzureResponse::new());
    }
}

/// Feeds received bytes. Returns how many were consumed (fewer than `len`
/// only once the response is complete: the rest belongs to the next one)
/// or `-code`.
///
/// # Safety
/// `r` NULL or initialised; `data` NULL or valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_response_feed(
    r: *mut UpyAzureResponse,
    data: *const u8,
    len: usize,
) -> isize {
    match r.as_mut() {
        Some(r) => ret(r.feed(slice(data, len))),
        None => ret(Err(Error::InvalidState)),
    }
}

/// The connection closed: 0 if the response is complete (a body without a
/// length completes here), else `-code` (truncated: `BadResponse`).
///
/// # Safety
/// `r` NULL or initialised.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_response_eof(r: *mut UpyAzureResponse) -> c_int {
    match r
        .as_mut()
        .ok_or(Error::InvalidState)
        .and_then(|r| r.finish())
    {
        Ok(()) => 0,
        Err(e) => -e.code(),
    }
}

/// What to read next: 0 a line, n > 0 exactly n body bytes, `u32::MAX`
/// until the connection closes (see `UpyAzureResponse::want`).
///
/// # Safety
/// `r` NULL or initialised.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_response_want(r: *const UpyAzureResponse) -> u32 {
    r.as_ref().map_or(0, UpyAzureResponse::want)
}

/// 0 success (2xx), 1 renew the token (401), 2 fatal, 3 retry (408, 429, 5xx).
#[no_mangle]
pub extern "C" fn upy_azure_classify(status: u16) -> u8 {
    response::classify(status) as u8
}

/// Milliseconds to wait before retry `attempt` (0-based): full jitter below
/// `min(cap_ms, base_ms * 2^attempt)`, at least `retry_after_s` seconds
/// (up to 120 s) when `retry_after_s >= 0`.
#[no_mangle]
pub extern "C" fn upy_azure_backoff_ms(
    attempt: u32,
    base_ms: u32,
    cap_ms: u32,
    random: u32,
    retry_after_s: i32,
) -> u32 {
    backoff::delay_ms(
        attempt,
        base_ms,
        cap_ms,
        random,
        u32::try_from(retry_after_s).ok(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> UpyAzureStr<'_> {
        UpyAzureStr::new(b)
    }

    #[test]
    fn request_round_trip() {
        let props = [UpyAzureProperty::new(b"Alert", b"Strong Wind")];
        let r = UpyAzureRequest {
            kind: 0,
            batch: false,
            keep_alive: true,
            host: s(b"ns.servicebus.windows.net"),
            entity: s(b"hub"),
            publisher: s(b"dev1"),
            partition_id: UpyAzureStr::NONE,
            module_id: UpyAzureStr::NONE,
            token: s(b"SharedAccessSignature sr=a&sig=b&se=1&skn=c"),
            content_type: UpyAzureStr::NONE,
            partition_key: s(b"k"),
            properties: UpyAzureProperties::new(&props),
            body_len: 3,
            max_size: 262144,
        };
        let n = unsafe { upy_azure_request_head_len(&r) };
        assert!(n > 0);
        let mut out = std::vec![0u8; n as usize];
        assert_eq!(
            unsafe { upy_azure_request_head(out.as_mut_ptr(), out.len(), &r) },
            n
        );
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "POST /hub/publishers/dev1/messages?timeout=60&api-version=2014-01 HTTP/1.1\r\n\
             Host: ns.servicebus.windows.net\r\n\
             Authorization: SharedAccessSignature sr=a&sig=b&se=1&skn=c\r\n\
             Content-Type: application/atom+xml;type=entry;charset=utf-8\r\n\
             Content-Length: 3\r\n\
             BrokerProperties: {\"PartitionKey\":\"k\"}\r\n\
             Alert: Strong Wind\r\n\
             Connection: keep-alive\r\n\r\n"
        );
        assert_eq!(
            unsafe { upy_azure_request_head(out.as_mut_ptr(), out.len() - 1, &r) },
            -(Error::BufferTooSmall.code() as isize)
        );
        // A non-NULL pointer with length 0 is a (too small) buffer, not counting.
        assert_eq!(
            unsafe { upy_azure_request_head(out.as_mut_ptr(), 0, &r) },
            -(Error::BufferTooSmall.code() as isize)
        );
        let bad = UpyAzureRequest { kind: 3, ..r };
        assert_eq!(
            unsafe { upy_azure_request_head_len(&bad) },
            -(Error::InvalidState.code() as isize)
        );
        assert_eq!(
            unsafe { upy_azure_request_head_len(core::ptr::null()) },
            -(Error::InvalidState.code() as isize)
        );
        let big = UpyAzureRequest {
            body_len: 262145,
            ..r
        };
        assert_eq!(
            unsafe { upy_azure_request_head_len(&big) },
            -(Error::MessageTooLarge.code() as isize)
        );
    }

    #[test]
    fn batch_count_then_write() {
        let props = [UpyAzureProperty::new(b"k", b"v")];
        let events: [(&[u8], &[UpyAzureProperty<'_>]); 2] = [(b"m1", &[]), (b"m2", &props)];
        let mut b = core::mem::MaybeUninit::<UpyAzureBatch<'_>>::uninit();
        unsafe {
            assert_eq!(
                upy_azure_batch_add(
                    core::ptr::null_mut(),
                    s(b""),
                    core::ptr::null(),
                    0,
                    UpyAzureStr::NONE
                ),
                -Error::InvalidState.code()
            );
            upy_azure_batch_init(b.as_mut_ptr(), core::ptr::null_mut(), 0, 2, 1000);
            let b = b.assume_init_mut();
            assert_eq!(
                upy_azure_batch_finish(b),
                -(Error::EmptyBatch.code() as isize)
            );
            for (body, p) in events {
                assert_eq!(
                    upy_azure_batch_add(b, s(body), p.as_ptr(), p.len(), UpyAzureStr::NONE),
                    0
                );
            }
            let n = upy_azure_batch_finish(b);
            assert!(n > 0);
            let mut buf = std::vec![0u8; n as usize];
            upy_azure_batch_init(b, buf.as_mut_ptr(), buf.len(), 2, 1000);
            for (body, p) in events {
                assert_eq!(
                    upy_azure_batch_add(b, s(body), p.as_ptr(), p.len(), UpyAzureStr::NONE),
                    0
                );
            }
            assert_eq!(
                upy_azure_batch_add(b, s(b"x"), core::ptr::null(), 0, s(b"pk")),
                -Error::InvalidState.code()
            );
            assert_eq!(upy_azure_batch_finish(b), n);
            assert_eq!(b.count, 2);
            assert_eq!(
                std::str::from_utf8(&buf).unwrap(),
                r#"[{"body":"bTE="},{"body":"bTI=","properties":{"iothub-app-k":"v"}}]"#
            );
        }
    }

    #[test]
    fn response_abi() {
        let mut r = core::mem::MaybeUninit::<UpyAzureResponse>::uninit();
        let resp = b"HTTP/1.1 503 Busy\r\nRetry-After: 4\r\nContent-Length: 4\r\n\r\nbusyHTTP/1.1";
        unsafe {
            upy_azure_response_init(r.as_mut_ptr());
            let r = r.assume_init_mut();
            assert_eq!(upy_azure_response_eof(r), -Error::BadResponse.code());
            upy_azure_response_init(r);
            assert_eq!(upy_azure_response_feed(r, core::ptr::null(), 5), 0);
            assert_eq!(
                upy_azure_response_feed(r, resp.as_ptr(), resp.len()),
                resp.len() as isize - 8
            );
            assert!(r.complete && r.keep_alive);
            assert_eq!((r.status, r.retry_after), (503, 4));
            assert_eq!(&r.excerpt[..r.excerpt_len as usize], b"busy");
            assert_eq!(upy_azure_response_eof(r), 0);
            assert_eq!(upy_azure_classify(r.status), 3);
        }
        assert_eq!(
            upy_azure_response_size(),
            core::mem::size_of::<UpyAzureResponse>()
        );
        assert_eq!(upy_azure_backoff_ms(0, 500, 30_000, 0, r_none()), 0);
        assert_eq!(upy_azure_backoff_ms(0, 500, 30_000, 0, 4), 4000);
        assert_eq!(upy_azure_classify(201), 0);
        assert_eq!(upy_azure_classify(401), 1);
        assert_eq!(upy_azure_classify(403), 2);
    }

    fn r_none() -> i32 {
        -1
    }
}
