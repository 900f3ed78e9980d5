//! Batch bodies (`batch::Batch`) from arbitrary events, counted then written.
//!
//! - A counting batch, then a writing batch into a buffer of exactly the
//!   counted size with the events counting accepted: every add succeeds,
//!   the lengths agree at each step, `finish` returns the counted total.
//!   The C ABI (`upy_azure_batch_add` / `_finish`) writes the same bytes.
//! - A writing batch into a buffer of arbitrary size, checked against a
//!   counting copy of it before each add: same result (or `BufferTooSmall`
//!   exactly when the event does not fit), a refused event changes nothing,
//!   and `finish` may be called between adds.
//! - Whether an event is accepted follows the documented rules (UTF-8 body
//!   for Event Hubs / Service Bus, UTF-8 non-empty property names, UTF-8
//!   values and partition key, no partition key for IoT Hub, an even
//!   property list, `max_size` in 1..=1 MB, the body with its closing `]`
//!   within `max_size`).
//! - Every finished body is valid JSON (serde_json) with one object per
//!   accepted event, whose body and properties round-trip: the UTF-8 text
//!   for Event Hubs / Service Bus, the base64 of the bytes for IoT Hub.
#![no_main]

use arbitrary::Arbitrary;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use upy_azure::batch::Batch;
use upy_azure::error::Error;
use upy_azure::ffi::http::{upy_azure_batch_add, upy_azure_batch_finish};
use upy_azure::ffi::types::UpyAzureStr;
use upy_azure::request::MAX_SIZE_LIMIT;

#[derive(Arbitrary, Debug)]
enum Bytes {
    Text(String),
    Raw(Vec<u8>),
}

impl Bytes {
    fn b(&self) -> &[u8] {
        match self {
            Bytes::Text(s) => s.as_bytes(),
            Bytes::Raw(b) => b,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Ev {
    body: Bytes,
    /// Flat: name, value, ... (an odd count included).
    properties: Vec<Bytes>,
    partition_key: Option<Bytes>,
    /// Call `finish` after adding this one (arbitrary-buffer pass).
    finish_after: bool,
}

#[derive(Arbitrary, Debug)]
enum Max {
    Small(u16),
    Limit,
    Over,
    Zero,
}

#[derive(Arbitrary, Debug)]
struct Input {
    iot: bool,
    max: Max,
    events: Vec<Ev>,
    /// Buffer size of the arbitrary pass.
    cap: u16,
}

/// One event as the library takes it.
#[derive(Clone, Copy)]
struct Event<'a> {
    body: &'a [u8],
    properties: &'a [&'a [u8]],
    partition_key: Option<&'a [u8]>,
}

fn utf8(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// Whether the event itself (size aside) is acceptable, from the
/// documentation; the error when it is not is one of these.
fn refusals(iot: bool, ev: &Event<'_>) -> Vec<Error> {
    let mut bad = Vec::new();
    if ev.properties.len() % 2 != 0 || (iot && ev.partition_key.is_some()) {
        bad.push(Error::InvalidState);
    }
    if !iot && utf8(ev.body).is_none() {
        bad.push(Error::InvalidUtf8);
    }
    for p in ev.properties.chunks(2) {
        if p[0].is_empty() {
            bad.push(Error::InvalidHeaderName);
        }
        if p.iter().any(|s| utf8(s).is_none()) {
            bad.push(Error::InvalidUtf8);
        }
    }
    if ev.partition_key.is_some_and(|pk| utf8(pk).is_none()) {
        bad.push(Error::InvalidUtf8);
    }
    bad
}

/// Checks a finished body against the events it holds.
fn check_json(body: &[u8], iot: bool, events: &[Event<'_>]) {
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(body)));
    let arr = v.as_array().expect("not an array");
    assert_eq!(arr.len(), events.len());
    for (o, ev) in arr.iter().zip(events) {
        let o = o.as_object().expect("not an object");
        let mut want = Map::new();
        if iot {
            want.insert("body".into(), Value::String(STANDARD.encode(ev.body)));
        } else {
            let text = utf8(ev.body).expect("non-UTF-8 body accepted");
            want.insert("Body".into(), Value::String(text.into()));
        }
        if !ev.properties.is_empty() {
            // Later duplicates win, as in serde_json's map.
            let mut props = Map::new();
            for p in ev.properties.chunks(2) {
                let n = utf8(p[0]).expect("non-UTF-8 name");
                assert!(!n.is_empty());
                let v = utf8(p[1]).expect("non-UTF-8 value");
                let n = if iot {
                    format!("iothub-app-{n}")
                } else {
                    n.into()
                };
                props.insert(n, Value::String(v.into()));
            }
            let key = if iot { "properties" } else { "UserProperties" };
            want.insert(key.into(), Value::Object(props));
        }
        if let Some(pk) = ev.partition_key {
            assert!(!iot);
            let pk = utf8(pk).expect("non-UTF-8 partition key");
            let mut bp = Map::new();
            bp.insert("PartitionKey".into(), Value::String(pk.into()));
            want.insert("BrokerProperties".into(), Value::Object(bp));
        }
        assert_eq!(o, &want);
    }
}

fn s(b: &[u8]) -> UpyAzureStr<'_> {
    UpyAzureStr::new(b)
}

fuzz_target!(|i: Input| {
    let max = match i.max {
        Max::Small(n) => n as usize,
        Max::Limit => MAX_SIZE_LIMIT,
        Max::Over => MAX_SIZE_LIMIT + 1,
        Max::Zero => 0,
    };
    let max_ok = (1..=MAX_SIZE_LIMIT).contains(&max);
    let props: Vec<Vec<&[u8]>> = i
        .events
        .iter()
        .map(|e| e.properties.iter().take(9).map(Bytes::b).collect())
        .collect();
    let events: Vec<Event<'_>> = i
        .events
        .iter()
        .zip(&props)
        .map(|(e, p)| Event {
            body: e.body.b(),
            properties: p,
            partition_key: e.partition_key.as_ref().map(Bytes::b),
        })
        .collect();

    // Pass 1: count.
    let mut c = Batch::new(i.iot, max);
    let mut accepted = Vec::new();
    let mut steps = Vec::new();
    for ev in &events {
        let before = c;
        let bad = refusals(i.iot, ev);
        match c.add(None, ev.body, ev.properties, ev.partition_key) {
            Ok(()) => {
                assert!(max_ok && bad.is_empty(), "accepted, but {bad:?}");
                assert!(c.len > before.len && c.count == before.count + 1);
                assert!(c.len < max, "no room left for the closing ]");
                accepted.push(*ev);
                steps.push(c.len);
            }
            Err(e) => {
                assert_eq!(c, before, "a refused event changed the batch");
                match e {
                    Error::InvalidMaxSize => assert!(!max_ok),
                    Error::MessageTooLarge => {}
                    e => assert!(bad.contains(&e), "{e:?}, not one of {bad:?}"),
                }
                if max_ok && bad.is_empty() {
                    assert_eq!(e, Error::MessageTooLarge);
                }
            }
        }
    }
    let total = c.finish(None);
    if accepted.is_empty() {
        assert_eq!(total, Err(Error::EmptyBatch));
    } else {
        let n = total.unwrap();
        assert_eq!(n, c.len + 1);
        assert!(n <= max);

        // Pass 2: exactly the counted size, the accepted events.
        let mut buf = vec![0xA5u8; n];
        let mut w = Batch::new(i.iot, max);
        for (ev, &len) in accepted.iter().zip(&steps) {
            assert_eq!(
                w.add(Some(&mut buf), ev.body, ev.properties, ev.partition_key),
                Ok(()),
                "an event counting accepted was refused"
            );
            assert_eq!(w.len, len);
        }
        assert_eq!(w, c);
        assert_eq!(w.finish(Some(&mut buf)), Ok(n));
        check_json(&buf, i.iot, &accepted);

        // The same through the C ABI, counting then writing.
        let mut cbuf = vec![0xA5u8; n];
        let (mut cc, mut cw) = (Batch::new(i.iot, max), Batch::new(i.iot, max));
        for ev in &accepted {
            let p: Vec<UpyAzureStr<'_>> = ev.properties.iter().map(|b| s(b)).collect();
            let pk = ev.partition_key.map_or(UpyAzureStr::NONE, s);
            // SAFETY: the batches, `cbuf` and every string and array are live.
            unsafe {
                let add = |b: &mut Batch, out: *mut u8, cap: usize| {
                    upy_azure_batch_add(b, out, cap, s(ev.body), p.as_ptr(), p.len(), pk)
                };
                assert_eq!(add(&mut cc, std::ptr::null_mut(), 0), 0);
                assert_eq!(add(&mut cw, cbuf.as_mut_ptr(), n), 0);
            }
        }
        // SAFETY: as above.
        unsafe {
            assert_eq!(
                upy_azure_batch_finish(&cc, std::ptr::null_mut(), 0),
                n as isize
            );
            assert_eq!(
                upy_azure_batch_finish(&cw, cbuf.as_mut_ptr(), n),
                n as isize
            );
        }
        assert_eq!(cbuf, buf);
    }

    // Pass 3: an arbitrary buffer, checked step by step against counting.
    let cap = i.cap as usize;
    let mut buf = vec![0xA5u8; cap];
    let mut w = Batch::new(i.iot, max);
    let mut held = Vec::new();
    for (ev, e) in events.iter().zip(&i.events) {
        let mut shadow = w;
        let want = shadow.add(None, ev.body, ev.properties, ev.partition_key);
        let before = w;
        let got = w.add(Some(&mut buf), ev.body, ev.properties, ev.partition_key);
        match (want, got) {
            (Ok(()), Ok(())) => {
                assert_eq!(w, shadow);
                held.push(*ev);
            }
            (Ok(()), Err(Error::BufferTooSmall)) => {
                assert!(shadow.len > cap, "BufferTooSmall but it fits");
                assert_eq!(w, before);
            }
            (Err(Error::MessageTooLarge), Err(Error::BufferTooSmall)) => {
                assert_eq!(w, before);
            }
            (Err(a), Err(b)) => {
                assert_eq!(a, b);
                assert_eq!(w, before);
            }
            (a, b) => panic!("counting {a:?}, writing {b:?}"),
        }
        assert!(w.len <= cap);
        if e.finish_after {
            match w.finish(Some(&mut buf)) {
                Ok(n) => {
                    assert!(n <= cap && n <= max && n == w.len + 1);
                    assert_eq!(w.count, held.len());
                    // The body so far, closed, is valid JSON for the events
                    // so far; the batch carries on (finishing changes nothing).
                    check_json(&buf[..n], i.iot, &held);
                }
                Err(Error::EmptyBatch) => assert!(held.is_empty()),
                Err(Error::BufferTooSmall) => assert_eq!(w.len, cap),
                Err(e) => panic!("finish: {e:?}"),
            }
        }
    }
    if let Ok(n) = w.finish(Some(&mut buf)) {
        check_json(&buf[..n], i.iot, &held);
    }
});
