//! Epoch conversion and expiry arithmetic. Embedded MicroPython ports count
//! seconds from 2000-01-01; Azure wants seconds from 1970-01-01.

use crate::error::{Error, Result};

/// Seconds from 1970-01-01 to 2000-01-01.
pub const EPOCH_2000_OFFSET: u64 = 946_684_800;

/// 2020-01-01T00:00:00Z. A clock reading earlier than this was not set
/// (a board's RTC restarts at a fixed date after reset).
pub const MIN_PLAUSIBLE_UNIX_TIME: u64 = 1_577_836_800;

/// Unix seconds from a port clock reading and the port's epoch year.
pub fn to_unix(port_seconds: u64, epoch_is_2000: bool) -> Result<u64> {
    if epoch_is_2000 {
        port_seconds
            .checked_add(EPOCH_2000_OFFSET)
            .ok_or(Error::ExpiryOverflow)
    } else {
        Ok(port_seconds)
    }
}

/// True when `unix_now` can be a real, set clock.
pub const fn is_plausible(unix_now: u64) -> bool {
    unix_now >= MIN_PLAUSIBLE_UNIX_TIME
}

/// `now + ttl`, refusing an unset clock and overflow.
pub fn expiry_from_ttl(unix_now: u64, ttl: u64) -> Result<u64> {
    unix_now.checked_add(ttl).ok_or(Error::ExpiryOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs() {
        assert_eq!(to_unix(0, true), Ok(946_684_800));
        assert_eq!(to_unix(5, false), Ok(5));
        assert_eq!(to_unix(u64::MAX, true), Err(Error::ExpiryOverflow));
        // The WiPy's RTC after reset: 2015-01-01 counted from 2000.
        assert!(!is_plausible(to_unix(473_385_600, true).unwrap()));
        assert!(is_plausible(MIN_PLAUSIBLE_UNIX_TIME));
        assert_eq!(expiry_from_ttl(10, 5), Ok(15));
        assert_eq!(expiry_from_ttl(u64::MAX, 1), Err(Error::ExpiryOverflow));
    }
}
