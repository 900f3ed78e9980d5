//! RFC 3986 percent-encoding with uppercase hex: every byte outside the
//! unreserved set `A-Z a-z 0-9 - . _ ~` becomes `%XX`. Byte-identical to
//! Python's `urllib.parse.quote(s, safe="")`.

use crate::error::Result;
use crate::writer::Writer;

/// Uppercase hex digit of the low nibble of `n`.
pub const fn hex_digit(n: u8) -> u8 {
    let n = n & 0x0f;
    if n < 10 {
        b'0' + n
    } else {
        b'A' + n - 10
    }
}

pub const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Length of `input` once encoded.
pub fn encoded_len(input: &[u8]) -> usize {
    input
        .iter()
        .map(|&b| if is_unreserved(b) { 1 } else { 3 })
        .sum()
}

/// Appends the encoding of `input` to `w`.
pub fn encode_into(w: &mut Writer<'_>, input: &[u8]) -> Result<()> {
    for &b in input {
        if is_unreserved(b) {
            w.push_byte(b)?;
        } else {
            w.push(&[b'%', hex_digit(b >> 4), hex_digit(b)])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn enc(s: &[u8]) -> std::vec::Vec<u8> {
        let mut b = [0u8; 1024];
        let mut w = Writer::new(&mut b);
        encode_into(&mut w, s).unwrap();
        assert_eq!(w.len(), encoded_len(s));
        w.written().to_vec()
    }

    #[test]
    fn matches_quote_safe_empty() {
        assert_eq!(enc(b"endpoint/hub"), b"endpoint%2Fhub");
        assert_eq!(
            enc(b"https://a.b/c d+e=f~g_h-i.j"),
            b"https%3A%2F%2Fa.b%2Fc%20d%2Be%3Df~g_h-i.j".to_vec()
        );
        assert_eq!(enc("é€".as_bytes()), b"%C3%A9%E2%82%AC");
        assert_eq!(enc(b"\x00\xff"), b"%00%FF");
    }

    #[test]
    fn too_small() {
        let mut b = [0u8; 2];
        let mut w = Writer::new(&mut b);
        assert_eq!(encode_into(&mut w, b"/"), Err(Error::BufferTooSmall));
    }
}
