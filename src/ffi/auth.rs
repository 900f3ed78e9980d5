//! C ABI of the signing side: SAS tokens and the clock.

use core::ffi::c_int;

use super::{ret, slice, slice_mut};
use crate::clock;
use crate::error::Error;
use crate::sas::{self, KeyMode, TokenParams};

/// Upper bound of the SAS token length; size the output with it.
/// `key_name_len` is ignored when `has_key_name` is false.
#[no_mangle]
pub extern "C" fn upy_azure_sas_token_max_len(
    uri_len: usize,
    has_key_name: bool,
    key_name_len: usize,
) -> usize {
    sas::max_token_len(uri_len, has_key_name.then_some(key_name_len))
}

/// Writes `SharedAccessSignature sr=..&sig=..&se=..[&skn=..]` into `out`.
/// `key_name` NULL leaves `skn` out. Returns the length written or `-code`.
///
/// # Safety
/// Every pointer must be NULL or valid for its length; `out` must not
/// overlap the inputs.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_sas_token(
    out: *mut u8,
    out_len: usize,
    uri: *const u8,
    uri_len: usize,
    key: *const u8,
    key_len: usize,
    key_name: *const u8,
    key_name_len: usize,
    expiry: u64,
    key_is_base64: bool,
) -> isize {
    let params = TokenParams {
        uri: slice(uri, uri_len),
        key: slice(key, key_len),
        key_name: if key_name.is_null() {
            None
        } else {
            Some(slice(key_name, key_name_len))
        },
        expiry,
        key_mode: if key_is_base64 {
            KeyMode::Base64
        } else {
            KeyMode::Raw
        },
    };
    ret(sas::build_token(slice_mut(out, out_len), &params))
}

/// Writes the 44-character device key of an enrollment group member into
/// `out` (see `sas::derive_device_key`). Returns 44 or `-code`.
///
/// # Safety
/// Every pointer must be NULL or valid for its length; `out` must not
/// overlap the inputs.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_derive_device_key(
    out: *mut u8,
    out_len: usize,
    group_key: *const u8,
    group_key_len: usize,
    registration_id: *const u8,
    registration_id_len: usize,
) -> isize {
    ret(sas::derive_device_key(
        slice_mut(out, out_len),
        slice(group_key, group_key_len),
        slice(registration_id, registration_id_len),
    ))
}

/// Unix seconds from a port clock reading (`epoch_is_2000`: the port counts
/// from 2000-01-01). Returns 0 or `-code`.
///
/// # Safety
/// `out` must be valid for one write.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_unix_time(
    port_seconds: u64,
    epoch_is_2000: bool,
    out: *mut u64,
) -> c_int {
    match clock::to_unix(port_seconds, epoch_is_2000) {
        Ok(t) if !out.is_null() => {
            *out = t;
            0
        }
        Ok(_) => -Error::InvalidState.code(),
        Err(e) => -e.code(),
    }
}

/// `unix_now + ttl`, refusing a clock earlier than 2020-01-01 (not set)
/// and overflow. Returns 0 or `-code`.
///
/// # Safety
/// `out` must be valid for one write.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_expiry(unix_now: u64, ttl: u64, out: *mut u64) -> c_int {
    if !clock::is_plausible(unix_now) {
        return -Error::ClockNotSet.code();
    }
    match clock::expiry_from_ttl(unix_now, ttl) {
        Ok(t) if !out.is_null() => {
            *out = t;
            0
        }
        Ok(_) => -Error::InvalidState.code(),
        Err(e) => -e.code(),
    }
}
