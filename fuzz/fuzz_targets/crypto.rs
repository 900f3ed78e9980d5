//! The library's own SHA-256, HMAC-SHA256 and base64 (written for the
//! firmware's size budget) against the sha2, hmac and base64 crates, with
//! the data fed in fuzzer-chosen pieces.
//!
//! Input: byte 0 = how many split sizes follow (low 4 bits); then the split
//! sizes; then a key length byte; then the key and the data.
#![no_main]

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Digest;
use upy_azure::b64;
use upy_azure::error::Error;
use upy_azure::hmac_sha256::{HmacSha256, Sha256};
use upy_azure::writer::Writer;

/// `b64::decode`'s documented rules (see the sas target).
const DECODE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

fn pieces<'a>(data: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    if sizes.is_empty() {
        return vec![data];
    }
    for &s in sizes.iter().cycle() {
        if at >= data.len() {
            break;
        }
        // 0 = an empty update.
        let end = (at + s as usize).min(data.len());
        out.push(&data[at..end]);
        at = end;
        if out.len() > data.len() * 2 + 16 {
            out.push(&data[at..]);
            break;
        }
    }
    out
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let n = ((flags & 0x0f) as usize).min(rest.len());
    let (sizes, rest) = rest.split_at(n);
    let Some((&klen, rest)) = rest.split_first() else {
        return;
    };
    // Key lengths up to 255 (and, with bit 7 of flags, the whole rest:
    // keys longer than a block are hashed first).
    let klen = if flags & 0x80 != 0 {
        rest.len()
    } else {
        (klen as usize).min(rest.len())
    };
    let (key, data) = rest.split_at(klen);
    let parts = pieces(data, sizes);

    // SHA-256.
    let mut h = Sha256::new();
    for p in &parts {
        h.update(p);
    }
    assert_eq!(
        h.finalize()[..],
        sha2::Sha256::digest(data)[..],
        "SHA-256 differs"
    );

    // HMAC-SHA256.
    let mut m = HmacSha256::new(key);
    for p in &parts {
        m.update(p);
    }
    let mut want = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    want.update(data);
    assert_eq!(
        m.finalize()[..],
        want.finalize().into_bytes()[..],
        "HMAC differs"
    );

    // base64 encode, into an exact and a short buffer.
    let enc = STANDARD.encode(data);
    assert_eq!(b64::encoded_len(data.len()), enc.len());
    let mut buf = vec![0u8; enc.len()];
    let mut w = Writer::new(&mut buf);
    b64::encode_into(&mut w, data).unwrap();
    assert_eq!(w.written(), enc.as_bytes());
    if !enc.is_empty() {
        let mut short = vec![0u8; enc.len() - 1];
        let mut w = Writer::new(&mut short);
        assert_eq!(b64::encode_into(&mut w, data), Err(Error::BufferTooSmall));
    }

    // base64 decode of arbitrary text (the key), and of a valid encoding,
    // into a buffer of the exact size and one byte less.
    for text in [key, enc.as_bytes()] {
        let want = DECODE.decode(text);
        let cap = text.len() / 4 * 3;
        let mut out = vec![0u8; cap];
        let got = b64::decode(text, &mut out);
        match (&got, &want) {
            (Ok(n), Ok(w)) => assert_eq!(&out[..*n], &w[..]),
            (Err(Error::InvalidBase64Key), Err(_)) => {}
            // The empty string is refused, not an empty key.
            (Err(Error::InvalidBase64Key), Ok(w)) if text.is_empty() => assert!(w.is_empty()),
            _ => panic!(
                "decode {:?}: got {got:?}, base64 crate {want:?}",
                String::from_utf8_lossy(text)
            ),
        }
        if let Ok(w) = &want {
            if !w.is_empty() {
                let mut small = vec![0u8; w.len() - 1];
                assert_eq!(b64::decode(text, &mut small), Err(Error::KeyTooLong));
            }
        }
    }
});
