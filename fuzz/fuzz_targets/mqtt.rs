//! The MQTT codec (`mqtt::{header, parse, topic, frame_into}` and their C
//! ABI) on arbitrary bytes:
//!
//! - `header` and `parse` agree: a parsed packet has a fixed header whose
//!   length plus remaining length is the packet's; every shorter prefix of
//!   the fixed header is "need more" (`Ok(None)`), never an error.
//! - A parsed PUBLISH has its offsets inside the packet, a topic that
//!   `std::str` accepts as UTF-8 without NUL, `+` or `#`; framed again
//!   (`frame_into`, same topic, packet id, DUP, body length) it gives the
//!   same fixed and variable header whenever the input used the shortest
//!   remaining length and no RETAIN.
//! - `topic` on a cloud-to-device topic gives exactly the pairs of a model
//!   written here with std (split at `&`, then the first `=`, then decode
//!   `%XX`; `+` kept), or fails exactly when the model does.
//! - Framing a PUBLISH from arbitrary topic/properties: counting and
//!   writing agree; when it succeeds, `parse` reads back the packet id,
//!   the payload offset and the topic, and the bag decodes back (`topic`).
//! - The C ABI gives the same results.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upy_azure::error::Error;
use upy_azure::ffi::mqtt::{upy_azure_mqtt_header, upy_azure_mqtt_parse, upy_azure_mqtt_topic};
use upy_azure::mqtt::{self, Frame, Packet, Topic, PUBLISH};

fn model_bag(bag: &[u8]) -> Result<Vec<Vec<u8>>, ()> {
    let bag = bag.strip_prefix(b"?").unwrap_or(bag);
    let mut out = Vec::new();
    let dec = |s: &[u8]| -> Result<Vec<u8>, ()> {
        let mut v = Vec::new();
        let mut i = 0;
        while i < s.len() {
            if s[i] == b'%' {
                let h = s.get(i + 1..i + 3).ok_or(())?;
                let h = std::str::from_utf8(h).map_err(|_| ())?;
                if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return Err(());
                }
                v.push(u8::from_str_radix(h, 16).map_err(|_| ())?);
                i += 3;
            } else {
                v.push(s[i]);
                i += 1;
            }
        }
        std::str::from_utf8(&v).map_err(|_| ())?;
        Ok(v)
    };
    for pair in bag.split(|&c| c == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|&c| c == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        out.push(dec(k)?);
        out.push(dec(v)?);
    }
    if out.len() > 2 * mqtt::MAX_PAIRS {
        return Err(());
    }
    Ok(out)
}

fn pieces(t: &[u8], dev: &[u8]) -> Result<(u8, u32, Vec<Vec<u8>>), Error> {
    let mut out = vec![0u8; t.len()];
    let mut r = Topic::default();
    mqtt::topic(t, dev, &mut out, &mut r)?;
    // The C ABI agrees.
    let mut out2 = vec![0u8; t.len()];
    let mut r2 = Topic::default();
    let rc = unsafe {
        upy_azure_mqtt_topic(
            t.as_ptr(),
            t.len(),
            dev.as_ptr(),
            dev.len(),
            out2.as_mut_ptr(),
            out2.len(),
            &mut r2,
        )
    };
    assert_eq!(rc, 0);
    assert_eq!((r.kind, r.number, r.n_pieces, r.ends), (r2.kind, r2.number, r2.n_pieces, r2.ends));
    assert_eq!(out, out2);
    let mut v = Vec::new();
    let mut start = 0;
    for &end in &r.ends[..r.n_pieces] {
        assert!(start <= end && end <= out.len());
        v.push(out[start..end].to_vec());
        start = end;
    }
    Ok((r.kind, r.number, v))
}

const C2D: &[u8] = b"devices/d/messages/devicebound/";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 | 1 => {
            // A packet from a broker.
            let h = mqtt::header(data);
            let mut rl = 0usize;
            let rc = unsafe { upy_azure_mqtt_header(data.as_ptr(), data.len(), &mut rl) };
            match h {
                Ok(Some((first, hl, n))) => {
                    assert_eq!((rc, rl, first), (hl as isize, n, data[0]));
                    assert!((2..=5).contains(&hl));
                    for k in 0..hl {
                        assert_eq!(mqtt::header(&data[..k]), Ok(None));
                    }
                }
                Ok(None) => assert_eq!(rc, 0),
                Err(e) => assert_eq!(rc, -(e.code() as isize)),
            }
            let p = mqtt::parse(data);
            let mut p2 = Packet::default();
            let rc = unsafe { upy_azure_mqtt_parse(data.as_ptr(), data.len(), &mut p2) };
            match p {
                Ok(p) => {
                    assert_eq!((rc, p), (0, p2));
                    let (first, hl, n) = h.unwrap().unwrap();
                    assert_eq!(hl + n, data.len());
                    assert_eq!(p.kind, first >> 4);
                    if p.kind == PUBLISH {
                        assert!(p.topic_start <= p.topic_end && p.topic_end <= p.payload_start);
                        assert!(p.payload_start <= data.len());
                        let t = std::str::from_utf8(&data[p.topic_start..p.topic_end]).unwrap();
                        assert!(!t.is_empty() && !t.contains(['\0', '+', '#']));
                        let f = Frame {
                            kind: PUBLISH,
                            flags: first & 8,
                            number: u32::from(p.packet_id),
                            body_len: data.len() - p.payload_start,
                        };
                        let again = mqtt::frame_into(None, &f, &[t.as_bytes()][..]).unwrap();
                        let mut out = vec![0u8; again];
                        mqtt::frame_into(Some(&mut out), &f, &[t.as_bytes()][..]).unwrap();
                        if first & 1 == 0 && first & 6 != 4 && out.len() == p.payload_start {
                            assert_eq!(&out[..], &data[..p.payload_start]);
                        }
                    }
                }
                Err(e) => assert_eq!(rc, -(e.code() as isize)),
            }
        }
        2 => {
            // A received topic: C2D against the model, every kind never panics.
            let mut t = C2D.to_vec();
            t.extend_from_slice(data);
            match (pieces(&t, b"d"), model_bag(data)) {
                (Ok((4, 0, got)), Ok(want)) => assert_eq!(got, want),
                (Err(_), Err(())) => {}
                (got, want) => panic!("{t:?}: {got:?} vs {want:?}"),
            }
            for prefix in [
                &b"$iothub/twin/res/"[..],
                b"$iothub/twin/PATCH/properties/desired/",
                b"$iothub/methods/POST/",
                b"",
            ] {
                let mut t = prefix.to_vec();
                t.extend_from_slice(data);
                let _ = pieces(&t, b"d");
            }
        }
        _ => {
            // A PUBLISH framed from arbitrary strings (split at 0xFF).
            let mut parts: Vec<&[u8]> = data.split(|&c| c == 0xff).collect();
            let id = u32::from(parts.len() as u16 & 0x3);
            if parts.len() % 2 == 0 {
                parts.pop();
            }
            let f = Frame {
                kind: PUBLISH,
                flags: 0,
                number: id,
                body_len: data.len(),
            };
            let n = mqtt::frame_into(None, &f, &parts[..]);
            let mut out = vec![0u8; *n.as_ref().unwrap_or(&0)];
            let w = mqtt::frame_into(Some(&mut out), &f, &parts[..]);
            assert_eq!(n, w);
            if n.is_ok() && parts[1..].iter().all(|p| std::str::from_utf8(p).is_ok()) {
                out.extend_from_slice(data);
                let p = mqtt::parse(&out).unwrap();
                assert_eq!((u32::from(p.packet_id), p.payload_start), (id, out.len() - data.len()));
                let topic = &out[p.topic_start..p.topic_end];
                assert!(topic.starts_with(parts[0]));
                let mut c2d = C2D.to_vec();
                c2d.extend_from_slice(&topic[parts[0].len()..]);
                let got = pieces(&c2d, b"d").unwrap().2;
                let want: Vec<Vec<u8>> = parts[1..].iter().map(|s| s.to_vec()).collect();
                // Pairs whose name and value are empty encode as "=", kept.
                assert_eq!(got, want);
            }
        }
    }
});
