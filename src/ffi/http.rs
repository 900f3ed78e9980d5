//! C ABI of the HTTP side: request heads, batch bodies and backoff. Same conventions as `auth`: a length
//! (>= 0) or `-code`; NULL string pointers are "absent"; a NULL output
//! buffer means "count only".

use core::ffi::c_int;

use super::types::{strs, UpyAzureHead, UpyAzureStr};
use super::{ret, slice_mut};
use crate::backoff;
use crate::batch::Batch;
use crate::error::Error;
use crate::request::{self, Head};

/// A NULL `out` counts; anything else is a buffer (a zero length included).
unsafe fn out_buf<'a>(out: *mut u8, out_len: usize) -> Option<&'a mut [u8]> {
    if out.is_null() {
        None
    } else {
        Some(slice_mut(out, out_len))
    }
}

/// Writes the request head into `out` and returns its length, or `-code`.
/// `out` NULL: only computes the exact length (validating everything).
///
/// # Safety
/// `out` NULL or valid for `out_len` writes, not overlapping the inputs;
/// `h` NULL or valid, every string and array in it NULL or valid for its
/// length.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_head(
    out: *mut u8,
    out_len: usize,
    h: *const UpyAzureHead<'_>,
) -> isize {
    let Some(h) = h.as_ref() else {
        return ret(Err(Error::InvalidState));
    };
    let head = Head {
        method: h.method.bytes(),
        raw_path: h.raw_path.get(),
        query: h.query.get(),
        host: h.host.bytes(),
        token: h.token.get(),
        content_type: h.content_type.get(),
        partition_key: h.partition_key.get(),
        prefix: h.prefix.bytes(),
        body_len: h.body_len,
        max_size: h.max_size,
        keep_alive: h.keep_alive,
    };
    ret(request::head(
        out_buf(out, out_len),
        &head,
        strs(h.segments, h.n_segments),
        strs(h.properties, h.n_properties),
    ))
}

/// Appends one event to `b` (set up by C as `{0, 0, max_size, iot}`),
/// counting when `buf` is NULL, else writing into `buf[0..cap]` (the same
/// buffer for every call of one batch). `props` is flat: name, value, ...
/// Returns 0 or `-code`; on error the batch is as it was.
///
/// # Safety
/// `b` NULL or valid; `buf` NULL or valid for `cap` writes; `body`,
/// `partition_key` and `props[0..n_props]` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_batch_add(
    b: *mut Batch,
    buf: *mut u8,
    cap: usize,
    body: UpyAzureStr<'_>,
    props: *const UpyAzureStr<'_>,
    n_props: usize,
    partition_key: UpyAzureStr<'_>,
) -> c_int {
    match b.as_mut().ok_or(Error::InvalidState).and_then(|b| {
        b.add(
            out_buf(buf, cap),
            body.bytes(),
            strs(props, n_props),
            partition_key.get(),
        )
    }) {
        Ok(()) => 0,
        Err(e) => -e.code(),
    }
}

/// Closes the array (writes `]` unless counting) and returns the total body
/// length, or `-code` (`EmptyBatch` without events).
///
/// # Safety
/// As for `upy_azure_batch_add`.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_batch_finish(
    b: *const Batch,
    buf: *mut u8,
    cap: usize,
) -> isize {
    ret(b
        .as_ref()
        .ok_or(Error::InvalidState)
        .and_then(|b| b.finish(out_buf(buf, cap))))
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
    fn head_round_trip() {
        let segs = [s(b"hub"), s(b"publishers"), s(b"dev1"), s(b"messages")];
        let props = [s(b"Alert"), s(b"Strong Wind")];
        let h = UpyAzureHead {
            method: s(b"POST"),
            segments: segs.as_ptr(),
            n_segments: segs.len(),
            raw_path: UpyAzureStr::NONE,
            query: s(b"timeout=60&api-version=2014-01"),
            host: s(b"ns.servicebus.windows.net"),
            token: s(b"SharedAccessSignature sr=a&sig=b&se=1&skn=c"),
            content_type: s(b"application/atom+xml;type=entry;charset=utf-8"),
            partition_key: s(b"k"),
            prefix: UpyAzureStr::NONE,
            properties: props.as_ptr(),
            n_properties: props.len(),
            body_len: 3,
            max_size: 262144,
            keep_alive: true,
        };
        let n = unsafe { upy_azure_head(core::ptr::null_mut(), 0, &h) };
        assert!(n > 0);
        let mut out = std::vec![0u8; n as usize];
        assert_eq!(
            unsafe { upy_azure_head(out.as_mut_ptr(), out.len(), &h) },
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
        let too_small = -(Error::BufferTooSmall.code() as isize);
        assert_eq!(
            unsafe { upy_azure_head(out.as_mut_ptr(), out.len() - 1, &h) },
            too_small
        );
        // A non-NULL pointer with length 0 is a (too small) buffer, not counting.
        assert_eq!(
            unsafe { upy_azure_head(out.as_mut_ptr(), 0, &h) },
            too_small
        );
        assert_eq!(
            unsafe { upy_azure_head(core::ptr::null_mut(), 0, core::ptr::null()) },
            -(Error::InvalidState.code() as isize)
        );
        let big = UpyAzureHead {
            body_len: 262145,
            ..h
        };
        assert_eq!(
            unsafe { upy_azure_head(core::ptr::null_mut(), 0, &big) },
            -(Error::MessageTooLarge.code() as isize)
        );
    }

    #[test]
    fn batch_count_then_write() {
        let props = [s(b"k"), s(b"v")];
        let events: [(&[u8], &[UpyAzureStr<'_>]); 2] = [(b"m1", &[]), (b"m2", &props)];
        let null = core::ptr::null_mut();
        unsafe {
            assert_eq!(
                upy_azure_batch_add(
                    null as *mut Batch,
                    null,
                    0,
                    s(b""),
                    core::ptr::null(),
                    0,
                    UpyAzureStr::NONE
                ),
                -Error::InvalidState.code()
            );
            let mut b = Batch::new(true, 1000);
            assert_eq!(
                upy_azure_batch_finish(&b, null, 0),
                -(Error::EmptyBatch.code() as isize)
            );
            for (body, p) in events {
                assert_eq!(
                    upy_azure_batch_add(
                        &mut b,
                        null,
                        0,
                        s(body),
                        p.as_ptr(),
                        p.len(),
                        UpyAzureStr::NONE
                    ),
                    0
                );
            }
            let n = upy_azure_batch_finish(&b, null, 0);
            assert!(n > 0);
            let mut buf = std::vec![0u8; n as usize];
            let mut w = Batch::new(true, 1000);
            for (body, p) in events {
                assert_eq!(
                    upy_azure_batch_add(
                        &mut w,
                        buf.as_mut_ptr(),
                        buf.len(),
                        s(body),
                        p.as_ptr(),
                        p.len(),
                        UpyAzureStr::NONE
                    ),
                    0
                );
            }
            assert_eq!(
                upy_azure_batch_add(
                    &mut w,
                    buf.as_mut_ptr(),
                    buf.len(),
                    s(b"x"),
                    core::ptr::null(),
                    0,
                    s(b"pk")
                ),
                -Error::InvalidState.code()
            );
            assert_eq!(upy_azure_batch_finish(&w, buf.as_mut_ptr(), buf.len()), n);
            assert_eq!(w.count, 2);
            assert_eq!(
                std::str::from_utf8(&buf).unwrap(),
                r#"[{"body":"bTE="},{"body":"bTI=","properties":{"iothub-app-k":"v"}}]"#
            );
        }
    }

    #[test]
    fn backoff_abi() {
        assert_eq!(upy_azure_backoff_ms(0, 500, 30_000, 0, -1), 0);
        assert_eq!(upy_azure_backoff_ms(0, 500, 30_000, 0, 4), 4000);
    }
}
