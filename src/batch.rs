//! Batch bodies, built one event at a time (the C glue walks a Python list
//! and never holds all events at once):
//!
//! - Event Hubs / Service Bus (`application/vnd.microsoft.servicebus.json`):
//!   `[{"Body":"m1"},{"Body":"m2","UserProperties":{"Alert":"Strong Wind"},"BrokerProperties":{"PartitionKey":"k"}}]`
//!   — `Body` is the payload as a JSON string, so it must be UTF-8.
//! - IoT Hub (`application/vnd.microsoft.iothub.json`):
//!   `[{"body":"<standard base64 of the payload>","properties":{"iothub-app-k":"v"}}]`
//!   — any bytes.
//!
//! Property names and values are JSON-escaped (UTF-8 required, names
//! non-empty). Counting (no buffer) and writing share the code ([`Sink`]):
//! run every event through a counting batch to get the exact total, then
//! again into a buffer of that size.
//!
//! `add` either appends the whole event or leaves the batch as it was: on
//! `MessageTooLarge` the batch so far is still complete and can be sent.

use core::marker::PhantomData;

use crate::error::{Error, Result};
use crate::json::{escape_into, Sink};
use crate::request::{UpyAzureProperty, IOT_APP_PREFIX, KIND_IOT_HUB};

/// One event of a batch.
#[derive(Clone, Copy)]
pub struct Event<'a> {
    pub body: &'a [u8],
    pub properties: &'a [UpyAzureProperty<'a>],
    /// Event Hubs / Service Bus only (`InvalidState` for IoT Hub).
    pub partition_key: Option<&'a [u8]>,
}

/// A batch under construction, laid out for C (which reads `len` and
/// `count` and changes nothing). With no buffer (`buf` NULL) it only counts:
/// run every event through a counting batch to get the exact total, then
/// again through one writing into a buffer of that size.
///
/// `buf` and `cap` are private: safe Rust sets them only from a `&mut`
/// slice borrowed for `'a`; C sets them through `upy_azure_batch_init`
/// under that function's contract.
#[repr(C)]
pub struct UpyAzureBatch<'a> {
    buf: *mut u8,
    cap: usize,
    /// Bytes so far, without the closing `]`.
    pub len: usize,
    /// Events so far.
    pub count: usize,
    /// 0 Event Hubs, 1 Service Bus, 2 IoT Hub (anything else: `InvalidState`).
    pub kind: u8,
    /// Largest total body, closing `]` included (`MessageTooLarge` above).
    pub max_size: usize,
    _buf: PhantomData<&'a mut [u8]>,
}

impl<'a> UpyAzureBatch<'a> {
    /// An empty batch writing into `buf`, or counting when `buf` is `None`.
    pub fn new(buf: Option<&'a mut [u8]>, kind: u8, max_size: usize) -> Self {
        let (buf, cap) = match buf {
            Some(b) => (b.as_mut_ptr(), b.len()),
            None => (core::ptr::null_mut(), 0),
        };
        // SAFETY: from a live `&'a mut` slice (or NULL).
        unsafe { Self::from_raw(buf, cap, kind, max_size) }
    }

    /// # Safety
    /// `buf` must be NULL or valid for `cap` writes, unaliased, for `'a`.
    pub unsafe fn from_raw(buf: *mut u8, cap: usize, kind: u8, max_size: usize) -> Self {
        UpyAzureBatch {
            buf,
            cap,
            len: 0,
            count: 0,
            kind,
            max_size,
            _buf: PhantomData,
        }
    }

    /// The sink for the bytes after `len`.
    fn sink(&mut self) -> Result<Sink<'_>> {
        if self.kind > KIND_IOT_HUB {
            return Err(Error::InvalidState);
        }
        if self.buf.is_null() {
            return Ok(Sink::counter());
        }
        // SAFETY: see the type doc.
        let all = unsafe { core::slice::from_raw_parts_mut(self.buf, self.cap) };
        all.get_mut(self.len..)
            .map(Sink::new)
            .ok_or(Error::BufferTooSmall)
    }

    /// Appends one event. On any error nothing changes: after
    /// `MessageTooLarge` the batch so far can still be finished and sent.
    pub fn add(&mut self, ev: &Event<'_>) -> Result<()> {
        let (first, kind) = (self.count == 0, self.kind);
        let mut s = self.sink()?;
        s.push_byte(if first { b'[' } else { b',' });
        event(&mut s, kind == KIND_IOT_HUB, ev)?;
        let n = s.finish()?;
        let len = self.len.checked_add(n).ok_or(Error::MessageTooLarge)?;
        // Room for the closing `]`.
        if len >= self.max_size {
            return Err(Error::MessageTooLarge);
        }
        self.len = len;
        self.count = self.count.saturating_add(1);
        Ok(())
    }

    /// Closes the array (writes `]` after the events when writing) and
    /// returns the total length; `EmptyBatch` without events. The batch
    /// does not change: adding more events and finishing again is fine.
    pub fn finish(&mut self) -> Result<usize> {
        if self.count == 0 {
            return Err(Error::EmptyBatch);
        }
        let mut s = self.sink()?;
        s.push_byte(b']');
        s.finish()?;
        self.len.checked_add(1).ok_or(Error::MessageTooLarge)
    }
}

/// `"<prefix><escaped>"`.
fn string(s: &mut Sink<'_>, prefix: &[u8], v: &[u8]) -> Result<()> {
    s.push_byte(b'"');
    s.push(prefix);
    escape_into(s, v)?;
    s.push_byte(b'"');
    Ok(())
}

/// One `{...}` object.
fn event(s: &mut Sink<'_>, iot: bool, ev: &Event<'_>) -> Result<()> {
    if iot {
        if ev.partition_key.is_some() {
            return Err(Error::InvalidState);
        }
        s.push(b"{\"body\":\"");
        s.push_base64(ev.body);
        s.push_byte(b'"');
    } else {
        s.push(b"{\"Body\":");
        string(s, b"", ev.body)?;
    }
    let mut sep: &[u8] = if iot {
        b",\"properties\":{"
    } else {
        b",\"UserProperties\":{"
    };
    for p in ev.properties {
        let name = p.name.bytes();
        if name.is_empty() {
            return Err(Error::InvalidHeaderName);
        }
        s.push(sep);
        sep = b",";
        string(s, if iot { IOT_APP_PREFIX } else { b"" }, name)?;
        s.push_byte(b':');
        string(s, b"", p.value.bytes())?;
    }
    if !ev.properties.is_empty() {
        s.push_byte(b'}');
    }
    if let Some(pk) = ev.partition_key {
        s.push(b",\"BrokerProperties\":{\"PartitionKey\":");
        string(s, b"", pk)?;
        s.push_byte(b'}');
    }
    s.push_byte(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{KIND_EVENT_HUB, KIND_SERVICE_BUS};
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    /// Counts, then writes into a buffer of exactly the counted size.
    fn build(kind: u8, max: usize, events: &[Event<'_>]) -> Result<String> {
        let mut c = UpyAzureBatch::new(None, kind, max);
        for e in events {
            c.add(e)?;
        }
        let n = c.finish()?;
        let mut buf = std::vec![0u8; n];
        let mut w = UpyAzureBatch::new(Some(&mut buf), kind, max);
        for e in events {
            w.add(e).unwrap();
        }
        assert_eq!((w.len, w.count), (c.len, c.count));
        assert_eq!(w.finish(), Ok(n));
        Ok(String::from_utf8(buf).unwrap())
    }

    fn ev<'a>(
        body: &'a [u8],
        props: &'a [UpyAzureProperty<'a>],
        pk: Option<&'a [u8]>,
    ) -> Event<'a> {
        Event {
            body,
            properties: props,
            partition_key: pk,
        }
    }

    #[test]
    fn event_hub_doc_example() {
        let props = [UpyAzureProperty::new(b"Alert", b"Strong Wind")];
        let s = build(
            KIND_EVENT_HUB,
            1000,
            &[ev(b"m1", &[], None), ev(b"m2", &props, Some(b"k"))],
        )
        .unwrap();
        assert_eq!(
            s,
            r#"[{"Body":"m1"},{"Body":"m2","UserProperties":{"Alert":"Strong Wind"},"BrokerProperties":{"PartitionKey":"k"}}]"#
        );
    }

    #[test]
    fn escaping_in_batches() {
        let props = [
            UpyAzureProperty::new("é\"".as_bytes(), b"a\nb"),
            UpyAzureProperty::new(b"n", b""),
        ];
        let s = build(
            KIND_SERVICE_BUS,
            1000,
            &[ev(b"{\"t\":1}\r\n", &props, Some(b"\\"))],
        )
        .unwrap();
        assert_eq!(
            s,
            r#"[{"Body":"{\"t\":1}\r\n","UserProperties":{"é\"":"a\nb","n":""},"BrokerProperties":{"PartitionKey":"\\"}}]"#
        );
        let bad = [UpyAzureProperty::new(b"n", b"\xff")];
        assert_eq!(
            build(KIND_EVENT_HUB, 1000, &[ev(b"\xc3", &[], None)]),
            Err(Error::InvalidUtf8)
        );
        assert_eq!(
            build(KIND_EVENT_HUB, 1000, &[ev(b"x", &bad, None)]),
            Err(Error::InvalidUtf8)
        );
        let empty = [UpyAzureProperty::new(b"", b"v")];
        assert_eq!(
            build(KIND_IOT_HUB, 1000, &[ev(b"x", &empty, None)]),
            Err(Error::InvalidHeaderName)
        );
    }

    #[test]
    fn iot_hub_base64() {
        let props = [
            UpyAzureProperty::new(b"k", b"v"),
            UpyAzureProperty::new(b"t", b"1"),
        ];
        let s = build(
            KIND_IOT_HUB,
            1000,
            &[
                ev(b"\x00\xff binary", &props, None),
                ev(b"", &[], None),
                ev(b"ab", &[], None),
            ],
        )
        .unwrap();
        assert_eq!(
            s,
            r#"[{"body":"AP8gYmluYXJ5","properties":{"iothub-app-k":"v","iothub-app-t":"1"}},{"body":""},{"body":"YWI="}]"#
        );
        assert_eq!(
            build(KIND_IOT_HUB, 1000, &[ev(b"x", &[], Some(b"k"))]),
            Err(Error::InvalidState)
        );
    }

    #[test]
    fn empty_and_limits() {
        assert_eq!(build(KIND_EVENT_HUB, 1000, &[]), Err(Error::EmptyBatch));
        // `[{"Body":"m1"}]` is 15 bytes.
        assert!(build(KIND_EVENT_HUB, 15, &[ev(b"m1", &[], None)]).is_ok());
        assert_eq!(
            build(KIND_EVENT_HUB, 14, &[ev(b"m1", &[], None)]),
            Err(Error::MessageTooLarge)
        );
        // A refused event leaves the batch intact and sendable.
        let mut buf = [0u8; 64];
        let mut b = UpyAzureBatch::new(Some(&mut buf), KIND_EVENT_HUB, 20);
        b.add(&ev(b"m1", &[], None)).unwrap();
        let before = (b.len, b.count);
        assert_eq!(b.add(&ev(b"m2", &[], None)), Err(Error::MessageTooLarge));
        assert_eq!(b.add(&ev(b"\xff", &[], None)), Err(Error::InvalidUtf8));
        assert_eq!((b.len, b.count), before);
        assert_eq!(b.finish(), Ok(15));
        assert_eq!(&buf[..15], br#"[{"Body":"m1"}]"#);
        // Finish, add more, finish again.
        let mut b = UpyAzureBatch::new(Some(&mut buf), KIND_EVENT_HUB, 100);
        b.add(&ev(b"a", &[], None)).unwrap();
        assert_eq!(b.finish(), Ok(14));
        b.add(&ev(b"b", &[], None)).unwrap();
        assert_eq!(b.finish(), Ok(27));
        assert_eq!(&buf[..27], br#"[{"Body":"a"},{"Body":"b"}]"#);
        // Too small a buffer.
        let mut small = [0u8; 10];
        let mut b = UpyAzureBatch::new(Some(&mut small), KIND_EVENT_HUB, 100);
        assert_eq!(b.add(&ev(b"abc", &[], None)), Err(Error::BufferTooSmall));
        assert_eq!((b.len, b.count), (0, 0));
        let mut twelve = [0u8; 12];
        let mut b = UpyAzureBatch::new(Some(&mut twelve), KIND_EVENT_HUB, 100);
        b.add(&ev(b"", &[], None)).unwrap();
        assert_eq!(b.len, 12);
        assert_eq!(b.finish(), Err(Error::BufferTooSmall));
        // Unknown kind.
        let mut b = UpyAzureBatch::new(None, 3, 100);
        assert_eq!(b.add(&ev(b"", &[], None)), Err(Error::InvalidState));
    }

    /// A minimal JSON checker for what batches contain: arrays, objects,
    /// strings (checked with the json test decoder). Returns the rest.
    fn value(s: &[u8]) -> Option<&[u8]> {
        match *s.first()? {
            b'"' => {
                let mut i = 1;
                loop {
                    match *s.get(i)? {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                crate::json::tests::unescape(&s[1..i])?;
                Some(&s[i + 1..])
            }
            open @ (b'[' | b'{') => {
                let close = if open == b'[' { b']' } else { b'}' };
                let mut rest = &s[1..];
                if rest.first() == Some(&close) {
                    return Some(&rest[1..]);
                }
                loop {
                    if open == b'{' {
                        if rest.first() != Some(&b'"') {
                            return None;
                        }
                        rest = value(rest)?;
                        if rest.first() != Some(&b':') {
                            return None;
                        }
                        rest = &rest[1..];
                    }
                    rest = value(rest)?;
                    match *rest.first()? {
                        b',' => rest = &rest[1..],
                        c if c == close => return Some(&rest[1..]),
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    fn utf8() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<String>().prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..8),
        ]
    }

    proptest! {
        #[test]
        fn batches_are_valid_json_and_counted_exactly(
            kind in 0u8..3,
            events in proptest::collection::vec(
                (utf8(), proptest::collection::vec((utf8(), utf8()), 0..3), proptest::option::of(utf8())),
                0..4,
            ),
            max in 0usize..600,
        ) {
            let props: Vec<Vec<UpyAzureProperty<'_>>> = events
                .iter()
                .map(|(_, p, _)| p.iter().map(|(n, v)| UpyAzureProperty::new(n, v)).collect())
                .collect();
            let evs: Vec<Event<'_>> = events
                .iter()
                .zip(&props)
                .map(|((b, _, pk), p)| Event { body: b, properties: p, partition_key: pk.as_deref() })
                .collect();
            match build(kind, max, &evs) {
                Ok(s) => {
                    prop_assert!(s.len() <= max);
                    prop_assert_eq!(value(s.as_bytes()), Some(&b""[..]));
                }
                Err(e) => prop_assert!(matches!(
                    e,
                    Error::EmptyBatch | Error::MessageTooLarge | Error::InvalidUtf8
                        | Error::InvalidHeaderName | Error::InvalidState
                )),
            }
        }
    }
}
