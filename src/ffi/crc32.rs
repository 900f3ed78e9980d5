//! C ABI of the CRC-32 (the outbox's record frames).

use super::slice;
use crate::crc32;

/// Continues `crc` (0 to start) over `data[0..len]`.
///
/// # Safety
/// `data` NULL or valid for reads of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_crc32(crc: u32, data: *const u8, len: usize) -> u32 {
    crc32::update(crc, slice(data, len))
}
