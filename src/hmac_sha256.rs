//! HMAC-SHA256 (RFC 2104) over `sha2::compress256`: the SHA-256 compression
//! function from the `sha2` crate (its compact form), with the padding and
//! the HMAC construction written here. The `hmac`/`digest` wrappers cost
//! about a kilobyte of generic code in the WiPy firmware; this costs a few
//! hundred bytes. The tests check it against RFC 4231 and the `hmac` crate.

use sha2::digest::consts::U64;
use sha2::digest::generic_array::GenericArray;

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Streaming SHA-256.
#[derive(Clone)]
pub struct Sha256 {
    state: [u32; 8],
    block: GenericArray<u8, U64>,
    fill: usize,
    bytes: u64,
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha256 {
    pub fn new() -> Self {
        Sha256 {
            state: H0,
            block: GenericArray::default(),
            fill: 0,
            bytes: 0,
        }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.block.get_mut(self.fill) {
            *slot = b;
        }
        self.fill += 1;
        if self.fill == 64 {
            sha2::compress256(&mut self.state, core::slice::from_ref(&self.block));
            self.fill = 0;
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.bytes = self.bytes.wrapping_add(data.len() as u64);
        let mut rest = data;
        // Whole runs into the block buffer (zip: no bounds checks), one
        // compression per full block.
        while !rest.is_empty() {
            let mut n = 0;
            for (slot, &b) in self.block.iter_mut().skip(self.fill).zip(rest) {
                *slot = b;
                n += 1;
            }
            self.fill += n;
            rest = rest.get(n..).unwrap_or(&[]);
            if self.fill >= 64 {
                sha2::compress256(&mut self.state, core::slice::from_ref(&self.block));
                self.fill = 0;
            }
        }
    }

    pub fn finalize(mut self) -> [u8; 32] {
        self.finish()
    }

    /// Pads and returns the digest; `self` is spent (and wiped on drop).
    fn finish(&mut self) -> [u8; 32] {
        let bits = self.bytes.wrapping_mul(8);
        self.push(0x80);
        while self.fill != 56 {
            self.push(0);
        }
        for b in bits.to_be_bytes() {
            self.push(b);
        }
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(self.state.iter()) {
            // (zip, not copy_from_slice: no length-mismatch panic path)
            for (d, b) in o.iter_mut().zip(w.to_be_bytes()) {
                *d = b;
            }
        }
        out
    }
}

/// The state after the key block is key-equivalent (it signs like the key):
/// wiped when dropped, with the buffer.
impl Drop for Sha256 {
    fn drop(&mut self) {
        crate::wipe::wipe_words(&mut self.state);
        crate::wipe::wipe(&mut self.block);
    }
}

/// HMAC-SHA256 with a key of any length (longer than 64 bytes: hashed first).
pub struct HmacSha256 {
    inner: Sha256,
    outer: Sha256,
}

impl HmacSha256 {
    pub fn new(key: &[u8]) -> Self {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            let mut h = Sha256::new();
            h.update(key);
            let d = h.finalize();
            for (slot, b) in k.iter_mut().zip(d) {
                *slot = b;
            }
        } else {
            for (slot, &b) in k.iter_mut().zip(key) {
                *slot = b;
            }
        }
        let mut inner = Sha256::new();
        let mut outer = Sha256::new();
        for &b in &k {
            inner.push(b ^ 0x36);
            outer.push(b ^ 0x5c);
        }
        inner.bytes = 64;
        outer.bytes = 64;
        crate::wipe::wipe(&mut k);
        HmacSha256 { inner, outer }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    pub fn finalize(mut self) -> [u8; 32] {
        let inner = self.inner.finish();
        self.outer.update(&inner);
        self.outer.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn mac(key: &[u8], data: &[u8]) -> String {
        let mut m = HmacSha256::new(key);
        m.update(data);
        hex(&m.finalize())
    }

    // RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (6 and 7: a 131-byte key,
    // the "hash the key first" path).
    #[test]
    fn rfc4231() {
        let cases: [(&[u8], &[u8], &str); 6] = [
            (&[0x0b; 20], b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (&[0xaa; 20], &[0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (
                &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
                &[0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                &[0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, data, want) in cases {
            assert_eq!(mac(key, data), want);
        }
    }

    #[test]
    fn sha256_known() {
        let mut h = Sha256::new();
        h.update(b"abc");
        assert_eq!(
            hex(&h.finalize()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let h = Sha256::new();
        assert_eq!(
            hex(&h.finalize()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    proptest! {
        #[test]
        fn matches_the_hmac_crate(key in proptest::collection::vec(any::<u8>(), 0..200),
                                  data in proptest::collection::vec(any::<u8>(), 0..300),
                                  split in 0usize..300) {
            let mut want = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
            want.update(&data);
            let mut got = HmacSha256::new(&key);
            let cut = split.min(data.len());
            got.update(&data[..cut]);
            got.update(&data[cut..]);
            prop_assert_eq!(got.finalize().to_vec(), want.finalize().into_bytes().to_vec());
        }
    }

    /// Keys one byte short of, exactly and one byte over the SHA-256 block
    /// (64 bytes): 65 bytes is the first length hashed first, 64 is padded.
    /// Expected values from CPython's `hmac` (key byte i = (7 * i + 1) & 0xff).
    #[test]
    fn block_size_key_boundaries() {
        let data: &[u8] = b"sr=https%3A%2F%2Fns.servicebus.windows.net%2Fhub\n1700000000";
        let cases: [(usize, &str, &str); 3] = [
            (
                63,
                "963cfdc4e92b3d20fb3ba0d72d3d25e9fac674e6b5ca3e963e7aca7342fafd55",
                "1de02d1a74433fad26d693db10c93a0613d59ed663b5f745bed70668848e63ef",
            ),
            (
                64,
                "e85cffc652260de36a1ddbb0cac32dc4cf975b7cdbc0468fc61847947ba83b25",
                "c4c0ee9cb0eb92d929a76e319707d82073b53f9c45542d9726007f62d6397308",
            ),
            (
                65,
                "d8dcfa9ddfed8fd078bb0531ba6f4ac3d4fee7417a621c4bc380f0b6e83894eb",
                "520308ab14cc2b3e17a5011a93a5657b31ffade0709ab7754a50b2ab40637e58",
            ),
        ];
        for (n, empty, signed) in cases {
            let key: Vec<u8> = (0..n).map(|i| (i * 7 + 1) as u8).collect();
            assert_eq!(mac(&key, b""), empty, "{n}-byte key, empty message");
            assert_eq!(mac(&key, data), signed, "{n}-byte key");
        }
    }

    /// SECURITY.md: the HMAC's key-equivalent SHA-256 states are wiped when
    /// dropped. Dropped in place in storage the test keeps, then read back.
    /// (Found by cargo-mutants: `Drop::drop` replaced with `()` survived.)
    #[test]
    fn drop_wipes_the_key_equivalent_state() {
        let key = [0x5au8; 32];
        let mut slot = core::mem::MaybeUninit::new(HmacSha256::new(&key));
        let p = slot.as_mut_ptr();
        // SAFETY: `p` points to an initialised value that is dropped once,
        // in place; afterwards only its plain integer fields are read, from
        // storage that `slot` still owns (it never drops its contents).
        unsafe {
            let words =
                |s: *const Sha256| core::ptr::read_volatile(core::ptr::addr_of!((*s).state));
            let block = |s: *const Sha256| {
                core::ptr::read_volatile(core::ptr::addr_of!((*s).block)).to_vec()
            };
            let inner = core::ptr::addr_of!((*p).inner);
            let outer = core::ptr::addr_of!((*p).outer);
            (*p).update(b"part of a block");
            assert!(words(inner).iter().any(|&w| w != 0));
            assert!(words(outer).iter().any(|&w| w != 0));
            assert!(block(inner).iter().any(|&b| b != 0));
            core::ptr::drop_in_place(p);
            for s in [inner, outer] {
                assert_eq!(words(s), [0u32; 8]);
                assert!(block(s).iter().all(|&b| b == 0));
            }
        }
    }
}
