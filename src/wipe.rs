//! Wiping secrets: the decoded key, the padded key block and the HMAC's
//! key-equivalent SHA-256 states are overwritten before their memory is
//! reused, with volatile writes the optimizer cannot drop.

/// Overwrites `buf` with zeros.
pub fn wipe(buf: &mut [u8]) {
    for b in buf.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference.
        unsafe { core::ptr::write_volatile(b, 0) };
    }
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

/// Overwrites `words` with zeros.
pub fn wipe_words(words: &mut [u32]) {
    for w in words.iter_mut() {
        // SAFETY: a valid, aligned, exclusive reference.
        unsafe { core::ptr::write_volatile(w, 0) };
    }
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    #[test]
    fn zeroes() {
        let mut b = [0xAAu8; 9];
        super::wipe(&mut b);
        assert_eq!(b, [0; 9]);
        let mut w = [7u32; 8];
        super::wipe_words(&mut w);
        assert_eq!(w, [0; 8]);
    }
}
