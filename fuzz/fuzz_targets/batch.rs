//! Batch bodies from arbitrary events, counted then written.
//!
//! - A counting batch, then a writing batch into a buffer of exactly the
//!   counted size with the events counting accepted: every add succeeds,
//!   the lengths agree at each step, `finish` returns the counted total.
//! - A writing batch into a buffer of arbitrary size, checked against a
//!   counting batch in the same state before each add: same result (or
//!   `BufferTooSmall` exactly when the event does not fit), a refused event
//!   changes nothing, and `finish` may be called between adds.
//! - Every finished body is valid JSON (serde_json) with one object per
//!   accepted event, whose body and properties round-trip: the UTF-8 text
//!   for Event Hubs / Service Bus, the base64 of the bytes for IoT Hub.
//! - The C ABI gives the same.
#![no_main]

use arbitrary::Arbitrary;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use upy_azure::batch::{Event, UpyAzureBatch};
use upy_azure::error::Error;
use upy_azure::ffi::send::{upy_azure_batch_add, upy_azure_batch_finish, upy_azure_batch_init};
use upy_azure::request::{UpyAzureProperty, UpyAzureStr};

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
    properties: Vec<(Bytes, Option<Bytes>)>,
    partition_key: Option<Bytes>,
    /// Call `finish` after adding this one (arbitrary-buffer pass).
    finish_after: bool,
}

#[derive(Arbitrary, Debug)]
struct Input {
    kind: u8,
    max_size: u16,
    huge_max: bool,
    events: Vec<Ev>,
    /// Buffer size of the arbitrary pass.
    cap: u16,
}

/// Checks a finished body against the events it holds.
fn check_json(body: &[u8], kind: u8, events: &[Event<'_>]) {
    let v: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(body))
    });
    let arr = v.as_array().expect("not an array");
    assert_eq!(arr.len(), events.len());
    let iot = kind == 2;
    for (o, ev) in arr.iter().zip(events) {
        let o = o.as_object().expect("not an object");
        let mut want = Map::new();
        if iot {
            want.insert("body".into(), Value::String(STANDARD.encode(ev.body)));
        } else {
            let text = std::str::from_utf8(ev.body).expect("non-UTF-8 body accepted");
            want.insert("Body".into(), Value::String(text.into()));
        }
        if !ev.properties.is_empty() {
            // Later duplicates win, as in serde_json's map.
            let mut props = Map::new();
            for p in ev.properties {
                let n = std::str::from_utf8(p.name.bytes()).expect("non-UTF-8 name");
                assert!(!n.is_empty());
                let v = std::str::from_utf8(p.value.bytes()).expect("non-UTF-8 value");
                let n = if iot { format!("iothub-app-{n}") } else { n.into() };
                props.insert(n, Value::String(v.into()));
            }
            let key = if iot { "properties" } else { "UserProperties" };
            want.insert(key.into(), Value::Object(props));
        }
        if let Some(pk) = ev.partition_key {
            assert!(!iot);
            let pk = std::str::from_utf8(pk).expect("non-UTF-8 partition key");
            let mut bp = Map::new();
            bp.insert("PartitionKey".into(), Value::String(pk.into()));
            want.insert("BrokerProperties".into(), Value::Object(bp));
        }
        assert_eq!(o, &want);
    }
}

/// A counting batch in the state of `b`.
fn counter_like(b: &UpyAzureBatch<'_>) -> UpyAzureBatch<'static> {
    let mut c = UpyAzureBatch::new(None, b.kind, b.max_size);
    c.len = b.len;
    c.count = b.count;
    c
}

fuzz_target!(|i: Input| {
    let max = if i.huge_max { usize::MAX } else { i.max_size as usize };
    let props: Vec<Vec<UpyAzureProperty<'_>>> = i
        .events
        .iter()
        .map(|e| {
            e.properties
                .iter()
                .map(|(n, v)| UpyAzureProperty {
                    name: UpyAzureStr::new(n.b()),
                    value: v.as_ref().map_or(UpyAzureStr::NONE, |v| UpyAzureStr::new(v.b())),
                })
                .collect()
        })
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
    let mut c = UpyAzureBatch::new(None, i.kind, max);
    let mut accepted = Vec::new();
    let mut steps = Vec::new();
    for ev in &events {
        let before = (c.len, c.count);
        match c.add(ev) {
            Ok(()) => {
                assert!(c.len > before.0 && c.count == before.1 + 1);
                assert!(c.len < max, "no room left for the closing ]");
                accepted.push(*ev);
                steps.push(c.len);
            }
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        Error::MessageTooLarge
                            | Error::InvalidUtf8
                            | Error::InvalidHeaderName
                            | Error::InvalidState
                    ),
                    "{e:?}"
                );
                assert_eq!((c.len, c.count), before, "a refused event changed the batch");
                if i.kind > 2 {
                    assert_eq!(e, Error::InvalidState);
                }
            }
        }
    }
    let total = c.finish();
    if accepted.is_empty() {
        assert_eq!(total, Err(Error::EmptyBatch));
    } else {
        let n = total.unwrap();
        assert_eq!(n, c.len + 1);
        assert!(n <= max);

        // Pass 2: exactly the counted size, the accepted events.
        let mut buf = vec![0xA5u8; n];
        let mut w = UpyAzureBatch::new(Some(&mut buf), i.kind, max);
        for (ev, &len) in accepted.iter().zip(&steps) {
            assert_eq!(w.add(ev), Ok(()), "an event counting accepted was refused");
            assert_eq!(w.len, len);
        }
        assert_eq!(w.finish(), Ok(n));
        check_json(&buf, i.kind, &accepted);

        // The same through the C ABI.
        let mut cbuf = vec![0xA5u8; n];
        let mut slot = core::mem::MaybeUninit::<UpyAzureBatch<'_>>::uninit();
        // SAFETY: `slot` is initialised by init; `cbuf` outlives the batch;
        // every string and property array is a live slice.
        unsafe {
            upy_azure_batch_init(slot.as_mut_ptr(), cbuf.as_mut_ptr(), n, i.kind, max);
            let b = slot.assume_init_mut();
            for ev in &accepted {
                let rc = upy_azure_batch_add(
                    b,
                    UpyAzureStr::new(ev.body),
                    ev.properties.as_ptr(),
                    ev.properties.len(),
                    ev.partition_key.map_or(UpyAzureStr::NONE, UpyAzureStr::new),
                );
                assert_eq!(rc, 0);
            }
            assert_eq!(upy_azure_batch_finish(b), n as isize);
        }
        assert_eq!(cbuf, buf);
    }

    // Pass 3: an arbitrary buffer, checked step by step against counting.
    let cap = i.cap as usize;
    let mut buf = vec![0xA5u8; cap];
    let mut w = UpyAzureBatch::new(Some(&mut buf), i.kind, max);
    let mut held = Vec::new();
    for (ev, e) in events.iter().zip(&i.events) {
        let mut shadow = counter_like(&w);
        let want = shadow.add(ev);
        let before = (w.len, w.count);
        let got = w.add(ev);
        match (want, got) {
            (Ok(()), Ok(())) => {
                assert_eq!((w.len, w.count), (shadow.len, shadow.count));
                held.push(*ev);
            }
            (Ok(()), Err(Error::BufferTooSmall)) => {
                assert!(shadow.len > cap, "BufferTooSmall but it fits");
                assert_eq!((w.len, w.count), before);
            }
            (Err(Error::MessageTooLarge), Err(Error::BufferTooSmall)) => {
                assert_eq!((w.len, w.count), before);
            }
            (Err(a), Err(b)) => {
                assert_eq!(a, b);
                assert_eq!((w.len, w.count), before);
            }
            (a, b) => panic!("counting {a:?}, writing {b:?}"),
        }
        assert!(w.len <= cap);
        if e.finish_after {
            match w.finish() {
                Ok(n) => {
                    assert!(n <= cap && n <= max && n == w.len + 1);
                    assert_eq!(w.count, held.len());
                    // The body so far, closed, is valid JSON for the events
                    // so far; then carry on in the same buffer (finishing
                    // changes nothing).
                    let (len, count) = (w.len, w.count);
                    drop(w);
                    check_json(&buf[..n], i.kind, &held);
                    w = UpyAzureBatch::new(Some(&mut buf), i.kind, max);
                    w.len = len;
                    w.count = count;
                }
                Err(Error::EmptyBatch) => assert!(held.is_empty()),
                Err(Error::InvalidState) => assert!(i.kind > 2),
                Err(Error::BufferTooSmall) => assert_eq!(w.len, cap),
                Err(e) => panic!("finish: {e:?}"),
            }
        }
    }
    if let Ok(n) = w.finish() {
        drop(w);
        check_json(&buf[..n], i.kind, &held);
    }
});
