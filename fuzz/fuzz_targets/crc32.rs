//! `crc32::update` (bitwise, table-free, written for the firmware's size)
//! and its C ABI `upy_azure_crc32` against the crc32fast crate and a
//! bytewise table reference built here, on arbitrary data, split at a
//! fuzzer-chosen point and continued from an arbitrary starting CRC.
//!
//! Input: 4 bytes of starting CRC (little-endian), 2 bytes of split point,
//! then the data.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use upy_azure::crc32::update;
use upy_azure::ffi::crc32::upy_azure_crc32;

/// The classic reflected CRC-32 table (polynomial 0xEDB88320).
fn table() -> &'static [u32; 256] {
    static T: OnceLock<[u32; 256]> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    })
}

fn reference(crc: u32, data: &[u8]) -> u32 {
    let t = table();
    !data
        .iter()
        .fold(!crc, |c, &b| t[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8))
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 6 {
        return;
    }
    let init = u32::from_le_bytes(input[..4].try_into().unwrap());
    let split = u16::from_le_bytes(input[4..6].try_into().unwrap()) as usize;
    let data = &input[6..];
    let (a, b) = data.split_at(split.min(data.len()));

    let whole = update(0, data);
    assert_eq!(whole, crc32fast::hash(data), "differs from crc32fast");
    assert_eq!(whole, reference(0, data), "differs from the table");
    assert_eq!(update(update(0, a), b), whole, "continuation differs");

    let mut h = crc32fast::Hasher::new_with_initial(init);
    h.update(data);
    let cont = update(init, data);
    assert_eq!(
        cont,
        h.finalize(),
        "continuation from {init:#x} differs from crc32fast"
    );
    assert_eq!(cont, reference(init, data));
    assert_eq!(update(update(init, a), b), cont);

    // SAFETY: `data` is live; a NULL pointer with length 0 is empty data.
    unsafe {
        assert_eq!(upy_azure_crc32(init, data.as_ptr(), data.len()), cont);
        assert_eq!(upy_azure_crc32(init, std::ptr::null(), 0), init);
    }
    assert_eq!(update(init, &[]), init);
});
