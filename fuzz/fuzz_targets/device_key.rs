//! `sas::derive_device_key` (DPS enrollment-group device keys) and its C
//! ABI `upy_azure_derive_device_key` with an arbitrary group key (any
//! bytes, a valid base64 key, or one pasted between whitespace), an
//! arbitrary registration id and an output buffer of arbitrary size.
//!
//! The key is computed independently: the group key trimmed and decoded
//! with the base64 crate (configured as `b64::decode` documents, see the
//! sas target), HMAC-SHA256 with the hmac and sha2 crates, the tag encoded
//! with the base64 crate. The result must match byte for byte, or the error
//! be the documented one (`EmptyRegistrationId`, `EmptyKey`, `KeyTooLong`,
//! `InvalidBase64Key`, `BufferTooSmall` exactly when the buffer is shorter
//! than 44 bytes); bytes past the 44 are not touched.
#![no_main]

use arbitrary::Arbitrary;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use upy_azure::error::Error;
use upy_azure::ffi::auth::upy_azure_derive_device_key;
use upy_azure::sas::{derive_device_key, DERIVED_KEY_LEN, MAX_BASE64_KEY_LEN};

const KEY_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

#[derive(Arbitrary, Debug)]
enum Key {
    Raw(Vec<u8>),
    Encoded(Vec<u8>),
    /// Encoded, with this whitespace before and after.
    Pasted(Vec<u8>, Vec<u8>, Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    key: Key,
    registration_id: Vec<u8>,
    out_len: u8,
}

/// Whitespace only (picked from the byte): space, tab, CR, LF, form feed.
fn ws(v: &[u8]) -> Vec<u8> {
    v.iter()
        .take(4)
        .map(|b| b" \t\r\n\x0c"[*b as usize % 5])
        .collect()
}

fn trim(k: &[u8]) -> &[u8] {
    let w = |b: &u8| b" \t\r\n\x0c".contains(b);
    let start = k.iter().position(|b| !w(b)).unwrap_or(k.len());
    let end = k.iter().rposition(|b| !w(b)).map_or(start, |e| e + 1);
    &k[start..end]
}

fuzz_target!(|i: Input| {
    let key = match &i.key {
        Key::Raw(k) => k.clone(),
        Key::Encoded(k) => STANDARD.encode(k).into_bytes(),
        Key::Pasted(k, a, b) => {
            let mut v = ws(a);
            v.extend_from_slice(STANDARD.encode(k).as_bytes());
            v.extend_from_slice(&ws(b));
            v
        }
    };
    let reg = &i.registration_id;
    let out_len = i.out_len as usize % 64;

    let want: Result<Vec<u8>, Error> = (|| {
        if reg.is_empty() {
            return Err(Error::EmptyRegistrationId);
        }
        if key.is_empty() {
            return Err(Error::EmptyKey);
        }
        let k = trim(&key);
        if k.len() > MAX_BASE64_KEY_LEN {
            return Err(Error::KeyTooLong);
        }
        let raw = match KEY_B64.decode(k) {
            Ok(r) if !r.is_empty() => r,
            _ => return Err(Error::InvalidBase64Key),
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&raw).unwrap();
        mac.update(reg);
        let d = STANDARD.encode(mac.finalize().into_bytes()).into_bytes();
        assert_eq!(d.len(), DERIVED_KEY_LEN);
        if out_len < d.len() {
            return Err(Error::BufferTooSmall);
        }
        Ok(d)
    })();

    let mut out = vec![0xA5u8; out_len];
    let got = derive_device_key(&mut out, &key, reg);
    match (&got, &want) {
        (Ok(n), Ok(d)) => {
            assert_eq!(*n, DERIVED_KEY_LEN);
            assert_eq!(&out[..*n], &d[..], "device key differs");
            assert!(out[*n..].iter().all(|&b| b == 0xA5), "wrote past the key");
        }
        (Err(e), Err(f)) => assert_eq!(e, f),
        _ => panic!("got {got:?}, expected {want:?}"),
    }

    let mut out2 = vec![0xA5u8; out_len];
    // SAFETY: every pointer is from a live slice (or NULL with length 0).
    let rc = unsafe {
        upy_azure_derive_device_key(
            if out_len == 0 {
                std::ptr::null_mut()
            } else {
                out2.as_mut_ptr()
            },
            out_len,
            key.as_ptr(),
            key.len(),
            reg.as_ptr(),
            reg.len(),
        )
    };
    match got {
        Ok(n) => {
            assert_eq!(rc, n as isize);
            assert_eq!(out2, out);
        }
        Err(e) => assert_eq!(rc, -(e.code() as isize)),
    }
});
