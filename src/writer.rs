//! A cursor over a caller-provided output buffer (the "remainder" idiom of
//! azure-sdk-for-c): every write checks for room and fails with
//! `BufferTooSmall` instead of panicking. And [`Sink`], the output every
//! framing function writes to: a [`Writer`], or a counter, so that one code
//! path gives both the exact length and the bytes.

use crate::error::{Error, Result};
use crate::percent;

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
        // zip, not copy_from_slice: at opt-level "z" the compiler keeps
        // copy_from_slice's length-mismatch panic (make panic-free).
        for (d, s) in dst.iter_mut().zip(bytes) {
            *d = *s;
        }
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
}

/// Where framing code writes: a [`Writer`] over the caller's buffer, or
/// nothing at all (counting mode: only the length is kept).
///
/// Writes do not return errors: the first failure (the buffer is full, or
/// the count passes `usize`) makes the sink drop everything after it, and
/// [`Sink::finish`] reports it as `BufferTooSmall`. The framing code stays
/// straight-line, with no error branch per piece.
pub struct Sink<'a> {
    w: Option<Writer<'a>>,
    counted: usize,
    full: bool,
}

impl<'a> Sink<'a> {
    /// A sink that writes nothing and counts the bytes.
    pub fn counter() -> Self {
        Self::from_option(None)
    }

    /// A sink writing into `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self::from_option(Some(buf))
    }

    /// Counts when `buf` is `None` (the C ABI's NULL buffer), else writes.
    pub fn from_option(buf: Option<&'a mut [u8]>) -> Self {
        Sink {
            w: buf.map(Writer::new),
            counted: 0,
            full: false,
        }
    }

    /// Bytes written (or counted) so far.
    pub fn len(&self) -> usize {
        match &self.w {
            Some(w) => w.len(),
            None => self.counted,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The length, or `BufferTooSmall` if anything did not fit.
    pub fn finish(&self) -> Result<usize> {
        if self.full {
            Err(Error::BufferTooSmall)
        } else {
            Ok(self.len())
        }
    }

    /// Writes with `write`, or counts `n` bytes in counting mode.
    pub(crate) fn put(&mut self, n: usize, write: impl FnOnce(&mut Writer<'a>) -> Result<()>) {
        if self.full {
            return;
        }
        let r = match self.w.as_mut() {
            Some(w) => write(w),
            None => match self.counted.checked_add(n) {
                Some(c) => {
                    self.counted = c;
                    Ok(())
                }
                None => Err(Error::BufferTooSmall),
            },
        };
        self.full = r.is_err();
    }

    #[inline(never)]
    pub fn push(&mut self, bytes: &[u8]) {
        self.put(bytes.len(), |w| w.push(bytes));
    }

    pub fn push_byte(&mut self, b: u8) {
        self.push(core::slice::from_ref(&b));
    }

    /// Decimal digits of `n`.
    pub fn push_u64(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let mut d = Writer::new(&mut digits);
        // 20 digits always fit.
        let _ = d.push_u64(n);
        self.push(d.written());
    }

    /// `bytes` percent-encoded ([`percent::encode_into`]).
    pub fn push_percent(&mut self, bytes: &[u8]) {
        self.put(percent::encoded_len(bytes), |w| {
            percent::encode_into(w, bytes)
        });
    }

    /// Standard base64 of `data`, with padding (RFC 4648). Written here
    /// rather than with the base64 crate: a few instructions, no panic path.
    pub fn push_base64(&mut self, data: &[u8]) {
        for group in data.chunks(3) {
            let b = |i: usize| group.get(i).copied().unwrap_or(0);
            let n = u32::from(b(0)) << 16 | u32::from(b(1)) << 8 | u32::from(b(2));
            let mut out = [b'='; 4];
            for (i, o) in out.iter_mut().enumerate().take(group.len() + 1) {
                *o = crate::b64::digit((n >> (18 - 6 * i)) as u8);
            }
            self.push(&out);
        }
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

    #[test]
    fn empty_until_written() {
        let mut b = [0u8; 2];
        let mut w = Writer::new(&mut b);
        assert!(w.is_empty());
        w.push_byte(1).unwrap();
        assert!(!w.is_empty());
        let mut c = Sink::counter();
        assert!(c.is_empty());
        c.push(b"x");
        assert!(!c.is_empty() && c.len() == 1);
    }
}
