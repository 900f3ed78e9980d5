//! `backoff::delay_ms` (and its C wrapper) with arbitrary arguments: equal
//! to the documented formula computed in 128 bits, within the documented
//! bounds. The clock helpers (`clock::to_unix`, `expiry_from_ttl` and their
//! C wrappers `upy_azure_unix_time` / `upy_azure_expiry`) are exact or
//! report overflow (or an unset clock).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use upy_azure::backoff::{delay_ms, MAX_RETRY_AFTER_MS};
use upy_azure::clock;
use upy_azure::error::Error;
use upy_azure::ffi::auth::{upy_azure_expiry, upy_azure_unix_time};
use upy_azure::ffi::http::upy_azure_backoff_ms;

#[derive(Arbitrary, Debug)]
struct Input {
    attempt: u32,
    base_ms: u32,
    cap_ms: u32,
    random: u32,
    retry_after_s: Option<u32>,
    raw_retry_after: i32,
    port_seconds: u64,
    epoch_is_2000: bool,
    ttl: u64,
}

fuzz_target!(|i: Input| {
    let d = delay_ms(i.attempt, i.base_ms, i.cap_ms, i.random, i.retry_after_s);

    // The documented ceiling, computed in 128 bits (no saturation tricks).
    let grown = if i.attempt >= 128 {
        if i.base_ms == 0 {
            0
        } else {
            u128::MAX
        }
    } else {
        (i.base_ms as u128).saturating_mul(1u128 << i.attempt.min(127))
    };
    let ceiling = grown.min(i.cap_ms as u128) as u32;
    let jitter = if ceiling == u32::MAX {
        i.random
    } else {
        i.random % (ceiling + 1)
    };
    assert!(jitter <= ceiling);
    let want = match i.retry_after_s {
        Some(s) => {
            let floor = (s as u64 * 1000).min(MAX_RETRY_AFTER_MS as u64) as u32;
            assert!(d >= floor, "below the Retry-After floor");
            assert!(d <= ceiling.max(floor));
            jitter.max(floor)
        }
        None => {
            assert!(d <= ceiling);
            jitter
        }
    };
    assert_eq!(d, want, "{i:?}");
    assert!(d <= i.cap_ms.max(MAX_RETRY_AFTER_MS));

    // The C wrapper: a negative retry_after_s is "absent".
    let ra = u32::try_from(i.raw_retry_after).ok();
    assert_eq!(
        upy_azure_backoff_ms(i.attempt, i.base_ms, i.cap_ms, i.random, i.raw_retry_after),
        delay_ms(i.attempt, i.base_ms, i.cap_ms, i.random, ra)
    );

    // Clock arithmetic: never panics, exact when it succeeds.
    match clock::to_unix(i.port_seconds, i.epoch_is_2000) {
        Ok(t) => assert_eq!(
            t as u128,
            i.port_seconds as u128
                + if i.epoch_is_2000 {
                    clock::EPOCH_2000_OFFSET as u128
                } else {
                    0
                }
        ),
        Err(_) => assert!(i.epoch_is_2000),
    }
    match clock::expiry_from_ttl(i.port_seconds, i.ttl) {
        Ok(t) => assert_eq!(t as u128, i.port_seconds as u128 + i.ttl as u128),
        Err(_) => assert!(i.port_seconds.checked_add(i.ttl).is_none()),
    }

    // Their C wrappers: 0 and the value, or -code.
    let mut t = 0xA5A5u64;
    // SAFETY: `t` is live.
    let r = unsafe { upy_azure_unix_time(i.port_seconds, i.epoch_is_2000, &mut t) };
    match clock::to_unix(i.port_seconds, i.epoch_is_2000) {
        Ok(v) => assert_eq!((r, t), (0, v)),
        Err(e) => assert_eq!(r, -e.code()),
    }
    let mut t = 0xA5A5u64;
    // SAFETY: `t` is live.
    let r = unsafe { upy_azure_expiry(i.port_seconds, i.ttl, &mut t) };
    if i.port_seconds < clock::MIN_PLAUSIBLE_UNIX_TIME {
        assert_eq!(r, -Error::ClockNotSet.code());
    } else {
        match i.port_seconds.checked_add(i.ttl) {
            Some(v) => assert_eq!((r, t), (0, v)),
            None => assert_eq!(r, -Error::ExpiryOverflow.code()),
        }
    }
});
