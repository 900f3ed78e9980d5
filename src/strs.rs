//! [`Strs`]: a list of byte strings however the caller stores it (slices of
//! slices in Rust, an array of pointer/length pairs through the C ABI), so
//! the framing code takes plain slices and never touches a raw pointer.

pub trait Strs {
    /// How many strings.
    fn count(&self) -> usize;
    /// String `i` (empty past the end).
    fn at(&self, i: usize) -> &[u8];
}

impl Strs for [&[u8]] {
    fn count(&self) -> usize {
        self.len()
    }
    fn at(&self, i: usize) -> &[u8] {
        self.get(i).copied().unwrap_or_default()
    }
}
