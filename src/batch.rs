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

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::{Error, Result};
use crate::json::{escape_into, Sink};
use crate::request::{Kind, UpyAzureProperty, IOT_APP_PREFIX};

/// One event of a batch.
#[derive(Clone, Copy)]
pub struct Event<'a> {
    pub body: &'a [u8],
    pub properties: &'a [UpyAzureProperty<'a>],
    /// Event Hubs / Service Bus only (`InvalidState` for IoT Hub).
    pub partition_key: Option<&'a [u8]>,
}

/// The state of a batch between calls; the buffer is passed to each call
/// (the same one every time, or `None` throughout to count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    pub kind: Kind,
    /// Largest total body, closing `]` included.
    pub max_size: usize,
    /// Bytes so far, without the closing `]`.
    pub len: usize,
    /// Events so far.
    pub count: usize,
}

impl Batch {
    pub const fn new(kind: Kind, max_size: usize) -> Self {
        Batch {
            kind,
            max_size,
            len: 0,
            count: 0,
        }
    }

    /// Appends one event (writing into `buf` from `self.len` on, or only
    /// counting when `buf` is `None`). On any error nothing changes.
    pub fn add(&mut self, buf: Option<&mut [u8]>, ev: &Event<'_>) -> Result<()> {
        let mut s = match buf {
            Some(b) => Sink::new(b.get_mut(self.len..).ok_or(Error::BufferTooSmall)?),
            None => Sink::counter(),
        };
        s.push_byte(if self.count == 0 { b'[' } else { b',' })?;
        event(&mut s, self.kind, ev)?;
        let len = self
            .len
            .checked_add(s.len())
            .ok_or(Error::MessageTooLarge)?;
        // Room for the closing `]`.
        if len >= self.max_size {
            return Err(Error::MessageTooLarge);
        }
        self.len = len;
        self.count = self.count.saturating_add(1);
        Ok(())
    }

    /// Closes the array (writes `]` at `self.len` when `buf` is given) and
    /// returns the total length. The batch itself does not change: adding
    /// more events and finishing again is fine.
    pub fn finish(&self, buf: Option<&mut [u8]>) -> Result<usize> {
        if self.count == 0 {
            return Err(Error::EmptyBatch);
        }
        if let Some(b) = buf {
            *b.get_mut(self.len).ok_or(Error::BufferTooSmall)? = b']';
        }
        self.len.checked_add(1).ok_or(Error::MessageTooLarge)
    }
}

/// Standard base64 with padding, counted or written in place.
fn base64(s: &mut Sink<'_>, data: &[u8]) -> Result<()> {
    let n = base64::encoded_len(data.len(), true).ok_or(Error::MessageTooLarge)?;
    match s.writer() {
        Some(w) => {
            let dst = w.reserve(n)?;
            STANDARD
                .encode_slice(data, dst)
                .map(|_| ())
                .map_err(|_| Error::BufferTooSmall)
        }
        None => s.count(n),
    }
}

/// `"<prefix><escaped>"`.
fn string(s: &mut Sink<'_>, prefix: &[u8], v: &[u8]) -> Result<()> {
    s.push_byte(b'"')?;
    s.push(prefix)?;
    escape_into(s, v)?;
    s.push_byte(b'"')
}

/// One `{...}` object.
fn event(s: &mut Sink<'_>, kind: Kind, ev: &Event<'_>) -> Result<()> {
    let iot = kind == Kind::IotHub;
    if iot {
        if ev.partition_key.is_some() {
            return Err(Error::InvalidState);
        }
        s.push(b"{\"body\":\"")?;
        base64(s, ev.body)?;
        s.push_byte(b'"')?;
    } else {
        s.push(b"{\"Body\":")?;
        string(s, b"", ev.body)?;
    }
    if !ev.properties.is_empty() {
        s.push(if iot {
            b",\"properties\":{"
        } else {
            b",\"UserProperties\":{"
        })?;
        for (i, p) in ev.properties.iter().enumerate() {
            if i > 0 {
                s.push_byte(b',')?;
            }
            let name = p.name.bytes();
            if name.is_empty() {
                return Err(Error::InvalidHeaderName);
            }
            string(s, if iot { IOT_APP_PREFIX } else { b"" }, name)?;
            s.push_byte(b':')?;
            string(s, b"", p.value.bytes())?;
        }
        s.push_byte(b'}')?;
    }
    if let Some(pk) = ev.partition_key {
        s.push(b",\"BrokerProperties\":{\"PartitionKey\":")?;
        string(s, b"", pk)?;
        s.push_byte(b'}')?;
    }
    s.push_byte(b'}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    /// Counts, then writes into a buffer of exactly the counted size.
    fn build(kind: Kind, max: usize, events: &[Event<'_>]) -> Result<String> {
        let mut c = Batch::new(kind, max);
        for e in events {
            c.add(None, e)?;
        }
        let n = c.finish(None)?;
        let mut buf = std::vec![0u8; n];
        let mut w = Batch::new(kind, max);
        for e in events {
            w.add(Some(&mut buf), e).unwrap();
        }
        assert_eq!(w, c);
        assert_eq!(w.finish(Some(&mut buf)), Ok(n));
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
            Kind::EventHub,
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
            Kind::ServiceBus,
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
            build(Kind::EventHub, 1000, &[ev(b"\xc3", &[], None)]),
            Err(Error::InvalidUtf8)
        );
        assert_eq!(
            build(Kind::EventHub, 1000, &[ev(b"x", &bad, None)]),
            Err(Error::InvalidUtf8)
        );
        let empty = [UpyAzureProperty::new(b"", b"v")];
        assert_eq!(
            build(Kind::IotHub, 1000, &[ev(b"x", &empty, None)]),
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
            Kind::IotHub,
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
            build(Kind::IotHub, 1000, &[ev(b"x", &[], Some(b"k"))]),
            Err(Error::InvalidState)
        );
    }

    #[test]
    fn empty_and_limits() {
        assert_eq!(build(Kind::EventHub, 1000, &[]), Err(Error::EmptyBatch));
        // `[{"Body":"m1"}]` is 15 bytes.
        assert!(build(Kind::EventHub, 15, &[ev(b"m1", &[], None)]).is_ok());
        assert_eq!(
            build(Kind::EventHub, 14, &[ev(b"m1", &[], None)]),
            Err(Error::MessageTooLarge)
        );
        // A refused event leaves the batch intact and sendable.
        let mut buf = [0u8; 64];
        let mut b = Batch::new(Kind::EventHub, 20);
        b.add(Some(&mut buf), &ev(b"m1", &[], None)).unwrap();
        let before = b;
        assert_eq!(
            b.add(Some(&mut buf), &ev(b"m2", &[], None)),
            Err(Error::MessageTooLarge)
        );
        assert_eq!(b, before);
        assert_eq!(b.finish(Some(&mut buf)), Ok(15));
        assert_eq!(&buf[..15], br#"[{"Body":"m1"}]"#);
        // Finish, add more, finish again.
        let mut b = Batch::new(Kind::EventHub, 100);
        b.add(Some(&mut buf), &ev(b"a", &[], None)).unwrap();
        assert_eq!(b.finish(Some(&mut buf)), Ok(14));
        b.add(Some(&mut buf), &ev(b"b", &[], None)).unwrap();
        assert_eq!(b.finish(Some(&mut buf)), Ok(27));
        assert_eq!(&buf[..27], br#"[{"Body":"a"},{"Body":"b"}]"#);
        // Too small a buffer.
        let mut small = [0u8; 10];
        let mut b = Batch::new(Kind::EventHub, 100);
        assert_eq!(
            b.add(Some(&mut small), &ev(b"abc", &[], None)),
            Err(Error::BufferTooSmall)
        );
        assert_eq!(b, Batch::new(Kind::EventHub, 100));
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
            let kind = Kind::from_u8(kind).unwrap();
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
