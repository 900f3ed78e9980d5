//! The JSON / encoding primitives every framing function writes through,
//! on arbitrary bytes:
//!
//! - `is_utf8` agrees with `core::str::from_utf8`;
//! - `escape_into` refuses exactly the non-UTF-8 inputs, writes no byte
//!   below 0x20, and `"<escaped>"` parses (serde_json) back to the input;
//!   `escaped_len` is the written length; a short buffer fails cleanly
//!   with `BufferTooSmall` and writes only a prefix of the full output;
//! - `Sink::push_base64` is the base64 crate's standard encoding;
//! - `Sink::push_percent` / `percent::encode_into` decode back to the input
//!   and `percent::encoded_len` is exact;
//! - `Writer::push_u64` / `Sink::push_u64` are the decimal form; counting
//!   and writing sinks agree on every length.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use upy_azure::error::Error;
use upy_azure::json::{escape_into, escaped_len, is_utf8};
use upy_azure::percent;
use upy_azure::writer::{Sink, Writer};

fuzz_target!(|data: &[u8]| {
    // Byte 0 picks a short-buffer size; the rest is the input.
    let Some((&short, data)) = data.split_first() else {
        return;
    };
    let utf8 = std::str::from_utf8(data);
    assert_eq!(is_utf8(data), utf8.is_ok());

    // Escaping.
    let mut buf = vec![0u8; data.len() * 6];
    let mut s = Sink::new(&mut buf);
    let r = escape_into(&mut s, data);
    match utf8 {
        Ok(text) => {
            assert_eq!(r, Ok(()));
            let n = s.finish().unwrap();
            assert_eq!(escaped_len(data), Ok(n));
            let esc = &buf[..n];
            assert!(esc.iter().all(|&b| b >= 0x20));
            let mut quoted = b"\"".to_vec();
            quoted.extend_from_slice(esc);
            quoted.push(b'"');
            let back: String = serde_json::from_slice(&quoted)
                .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&quoted)));
            assert_eq!(back, text);
            // A short buffer: BufferTooSmall, and only a prefix written.
            let cut = (short as usize).min(n);
            let mut small = vec![0xA5u8; cut];
            let mut s2 = Sink::new(&mut small);
            assert_eq!(escape_into(&mut s2, data), Ok(()));
            let r2 = s2.finish();
            let got = s2.len();
            if cut < n {
                assert_eq!(r2, Err(Error::BufferTooSmall));
            } else {
                assert_eq!(r2, Ok(n));
            }
            drop(s2);
            assert_eq!(small[..got], buf[..got]);
        }
        Err(_) => {
            assert_eq!(r, Err(Error::InvalidUtf8));
            assert_eq!(s.len(), 0, "wrote before refusing");
            assert_eq!(escaped_len(data), Err(Error::InvalidUtf8));
        }
    }

    // Base64, writing and counting.
    let want = STANDARD.encode(data);
    let mut b64 = vec![0u8; want.len()];
    let mut s = Sink::new(&mut b64);
    s.push_base64(data);
    assert_eq!(s.finish(), Ok(want.len()));
    assert_eq!(b64, want.as_bytes());
    let mut c = Sink::counter();
    c.push_base64(data);
    assert_eq!(c.finish(), Ok(want.len()));
    if !want.is_empty() {
        let mut small = vec![0u8; want.len() - 1];
        let mut s = Sink::new(&mut small);
        s.push_base64(data);
        assert_eq!(s.finish(), Err(Error::BufferTooSmall));
    }

    // Percent-encoding.
    let n = percent::encoded_len(data);
    let mut pct = vec![0u8; n];
    let mut w = Writer::new(&mut pct);
    percent::encode_into(&mut w, data).unwrap();
    assert_eq!(w.len(), n);
    let mut c = Sink::counter();
    c.push_percent(data);
    assert_eq!(c.finish(), Ok(n));
    let mut decoded = Vec::new();
    let mut k = 0;
    while k < pct.len() {
        if pct[k] == b'%' {
            let h = std::str::from_utf8(&pct[k + 1..k + 3]).unwrap();
            assert_eq!(h, h.to_ascii_uppercase());
            decoded.push(u8::from_str_radix(h, 16).unwrap());
            k += 3;
        } else {
            assert!(percent::is_unreserved(pct[k]));
            decoded.push(pct[k]);
            k += 1;
        }
    }
    assert_eq!(decoded, data);
    if n > 0 {
        let mut small = vec![0u8; n - 1];
        let mut w = Writer::new(&mut small);
        assert_eq!(
            percent::encode_into(&mut w, data),
            Err(Error::BufferTooSmall)
        );
    }

    // Decimal.
    if data.len() >= 8 {
        let v = u64::from_le_bytes(data[..8].try_into().unwrap());
        let mut d = [0u8; 20];
        let mut w = Writer::new(&mut d);
        w.push_u64(v).unwrap();
        assert_eq!(w.written(), v.to_string().as_bytes());
        let mut c = Sink::counter();
        c.push_u64(v);
        assert_eq!(c.finish(), Ok(v.to_string().len()));
    }
});
