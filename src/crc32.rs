//! CRC-32 (IEEE 802.3: the CRC of zlib, PNG and `binascii.crc32`), used to
//! frame the outbox's records on flash so that a torn or corrupt tail is
//! recognised after a power cut.
//!
//! Bitwise, without the usual 1 KB table: on the WiPy every byte of code
//! is also a byte of heap, and records are a few hundred bytes.

/// Continues `crc` (0 to start) over `data`: `update(update(0, a), b)` equals
/// `update(0, a ++ b)`.
pub fn update(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            // Subtract-and-mask instead of a branch: 0xEDB88320 when the low bit is set.
            c = (c >> 1) ^ (0xEDB8_8320 & (c & 1).wrapping_neg());
        }
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::update;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        // The standard check value, and values from zlib.crc32.
        assert_eq!(update(0, b"123456789"), 0xCBF4_3926);
        assert_eq!(update(0, b""), 0);
        assert_eq!(update(0, b"a"), 0xE8B7_BE43);
        assert_eq!(
            update(0, b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
        assert_eq!(update(0, &[0u8; 32]), 0x190A_55AD);
        assert_eq!(update(0, &[0xffu8; 32]), 0xFF6C_AB0B);
    }

    /// Bytewise reference with a table built at test time.
    fn reference(data: &[u8]) -> u32 {
        let mut table = [0u32; 256];
        for (i, t) in table.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *t = c;
        }
        !data.iter().fold(!0u32, |c, &b| {
            table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
        })
    }

    proptest! {
        #[test]
        fn matches_table_and_continues(a in proptest::collection::vec(any::<u8>(), 0..300),
                                       b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut ab = a.clone();
            ab.extend_from_slice(&b);
            prop_assert_eq!(update(0, &ab), reference(&ab));
            prop_assert_eq!(update(update(0, &a), &b), update(0, &ab));
        }
    }
}
