//! Standard base64 (RFC 4648, `+` `/` and `=` padding), written here rather
//! than taken from the base64 crate: a few hundred bytes less on the WiPy,
//! whose firmware budget is counted in bytes, and no panic path.

use crate::error::{Error, Result};
use crate::writer::Writer;

/// The character for a 6-bit value (computed: no table).
pub const fn digit(v: u8) -> u8 {
    match v & 63 {
        v @ 0..=25 => b'A' + v,
        v @ 26..=51 => b'a' + (v - 26),
        v @ 52..=61 => b'0' + (v - 52),
        62 => b'+',
        _ => b'/',
    }
}

/// The 6-bit value of a character, or None outside the alphabet.
const fn value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// Length of the encoding of `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Appends the encoding of `data` to `w`.
pub fn encode_into(w: &mut Writer<'_>, data: &[u8]) -> Result<()> {
    for group in data.chunks(3) {
        let b = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
        let n = b(0) << 16 | b(1) << 8 | b(2);
        let mut out = [b'='; 4];
        for (i, o) in out.iter_mut().enumerate().take(group.len() + 1) {
            *o = digit((n >> (18 - 6 * i)) as u8);
        }
        w.push(&out)?;
    }
    Ok(())
}

/// Decodes `input` into `out`; returns the decoded length. Like Python's
/// `base64.b64decode` on canonical input; padding is required, and
/// characters outside the alphabet are an error (Python skips them).
pub fn decode(input: &[u8], out: &mut [u8]) -> Result<usize> {
    if input.is_empty() || !input.len().is_multiple_of(4) {
        return Err(Error::InvalidBase64Key);
    }
    let mut w = Writer::new(out);
    let last = input.len() / 4 - 1;
    for (i, quad) in input.chunks(4).enumerate() {
        let mut n = 0u32;
        let mut pad = 0usize;
        for &c in quad {
            let v = match value(c) {
                Some(v) if pad == 0 => v,
                None if c == b'=' && i == last => {
                    pad += 1;
                    0
                }
                _ => return Err(Error::InvalidBase64Key),
            };
            n = n << 6 | v;
        }
        if pad > 2 {
            return Err(Error::InvalidBase64Key);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        w.push(bytes.get(..3 - pad).unwrap_or(&[]))
            .map_err(|_| Error::KeyTooLong)?;
    }
    Ok(w.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use proptest::prelude::*;

    fn dec(s: &[u8]) -> Result<std::vec::Vec<u8>> {
        let mut out = [0u8; 300];
        decode(s, &mut out).map(|n| out[..n].to_vec())
    }

    #[test]
    fn known() {
        assert_eq!(dec(b"a2V5").unwrap(), b"key");
        assert_eq!(dec(b"a2V5a2U=").unwrap(), b"keyke");
        assert_eq!(dec(b"a2V5aw==").unwrap(), b"keyk");
        for bad in [
            &b""[..],
            b"a2V",
            b"a2V5=",
            b"====",
            b"a===",
            b"a=V5",
            b"a2V5aw==a2V5",
            b"a2V!",
            b"a2 5",
        ] {
            assert_eq!(dec(bad), Err(Error::InvalidBase64Key), "{bad:?}");
        }
        let mut small = [0u8; 2];
        assert_eq!(decode(b"a2V5", &mut small), Err(Error::KeyTooLong));
    }

    proptest! {
        #[test]
        fn matches_the_base64_crate(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let want = base64::engine::general_purpose::STANDARD.encode(&b);
            let mut buf = [0u8; 300];
            let mut w = Writer::new(&mut buf);
            encode_into(&mut w, &b).unwrap();
            prop_assert_eq!(w.written(), want.as_bytes());
            prop_assert_eq!(encoded_len(b.len()), want.len());
            if !b.is_empty() {
                prop_assert_eq!(dec(want.as_bytes()).unwrap(), b);
            }
        }

        #[test]
        fn decode_never_panics(s in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut out = [0u8; 48];
            let _ = decode(&s, &mut out);
        }
    }
}
