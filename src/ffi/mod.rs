//! The C ABI, kept thin: convert raw pointers to slices, call safe Rust,
//! return a length (>= 0) or a negated `Error` code (< 0). No function here
//! calls back into MicroPython, so the C side raises exceptions only after
//! Rust has returned.

pub mod auth;
pub mod crc32;
pub mod http;
pub mod mqtt;
pub mod types;

/// Most properties per event or request: the C glue converts them into a
/// stack array of this many name/value pairs (small on a WiPy's stack).
pub const UPY_AZURE_MAX_PROPERTIES: usize = 16;
/// Most path segments of a request (`/devices/{id}/modules/{m}/messages/deviceBound/{lock}/abandon` has 8).
pub const UPY_AZURE_MAX_PATH_SEGMENTS: usize = 8;

use crate::error::Error;

/// Builds a slice from a C pointer and length; a NULL pointer is an empty slice.
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `len` bytes.
pub(crate) unsafe fn slice<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        core::slice::from_raw_parts(ptr, len)
    }
}

/// # Safety
/// `ptr` must be NULL or valid for writes of `len` bytes.
pub(crate) unsafe fn slice_mut<'a>(ptr: *mut u8, len: usize) -> &'a mut [u8] {
    if ptr.is_null() || len == 0 {
        &mut []
    } else {
        core::slice::from_raw_parts_mut(ptr, len)
    }
}

/// A length on success, the negated error code on failure.
pub(crate) fn ret(r: Result<usize, Error>) -> isize {
    match r {
        Ok(n) => isize::try_from(n).unwrap_or(-(Error::BufferTooSmall.code() as isize)),
        Err(e) => -(e.code() as isize),
    }
}
