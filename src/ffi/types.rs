//! The C ABI's types: byte strings and arrays of them as C passes them
//! (pointer and length, NULL meaning "absent"), and the request head. The
//! core never sees these: the ABI functions turn them into slices.

use core::marker::PhantomData;

use crate::strs::Strs;

/// A byte string as C passes it: `ptr` NULL means "absent".
///
/// The fields are private: safe Rust builds one only from a slice, and the
/// C ABI functions that take one are `unsafe` with the contract that `ptr`
/// is NULL or valid for reads of `len` bytes while the call runs.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct UpyAzureStr<'a> {
    ptr: *const u8,
    len: usize,
    _life: PhantomData<&'a [u8]>,
}

impl<'a> UpyAzureStr<'a> {
    /// The absent string (NULL pointer).
    pub const NONE: UpyAzureStr<'static> = UpyAzureStr {
        ptr: core::ptr::null(),
        len: 0,
        _life: PhantomData,
    };

    pub const fn new(s: &'a [u8]) -> Self {
        UpyAzureStr {
            ptr: s.as_ptr(),
            len: s.len(),
            _life: PhantomData,
        }
    }

    /// `None` when the pointer is NULL.
    pub fn get(&self) -> Option<&'a [u8]> {
        if self.ptr.is_null() {
            None
        } else {
            // SAFETY: built from a slice by `new`, or handed over by C under
            // the contract of the `unsafe` ABI function (see the type doc).
            Some(unsafe { core::slice::from_raw_parts(self.ptr, self.len) })
        }
    }

    /// The bytes; an absent string is empty.
    pub fn bytes(&self) -> &'a [u8] {
        self.get().unwrap_or_default()
    }
}

impl Strs for [UpyAzureStr<'_>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn at(&self, i: usize) -> &[u8] {
        self.get(i).map(UpyAzureStr::bytes).unwrap_or_default()
    }
}

/// An array of strings from C: `ptr` NULL (or `len` 0) is empty.
///
/// # Safety
/// `ptr` must be NULL or valid for `len` elements while the call runs.
pub(crate) unsafe fn strs<'a>(ptr: *const UpyAzureStr<'a>, len: usize) -> &'a [UpyAzureStr<'a>] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        core::slice::from_raw_parts(ptr, len)
    }
}

/// A request head for `upy_azure_head` (see `request::Head`): absent
/// strings are NULL; `segments` and `properties` are arrays (properties
/// flat: name, value, name, value, ...).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct UpyAzureHead<'a> {
    pub method: UpyAzureStr<'a>,
    pub segments: *const UpyAzureStr<'a>,
    pub n_segments: usize,
    pub raw_path: UpyAzureStr<'a>,
    pub query: UpyAzureStr<'a>,
    pub host: UpyAzureStr<'a>,
    pub token: UpyAzureStr<'a>,
    pub content_type: UpyAzureStr<'a>,
    pub partition_key: UpyAzureStr<'a>,
    pub prefix: UpyAzureStr<'a>,
    pub properties: *const UpyAzureStr<'a>,
    pub n_properties: usize,
    pub body_len: usize,
    pub max_size: usize,
    pub keep_alive: bool,
}
