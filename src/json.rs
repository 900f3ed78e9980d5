//! JSON string escaping (RFC 8259) for batch bodies and the
//! `BrokerProperties` header, written to a [`Sink`].

use crate::error::{Error, Result};
use crate::percent::hex_digit;
use crate::writer::Sink;

/// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
/// (Smaller than `core::str::from_utf8`, which matters in the firmware.)
pub fn is_utf8(s: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        i += 1;
        if b < 0x80 {
            continue;
        }
        let (n, min) = match b {
            0xC2..=0xDF => (1, 0x80),
            0xE0..=0xEF => (2, 0x800),
            0xF0..=0xF4 => (3, 0x10000),
            _ => return false,
        };
        let mut c = u32::from(b & (0x3F >> n));
        for _ in 0..n {
            match s.get(i) {
                Some(&x) if x & 0xC0 == 0x80 => c = (c << 6) | u32::from(x & 0x3F),
                _ => return false,
            }
            i += 1;
        }
        if c < min || c > 0x10FFFF || (0xD800..=0xDFFF).contains(&c) {
            return false;
        }
    }
    true
}

/// Writes `input` escaped as the inside of a JSON string (no quotes):
/// `"` and `\` get a backslash, control characters below 0x20 become
/// `\b \t \n \f \r` or `\u00XX`, everything else (UTF-8 included) is copied.
/// `input` must be valid UTF-8, else `InvalidUtf8` (and nothing is written).
pub fn escape_into(s: &mut Sink<'_>, input: &[u8]) -> Result<()> {
    if !is_utf8(input) {
        return Err(Error::InvalidUtf8);
    }
    let mut start = 0;
    for (i, &b) in input.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        // Copy the plain run before this byte in one go.
        s.push(input.get(start..i).unwrap_or(&[]));
        start = i + 1;
        let short = match b {
            b'"' | b'\\' => b,
            8 => b'b',
            9 => b't',
            10 => b'n',
            12 => b'f',
            13 => b'r',
            _ => 0,
        };
        if short != 0 {
            s.push(&[b'\\', short]);
        } else {
            s.push(&[b'\\', b'u', b'0', b'0', hex_digit(b >> 4), hex_digit(b)]);
        }
    }
    s.push(input.get(start..).unwrap_or(&[]));
    Ok(())
}

/// Exact length of `input` once escaped by [`escape_into`] (no quotes).
pub fn escaped_len(input: &[u8]) -> Result<usize> {
    let mut s = Sink::counter();
    escape_into(&mut s, input)?;
    s.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn esc(input: &[u8]) -> Result<std::vec::Vec<u8>> {
        let mut b = std::vec![0u8; input.len() * 6 + 1];
        let mut s = Sink::new(&mut b);
        escape_into(&mut s, input)?;
        let n = s.finish().unwrap();
        assert_eq!(escaped_len(input), Ok(n));
        Ok(b[..n].to_vec())
    }

    /// A strict decoder of the inside of a JSON string, for the round trip.
    pub(crate) fn unescape(s: &[u8]) -> Option<std::vec::Vec<u8>> {
        let mut out = std::vec::Vec::new();
        let mut i = 0;
        while i < s.len() {
            let b = s[i];
            i += 1;
            match b {
                b'"' => return None,
                0..=0x1f => return None,
                b'\\' => {
                    let e = *s.get(i)?;
                    i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b't' => out.push(9),
                        b'n' => out.push(10),
                        b'f' => out.push(12),
                        b'r' => out.push(13),
                        b'u' => {
                            let hex = std::str::from_utf8(s.get(i..i + 4)?).ok()?;
                            i += 4;
                            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                }
                _ => out.push(b),
            }
        }
        Some(out)
    }

    #[test]
    fn escapes() {
        assert_eq!(esc(b"plain").unwrap(), b"plain");
        assert_eq!(esc(b"").unwrap(), b"");
        assert_eq!(esc(b"a\"b\\c").unwrap(), br#"a\"b\\c"#);
        assert_eq!(
            esc(b"\x08\x09\x0a\x0c\x0d").unwrap(),
            br#"\b\t\n\f\r"#.to_vec()
        );
        assert_eq!(
            esc(b"\x00\x01\x0b\x1f\x7f").unwrap(),
            b"\\u0000\\u0001\\u000B\\u001F\x7f".to_vec()
        );
        assert_eq!(esc("é€😀/".as_bytes()).unwrap(), "é€😀/".as_bytes());
    }

    #[test]
    fn invalid_utf8() {
        for bad in [&b"\xff"[..], b"a\xc3", b"\xed\xa0\x80", b"\xc0\xaf"] {
            assert_eq!(esc(bad), Err(Error::InvalidUtf8));
            assert_eq!(escaped_len(bad), Err(Error::InvalidUtf8));
        }
    }

    #[test]
    fn sink_full() {
        let mut b = [0u8; 3];
        let mut s = Sink::new(&mut b);
        assert_eq!(escape_into(&mut s, b"ab\n"), Ok(()));
        assert_eq!(s.finish(), Err(Error::BufferTooSmall));
        // Nothing after the first failure is written, even if it would fit.
        s.push(b"");
        s.push_byte(b'x');
        assert_eq!((s.len(), s.finish()), (2, Err(Error::BufferTooSmall)));
        let mut c = Sink::counter();
        c.push_u64(12345);
        c.push_byte(b'x');
        c.push_percent(b"a/");
        c.push_base64(b"ab");
        assert_eq!(c.finish(), Ok(14));
        c.push(&b[..]);
        c.put(usize::MAX, |_| Ok(()));
        assert_eq!(c.finish(), Err(Error::BufferTooSmall));
    }

    proptest! {
        #[test]
        fn round_trip(s in any::<std::string::String>()) {
            let e = esc(s.as_bytes()).unwrap();
            prop_assert!(e.iter().all(|&b| b >= 0x20));
            prop_assert_eq!(unescape(&e).unwrap(), s.as_bytes().to_vec());
        }

        #[test]
        fn base64_matches_the_crate(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            use base64::Engine;
            let mut buf = [0u8; 64];
            let n = base64::engine::general_purpose::STANDARD.encode_slice(&b, &mut buf).unwrap();
            let want = std::str::from_utf8(&buf[..n]).unwrap();
            let mut out = std::vec![0u8; want.len() + 1];
            let mut s = Sink::new(&mut out);
            s.push_base64(&b);
            prop_assert_eq!(s.finish(), Ok(want.len()));
            prop_assert_eq!(&out[..want.len()], want.as_bytes());
            let mut c = Sink::counter();
            c.push_base64(&b);
            prop_assert_eq!(c.finish(), Ok(want.len()));
        }

        #[test]
        fn utf8_check_matches_core(b in proptest::collection::vec(any::<u8>(), 0..16)) {
            prop_assert_eq!(is_utf8(&b), std::str::from_utf8(&b).is_ok());
        }

        #[test]
        fn utf8_check_on_near_valid(s in any::<std::string::String>(), i in any::<usize>(), x in any::<u8>()) {
            let mut b = s.into_bytes();
            prop_assert!(is_utf8(&b));
            if !b.is_empty() {
                let n = b.len();
                b[i % n] = x;
                prop_assert_eq!(is_utf8(&b), std::str::from_utf8(&b).is_ok());
                b.truncate(i % n);
                prop_assert_eq!(is_utf8(&b), std::str::from_utf8(&b).is_ok());
            }
        }

        #[test]
        fn bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let ok = std::str::from_utf8(&b).is_ok();
            match esc(&b) {
                Ok(e) => {
                    prop_assert!(ok);
                    prop_assert_eq!(unescape(&e).unwrap(), b);
                }
                Err(e) => {
                    prop_assert!(!ok);
                    prop_assert_eq!(e, Error::InvalidUtf8);
                }
            }
        }
    }

    #[test]
    fn utf8_boundaries() {
        for ok in [
            &b"\x7f"[..],
            b"\xc2\x80",
            b"\xe0\xa0\x80",
            b"\xf0\x90\x80\x80",
            b"\xf4\x8f\xbf\xbf",
        ] {
            assert!(is_utf8(ok), "{ok:x?}");
        }
        for bad in [
            &b"\x80"[..],
            b"\xc1\xbf",
            b"\xe0\x9f\xbf",
            b"\xf0\x8f\xbf\xbf",
            b"\xf4\x90\x80\x80",
            b"\xed\xa0\x80",
        ] {
            assert!(!is_utf8(bad), "{bad:x?}");
        }
    }
}
