//! Shared Access Signature tokens (docs/protocol.md section 1):
//! `SharedAccessSignature sr=ENC(uri)&sig=ENC(b64(HMAC-SHA256(key, ENC(uri)\nse)))&se=se[&skn=ENC(name)]`.
//! The signed bytes are the very bytes written as `sr`.

use crate::b64;
use crate::error::{Error, Result};
use crate::hmac_sha256::HmacSha256;
use crate::percent;
use crate::wipe::wipe;
use crate::writer::Writer;

const PREFIX: &[u8] = b"SharedAccessSignature sr=";
const SIG: &[u8] = b"&sig=";
const SE: &[u8] = b"&se=";
const SKN: &[u8] = b"&skn=";

/// Longest base64 key accepted with `key_is_base64` (decodes to 258 bytes;
/// Azure keys are 44 characters).
pub const MAX_BASE64_KEY_LEN: usize = 344;
const DECODED_KEY_CAP: usize = MAX_BASE64_KEY_LEN / 4 * 3;

/// How the key string becomes the HMAC key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyMode {
    /// Event Hubs / Service Bus: the key text's own bytes.
    Raw,
    /// IoT Hub: the key text base64-decoded.
    Base64,
}

pub struct TokenParams<'a> {
    pub uri: &'a [u8],
    pub key: &'a [u8],
    pub key_name: Option<&'a [u8]>,
    pub expiry: u64,
    pub key_mode: KeyMode,
}

/// An upper bound of the token length for these input lengths: size the
/// output buffer with it. Saturates instead of overflowing.
pub fn max_token_len(uri_len: usize, key_name_len: Option<usize>) -> usize {
    // sig: 44 base64 characters, at most 3 of them `=` padding and any of
    // them `+` or `/`: worst case every one becomes `%XX`.
    let fixed = PREFIX.len() + SIG.len() + 44 * 3 + SE.len() + 20;
    let skn = match key_name_len {
        Some(n) => SKN.len().saturating_add(n.saturating_mul(3)),
        None => 0,
    };
    fixed
        .saturating_add(uri_len.saturating_mul(3))
        .saturating_add(skn)
}

fn new_mac(key: &[u8], mode: KeyMode) -> Result<HmacSha256> {
    if key.is_empty() {
        return Err(Error::EmptyKey);
    }
    match mode {
        KeyMode::Raw => Ok(HmacSha256::new(key)),
        KeyMode::Base64 => {
            // As pasted: surrounding whitespace (a trailing newline from a
            // file, spaces from a copy) is ignored, as azure-iot-device's
            // base64 decoding ignores it. Anything else must be base64.
            let key = key.trim_ascii();
            if key.len() > MAX_BASE64_KEY_LEN {
                return Err(Error::KeyTooLong);
            }
            let mut raw = [0u8; DECODED_KEY_CAP];
            let result = match b64::decode(key, &mut raw) {
                Ok(0) => Err(Error::InvalidBase64Key),
                Ok(n) => match raw.get(..n) {
                    Some(k) => Ok(HmacSha256::new(k)),
                    None => Err(Error::KeyTooLong),
                },
                Err(e) => Err(e),
            };
            wipe(&mut raw);
            result
        }
    }
}

/// Writes the token into `out` and returns its length.
pub fn build_token(out: &mut [u8], p: &TokenParams<'_>) -> Result<usize> {
    if p.uri.is_empty() {
        return Err(Error::EmptyUri);
    }
    if p.key_name == Some(&[][..]) {
        return Err(Error::EmptyKeyName);
    }
    let mut mac = new_mac(p.key, p.key_mode)?;

    let mut se_buf = [0u8; 20];
    let mut se = Writer::new(&mut se_buf);
    se.push_u64(p.expiry)?;

    let mut w = Writer::new(out);
    w.push(PREFIX)?;
    let sr_start = w.len();
    percent::encode_into(&mut w, p.uri)?;
    mac.update(w.written_since(sr_start));
    mac.update(b"\n");
    mac.update(se.written());
    let tag = mac.finalize();

    let mut sig_buf = [0u8; 44];
    let mut sig = Writer::new(&mut sig_buf);
    b64::encode_into(&mut sig, &tag)?;
    w.push(SIG)?;
    percent::encode_into(&mut w, sig.written())?;
    w.push(SE)?;
    w.push(se.written())?;
    if let Some(name) = p.key_name {
        w.push(SKN)?;
        percent::encode_into(&mut w, name)?;
    }
    Ok(w.len())
}

/// Length of a key made by [`derive_device_key`] (base64 of 32 bytes).
pub const DERIVED_KEY_LEN: usize = 44;

/// The device key of an enrollment group member (DPS symmetric-key
/// attestation): base64(HMAC-SHA256(base64decode(group_key), registration_id)).
/// Writes the 44 characters into `out` and returns 44.
pub fn derive_device_key(
    out: &mut [u8],
    group_key: &[u8],
    registration_id: &[u8],
) -> Result<usize> {
    if registration_id.is_empty() {
        return Err(Error::EmptyRegistrationId);
    }
    let mut mac = new_mac(group_key, KeyMode::Base64)?;
    mac.update(registration_id);
    let tag = mac.finalize();
    let mut w = Writer::new(out);
    b64::encode_into(&mut w, &tag)?;
    Ok(w.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Sha256;

    fn token(uri: &str, key: &str, name: Option<&str>, se: u64, mode: KeyMode) -> String {
        let mut out = [0u8; 1024];
        let p = TokenParams {
            uri: uri.as_bytes(),
            key: key.as_bytes(),
            key_name: name.map(str::as_bytes),
            expiry: se,
            key_mode: mode,
        };
        let n = build_token(&mut out, &p).unwrap();
        assert!(n <= max_token_len(uri.len(), name.map(str::len)));
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn public_vector_1() {
        assert_eq!(
            token("endpoint/hub", "keyVal", Some("keyName"), 1, KeyMode::Raw),
            "SharedAccessSignature sr=endpoint%2Fhub&sig=EGsjmHg%2FOKM5bYk5pU7ZpN5ExQRuT3VCwXuCftrmUZw%3D&se=1&skn=keyName"
        );
    }

    #[test]
    fn public_vector_2() {
        assert_eq!(
            token(
                "https://mysvc.servicebus.windows.net/myentity",
                "AexamplekeyAEXAMPLEKEYAexamplekeyAEXAMPLEKEY=",
                Some("mykey"),
                1476065410,
                KeyMode::Raw
            ),
            "SharedAccessSignature sr=https%3A%2F%2Fmysvc.servicebus.windows.net%2Fmyentity&sig=VH%2BZh14eoSrYBPLec5Qshqg7wEupmXtavqQ9hLWiz7M%3D&se=1476065410&skn=mykey"
        );
    }

    #[test]
    fn public_vector_3_iot_hub() {
        assert_eq!(
            token(
                "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test",
                "+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=",
                None,
                1471940363,
                KeyMode::Base64
            ),
            "SharedAccessSignature sr=iot-hub-for-test.azure-devices.net%2Fdevices%2Fiot-device-for-test&sig=SIumZ1ACqqPJZ2okHDlW9MSYKykEpqsQY3z6FMOICd4%3D&se=1471940363"
        );
    }

    // RFC 4231 vectors: see hmac_sha256.rs.

    #[test]
    fn long_raw_key_is_hashed_first() {
        // A 100-byte raw key must give the same token as its SHA-256 digest
        // used as the key (RFC 2104).
        use sha2::Digest;
        let key = "k".repeat(100);
        let digest = Sha256::digest(key.as_bytes());
        let mut out1 = [0u8; 512];
        let mut out2 = [0u8; 512];
        let p1 = TokenParams {
            uri: b"a/b",
            key: key.as_bytes(),
            key_name: None,
            expiry: 9,
            key_mode: KeyMode::Raw,
        };
        let p2 = TokenParams {
            uri: b"a/b",
            key: &digest,
            key_name: None,
            expiry: 9,
            key_mode: KeyMode::Raw,
        };
        let n1 = build_token(&mut out1, &p1).unwrap();
        let n2 = build_token(&mut out2, &p2).unwrap();
        assert_eq!(out1[..n1], out2[..n2]);
    }

    #[test]
    fn large_expiries() {
        for se in [1u64 << 31, 1 << 32, u64::MAX] {
            let t = token("a", "k", None, se, KeyMode::Raw);
            assert!(t.ends_with(&format!("&se={se}")));
        }
    }

    #[test]
    fn bad_inputs() {
        let mut out = [0u8; 512];
        let mut p = TokenParams {
            uri: b"",
            key: b"k",
            key_name: None,
            expiry: 1,
            key_mode: KeyMode::Raw,
        };
        assert_eq!(build_token(&mut out, &p), Err(Error::EmptyUri));
        p.uri = b"u";
        p.key = b"";
        assert_eq!(build_token(&mut out, &p), Err(Error::EmptyKey));
        p.key = b"not base64!";
        p.key_mode = KeyMode::Base64;
        assert_eq!(build_token(&mut out, &p), Err(Error::InvalidBase64Key));
        p.key = b"=";
        assert_eq!(build_token(&mut out, &p), Err(Error::InvalidBase64Key));
        let long = [b'A'; MAX_BASE64_KEY_LEN + 4];
        p.key = &long;
        assert_eq!(build_token(&mut out, &p), Err(Error::KeyTooLong));
        let longest = [b'A'; MAX_BASE64_KEY_LEN];
        p.key = &longest;
        assert!(build_token(&mut out, &p).is_ok());
        p.key = b"a2V5";
        p.key_name = Some(b"");
        assert_eq!(build_token(&mut out, &p), Err(Error::EmptyKeyName));
        p.key_name = None;
        let mut tiny = [0u8; 40];
        assert_eq!(build_token(&mut tiny, &p), Err(Error::BufferTooSmall));
    }

    #[test]
    fn pasted_base64_keys_with_whitespace() {
        let clean = token("h/devices/d", "a2V5a2V5a2V5", None, 9, KeyMode::Base64);
        for k in [
            "a2V5a2V5a2V5\n",
            " a2V5a2V5a2V5",
            "\ta2V5a2V5a2V5\r\n",
            "a2V5a2V5a2V5  ",
        ] {
            assert_eq!(token("h/devices/d", k, None, 9, KeyMode::Base64), clean);
        }
        let mut out = [0u8; 512];
        for k in ["a2V5 a2V5a2V5", "a2V5a2V5a2V5!", " ", "\n", "a2V5a2V5a2V"] {
            let p = TokenParams {
                uri: b"u",
                key: k.as_bytes(),
                key_name: None,
                expiry: 1,
                key_mode: KeyMode::Base64,
            };
            assert_eq!(
                build_token(&mut out, &p),
                Err(Error::InvalidBase64Key),
                "{k:?}"
            );
        }
    }

    #[test]
    fn derived_device_key_public_vector() {
        // Microsoft's symmetric-key enrollment-group how-to.
        let mut out = [0u8; DERIVED_KEY_LEN];
        let group = b"8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==";
        assert_eq!(
            derive_device_key(&mut out, group, b"sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6"),
            Ok(44)
        );
        assert_eq!(&out, b"Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc=");
        assert_eq!(
            derive_device_key(&mut out, group, b""),
            Err(Error::EmptyRegistrationId)
        );
        assert_eq!(
            derive_device_key(&mut out, b"not base64!", b"x"),
            Err(Error::InvalidBase64Key)
        );
        assert_eq!(
            derive_device_key(&mut out[..43], group, b"x"),
            Err(Error::BufferTooSmall)
        );
    }

    #[test]
    fn max_token_len_worst_case() {
        // "SharedAccessSignature sr=" 25, "&sig=" 5, 44 signature characters
        // each %XX 132, "&se=" 4, 20 digits; the uri and the name x3.
        assert_eq!(max_token_len(0, None), 25 + 5 + 132 + 4 + 20);
        assert_eq!(max_token_len(10, Some(3)), 186 + 30 + 5 + 9);
        assert_eq!(max_token_len(usize::MAX, None), usize::MAX);
    }
}
