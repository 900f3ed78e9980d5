//! C ABI of the signing side: SAS tokens, clock, connection strings.

use core::ffi::c_int;

use super::{ret, slice, slice_mut};
use crate::clock;
#[cfg(feature = "connstr")]
use crate::connstr;
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

#[cfg(feature = "connstr")]
/// Validates a connection string. Returns 0 or `-code`.
///
/// # Safety
/// `s` must be NULL or valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_connstr_check(s: *const u8, len: usize) -> c_int {
    match connstr::parse(slice(s, len)) {
        Ok(_) => 0,
        Err(e) => -e.code(),
    }
}

#[cfg(feature = "connstr")]
/// One `name=value` segment of `s` from `*pos` on. Returns 1 and sets the
/// offsets (into `s`) and `*pos` past it, 0 at the end, or `-code`.
///
/// # Safety
/// `s` must be NULL or valid for `len` bytes; the other pointers valid for one write.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_connstr_next(
    s: *const u8,
    len: usize,
    pos: *mut usize,
    name_off: *mut usize,
    name_len: *mut usize,
    value_off: *mut usize,
    value_len: *mut usize,
) -> c_int {
    if pos.is_null()
        || name_off.is_null()
        || name_len.is_null()
        || value_off.is_null()
        || value_len.is_null()
    {
        return -Error::InvalidState.code();
    }
    let all = slice(s, len);
    let start = *pos;
    let Some(rest) = all.get(start..) else {
        return 0;
    };
    let mut pairs = connstr::Pairs::new(rest);
    match pairs.next() {
        None => {
            *pos = len;
            0
        }
        Some(Err(e)) => -e.code(),
        Some(Ok((name, value))) => {
            let base = all.as_ptr() as usize;
            *name_off = name.as_ptr() as usize - base;
            *name_len = name.len();
            *value_off = value.as_ptr() as usize - base;
            *value_len = value.len();
            *pos = len - pairs.remaining_len();
            1
        }
    }
}
