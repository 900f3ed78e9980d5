//! Exponential backoff with full jitter, capped, honouring `Retry-After`.

/// The longest `Retry-After` honoured (2 minutes): a wrong or hostile
/// header cannot park the device for hours.
pub const MAX_RETRY_AFTER_MS: u32 = 120_000;

/// Milliseconds to wait before retry number `attempt` (0 for the first).
///
/// `ceiling = min(cap_ms, base_ms * 2^attempt)` (saturating), then
/// `delay = random % (ceiling + 1)` (full jitter: uniform in `0..=ceiling`).
/// With `retry_after_s`, the delay is at least
/// `min(retry_after_s * 1000, MAX_RETRY_AFTER_MS)`, so the result never
/// exceeds `max(cap_ms, MAX_RETRY_AFTER_MS)`.
pub fn delay_ms(
    attempt: u32,
    base_ms: u32,
    cap_ms: u32,
    random: u32,
    retry_after_s: Option<u32>,
) -> u32 {
    let grown = match 1u32.checked_shl(attempt) {
        Some(m) => base_ms.saturating_mul(m),
        None if base_ms == 0 => 0,
        None => u32::MAX,
    };
    let ceiling = grown.min(cap_ms);
    let delay = match ceiling.checked_add(1) {
        Some(n) => random % n,
        None => random,
    };
    match retry_after_s {
        Some(s) => delay.max(s.saturating_mul(1000).min(MAX_RETRY_AFTER_MS)),
        None => delay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grows_then_caps() {
        // random = u32::MAX picks the top of the range when it divides evenly.
        assert_eq!(delay_ms(0, 500, 30_000, 500, None), 500);
        assert_eq!(delay_ms(1, 500, 30_000, 1000, None), 1000);
        assert_eq!(delay_ms(3, 500, 30_000, 4000, None), 4000);
        assert_eq!(delay_ms(3, 500, 30_000, 4001, None), 0);
        assert_eq!(delay_ms(10, 500, 30_000, 30_000, None), 30_000);
        assert_eq!(delay_ms(40, 500, 30_000, 30_000, None), 30_000);
        assert_eq!(delay_ms(40, 0, 30_000, 12345, None), 0);
        assert_eq!(delay_ms(5, 500, u32::MAX, u32::MAX, None), u32::MAX % 16001);
        assert_eq!(delay_ms(99, 1, u32::MAX, u32::MAX, None), u32::MAX);
        assert_eq!(delay_ms(0, 500, 0, 7, None), 0);
    }

    #[test]
    fn retry_after_is_a_floor() {
        assert_eq!(delay_ms(0, 500, 30_000, 0, Some(4)), 4000);
        assert_eq!(delay_ms(0, 500, 30_000, 300, Some(0)), 300);
        assert_eq!(delay_ms(9, 500, 30_000, 29_000, Some(4)), 29_000);
        assert_eq!(delay_ms(0, 500, 30_000, 0, Some(3600)), MAX_RETRY_AFTER_MS);
        assert_eq!(
            delay_ms(0, 500, 30_000, 0, Some(u32::MAX)),
            MAX_RETRY_AFTER_MS
        );
    }

    proptest! {
        #[test]
        fn within_bounds(attempt: u32, base: u32, cap: u32, random: u32, ra: Option<u32>) {
            let d = delay_ms(attempt, base, cap, random, ra);
            let ceiling = base.saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX)).min(cap);
            let ceiling = if attempt >= 32 && base > 0 { cap } else { ceiling };
            match ra {
                None => prop_assert!(d <= ceiling),
                Some(s) => {
                    let floor = s.saturating_mul(1000).min(MAX_RETRY_AFTER_MS);
                    prop_assert!(d >= floor);
                    prop_assert!(d <= ceiling.max(floor));
                }
            }
            prop_assert!(d <= cap.max(MAX_RETRY_AFTER_MS));
        }
    }

    /// `Retry-After` seconds whose product with 1000 overflows 32 bits: a
    /// wrapping multiply would give a small delay (4_294_968 * 1000 wraps
    /// to 704), the saturating one the 120 s cap.
    #[test]
    fn retry_after_that_would_wrap_is_capped() {
        for s in [
            4_294_967,
            4_294_968,
            4_295_000,
            8_589_935,
            0x7FFF_FFFF,
            0x8000_0000,
            u32::MAX - 1,
        ] {
            assert_eq!(
                delay_ms(0, 500, 30_000, 0, Some(s)),
                MAX_RETRY_AFTER_MS,
                "{s}"
            );
            assert_eq!(
                delay_ms(3, 500, 30_000, 3999, Some(s)),
                MAX_RETRY_AFTER_MS,
                "{s}"
            );
        }
        // Just below the cap and just above it.
        assert_eq!(delay_ms(0, 500, 30_000, 0, Some(119)), 119_000);
        assert_eq!(delay_ms(0, 500, 30_000, 0, Some(120)), 120_000);
        assert_eq!(delay_ms(0, 500, 30_000, 0, Some(121)), MAX_RETRY_AFTER_MS);
    }
}
