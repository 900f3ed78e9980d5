//! SAS tokens with arbitrary uri, key (base64 keys also pasted between
//! whitespace, which the library trims), key name, expiry and key mode, into
//! buffers of arbitrary size (too small included). The token is rebuilt
//! independently -- std, the hmac/sha2/base64 crates (the library has its
//! own HMAC-SHA256 and base64) and a plain percent encoder -- and must match
//! byte for byte; it must fit `max_token_len`, and a buffer fails with
//! `BufferTooSmall` exactly when the token does not fit. The C ABI agrees.
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
use upy_azure::ffi::auth::{upy_azure_sas_token, upy_azure_sas_token_max_len};
use upy_azure::sas::{self, KeyMode, TokenParams, MAX_BASE64_KEY_LEN};

#[derive(Arbitrary, Debug)]
enum Key {
    /// Used as given (any bytes; base64 mode mostly refuses them).
    Raw(Vec<u8>),
    /// These bytes base64-encoded by the harness: a valid base64 key.
    Encoded(Vec<u8>),
    /// Encoded, then surrounded by whitespace as pasted (bits of the two
    /// bytes pick space, tab, CR, LF, form feed, vertical tab).
    Pasted(Vec<u8>, u8, u8),
}

/// Whitespace from the bits of `pick` (vertical tab is not whitespace to
/// the library, so it must make the key invalid).
fn ws(pick: u8) -> Vec<u8> {
    let set = b" \t\r\n\x0c\x0b";
    (0..pick % 4)
        .map(|k| set[(pick >> (2 + k)) as usize % set.len()])
        .collect()
}

/// The documented trimming: spaces, tabs, CR, LF and form feeds around.
fn trim(k: &[u8]) -> &[u8] {
    let w = |b: &u8| b" \t\r\n\x0c".contains(b);
    let start = k.iter().position(|b| !w(b)).unwrap_or(k.len());
    let end = k.iter().rposition(|b| !w(b)).map_or(start, |e| e + 1);
    &k[start..end]
}

#[derive(Arbitrary, Debug)]
struct Input {
    uri: Vec<u8>,
    key: Key,
    key_name: Option<Vec<u8>>,
    expiry: u64,
    base64: bool,
    /// Output size: `slack` bytes more or fewer than the token needs.
    slack: i16,
    /// Use `max_token_len` as the size instead.
    use_max: bool,
}

/// The documented key decoding (`b64::decode`): standard alphabet, padding
/// required and only at the end, like Python's `base64.b64decode` -- which
/// also ignores the unused low bits of the last character ("ab==" is "i").
const KEY_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

fn pct(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
}

fuzz_target!(|i: Input| {
    let key = match &i.key {
        Key::Raw(k) => k.clone(),
        Key::Encoded(k) => STANDARD.encode(k).into_bytes(),
        Key::Pasted(k, a, b) => {
            let mut v = ws(*a);
            v.extend_from_slice(STANDARD.encode(k).as_bytes());
            v.extend_from_slice(&ws(*b));
            v
        }
    };
    let mode = if i.base64 {
        KeyMode::Base64
    } else {
        KeyMode::Raw
    };

    // What should happen, from the documentation.
    let expected: Result<Vec<u8>, Error> = (|| {
        if i.uri.is_empty() {
            return Err(Error::EmptyUri);
        }
        if i.key_name.as_deref() == Some(&[][..]) {
            return Err(Error::EmptyKeyName);
        }
        if key.is_empty() {
            return Err(Error::EmptyKey);
        }
        let mac_key = if i.base64 {
            let key = trim(&key);
            if key.len() > MAX_BASE64_KEY_LEN {
                return Err(Error::KeyTooLong);
            }
            match KEY_B64.decode(key) {
                Ok(k) if !k.is_empty() => k,
                _ => return Err(Error::InvalidBase64Key),
            }
        } else {
            key.clone()
        };
        let mut sr = Vec::new();
        pct(&mut sr, &i.uri);
        let mut mac = Hmac::<Sha256>::new_from_slice(&mac_key).unwrap();
        mac.update(&sr);
        mac.update(b"\n");
        mac.update(i.expiry.to_string().as_bytes());
        let sig = STANDARD.encode(mac.finalize().into_bytes());
        let mut t = b"SharedAccessSignature sr=".to_vec();
        t.extend_from_slice(&sr);
        t.extend_from_slice(b"&sig=");
        pct(&mut t, sig.as_bytes());
        t.extend_from_slice(format!("&se={}", i.expiry).as_bytes());
        if let Some(n) = &i.key_name {
            t.extend_from_slice(b"&skn=");
            pct(&mut t, n);
        }
        Ok(t)
    })();

    let max = sas::max_token_len(i.uri.len(), i.key_name.as_ref().map(Vec::len));
    assert_eq!(
        max,
        upy_azure_sas_token_max_len(
            i.uri.len(),
            i.key_name.is_some(),
            i.key_name.as_ref().map_or(12345, Vec::len)
        )
    );
    let need = expected.as_ref().map_or(0, Vec::len);
    let size = if i.use_max {
        max
    } else {
        (need as i64 + i.slack as i64).clamp(0, 1 << 16) as usize
    };
    // Poisoned, to catch reads of unwritten bytes in the result.
    let mut out = vec![0xA5u8; size];
    let p = TokenParams {
        uri: &i.uri,
        key: &key,
        key_name: i.key_name.as_deref(),
        expiry: i.expiry,
        key_mode: mode,
    };
    let got = sas::build_token(&mut out, &p);

    match (&got, &expected) {
        (Ok(n), Ok(t)) => {
            let tok = &out[..*n];
            assert_eq!(tok, &t[..], "token differs from the independent one");
            assert!(*n <= max, "token longer than max_token_len");
            // Parses back.
            let s = std::str::from_utf8(tok).unwrap();
            let rest = s.strip_prefix("SharedAccessSignature sr=").unwrap();
            let (sr, rest) = rest.split_once("&sig=").unwrap();
            let (sig, rest) = rest.split_once("&se=").unwrap();
            let se = rest.split("&skn=").next().unwrap();
            assert!(!sr.contains('&') && !sig.contains('&'));
            assert_eq!(se.parse::<u64>().unwrap(), i.expiry);
            assert!(sig.len() <= 44 * 3);
            assert_eq!(rest.contains("&skn="), i.key_name.is_some());
        }
        (Err(Error::BufferTooSmall), Ok(t)) => {
            assert!(size < t.len(), "BufferTooSmall with {size} >= {}", t.len());
            assert!(size < max, "max_token_len was not enough");
        }
        (Err(e), Err(f)) => assert_eq!(e, f),
        _ => panic!(
            "got {got:?}, expected {:?}",
            expected.map(String::from_utf8)
        ),
    }
    if let Ok(t) = &expected {
        // Fits exactly when the buffer is at least the token's size.
        assert_eq!(got.is_ok(), size >= t.len());
    }

    // The C ABI gives the same (NULL key name = no skn).
    let mut out2 = vec![0xA5u8; size];
    let name = i.key_name.as_deref();
    // SAFETY: every pointer is from a live slice or NULL.
    let rc = unsafe {
        upy_azure_sas_token(
            if size == 0 {
                std::ptr::null_mut()
            } else {
                out2.as_mut_ptr()
            },
            size,
            i.uri.as_ptr(),
            i.uri.len(),
            key.as_ptr(),
            key.len(),
            name.map_or(std::ptr::null(), <[u8]>::as_ptr),
            name.map_or(0, <[u8]>::len),
            i.expiry,
            i.base64,
        )
    };
    match got {
        Ok(n) => {
            assert_eq!(rc, n as isize);
            assert_eq!(out2[..n], out[..n]);
        }
        Err(e) => assert_eq!(rc, -(e.code() as isize)),
    }
});
