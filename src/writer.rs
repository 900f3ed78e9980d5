//! A cursor over a caller-provided output buffer (the "remainder" idiom of
//! azure-sdk-for-c): every write checks for room and fails with
//! `BufferTooSmall` instead of panicking.

use crate::error::{Error, Result};

pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or(&[])
    }

    /// The bytes written since `start` (a value of `len()` taken earlier).
    pub fn written_since(&self, start: usize) -> &[u8] {
        self.buf.get(start..self.pos).unwrap_or(&[])
    }

    pub fn push(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(Error::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(Error::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    pub fn push_byte(&mut self, b: u8) -> Result<()> {
        let dst = self.buf.get_mut(self.pos).ok_or(Error::BufferTooSmall)?;
        *dst = b;
        self.pos += 1;
        Ok(())
    }

    /// Decimal digits of `n`, without `core::fmt` and without 64-bit
    /// division (which would link libgcc's `__aeabi_uldivmod` on Cortex-M):
    /// long division by 10 over four 16-bit limbs, 32-bit arithmetic only.
    pub fn push_u64(&mut self, n: u64) -> Result<()> {
        let mut limbs = [
            (n >> 48) as u32,
            (n >> 32) as u32 & 0xffff,
            (n >> 16) as u32 & 0xffff,
            n as u32 & 0xffff,
        ];
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            let mut rem = 0u32;
            for limb in limbs.iter_mut() {
                let cur = rem << 16 | *limb;
                *limb = cur / 10;
                rem = cur % 10;
            }
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + rem as u8;
            }
            if limbs == [0; 4] || i == 0 {
                break;
            }
        }
        self.push(digits.get(i..).unwrap_or(&[]))
    }

    /// Reserves `n` bytes and returns them for in-place writing.
    pub fn reserve(&mut self, n: usize) -> Result<&mut [u8]> {
        let end = self.pos.checked_add(n).ok_or(Error::BufferTooSmall)?;
        let start = self.pos;
        let dst = self.buf.get_mut(start..end).ok_or(Error::BufferTooSmall)?;
        self.pos = end;
        Ok(dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_and_overflow() {
        let mut b = [0u8; 4];
        let mut w = Writer::new(&mut b);
        w.push(b"ab").unwrap();
        w.push_byte(b'c').unwrap();
        assert_eq!(w.push(b"de"), Err(Error::BufferTooSmall));
        w.push_byte(b'd').unwrap();
        assert_eq!(w.push_byte(b'e'), Err(Error::BufferTooSmall));
        assert_eq!(w.written(), b"abcd");
    }

    #[test]
    fn decimal() {
        for (n, s) in [
            (0u64, "0"),
            (7, "7"),
            (2147483648, "2147483648"),
            (4294967296, "4294967296"),
            (u64::MAX, "18446744073709551615"),
        ] {
            let mut b = [0u8; 20];
            let mut w = Writer::new(&mut b);
            w.push_u64(n).unwrap();
            assert_eq!(w.written(), s.as_bytes());
        }
    }
}
