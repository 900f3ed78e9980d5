//! HTTP helpers shared by the request framer, the response reader and the
//! connection-string parser: what a token, a header value and a host are.

use crate::error::{Error, Result};

/// RFC 7230 `tchar`.
pub fn is_tchar(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'!' | b'#'..=b'\'' | b'*' | b'+'
        | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// A non-empty RFC 7230 token (a method, a header name).
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// A DNS name or address with an optional port: letters, digits, `-`, `.`,
/// `:` and `_`.
pub fn valid_host(host: &[u8]) -> bool {
    !host.is_empty()
        && host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'_'))
}

/// A header value: visible ASCII, space and tab only (no CR, LF, NUL, DEL,
/// other controls or bytes above 0x7E); empty only if `may_be_empty`.
#[inline(never)]
pub fn check_value(v: &[u8], may_be_empty: bool) -> Result<()> {
    if (may_be_empty || !v.is_empty())
        && v.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        Ok(())
    } else {
        Err(Error::InvalidHeaderValue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_hosts_values() {
        assert!(is_token(b"POST") && is_token(b"x-ms-a!#$%&'*+-.^_`|~"));
        for bad in [
            &b""[..],
            b"a b",
            b"a:b",
            b"a\r",
            b"\xc3\xa9",
            b"(x)",
            b"a/b",
        ] {
            assert!(!is_token(bad), "{bad:?}");
        }
        assert!(valid_host(b"ns.servicebus.windows.net") && valid_host(b"127.0.0.1:8443"));
        for bad in [&b""[..], b"a b", b"a/b", b"a\r\n", b"h@x"] {
            assert!(!valid_host(bad), "{bad:?}");
        }
        assert_eq!(check_value(b"a b\tc~", false), Ok(()));
        assert_eq!(check_value(b"", true), Ok(()));
        for bad in [&b""[..], b"a\rb", b"a\nb", b"\0", b"\x7f", b"\xc3\xa9"] {
            assert_eq!(check_value(bad, false), Err(Error::InvalidHeaderValue));
        }
    }
}
