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

use crate::error::{Error, Result};
use crate::json::escape_into;
use crate::request::MAX_SIZE_LIMIT;
use crate::strs::Strs;
use crate::writer::Sink;

/// Prefix of IoT Hub application property names.
pub const IOT_APP_PREFIX: &[u8] = b"iothub-app-";

/// A batch under construction: its length and count so far. The output
/// buffer is passed to each call (`None`: only count), always the same one
/// from the start of the batch.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Bytes so far, without the closing `]`.
    pub len: usize,
    /// Events so far.
    pub count: usize,
    /// Largest total body, closing `]` included (`MessageTooLarge` above).
    pub max_size: usize,
    /// IoT Hub's format (base64 bodies) instead of Event Hubs / Service Bus's.
    pub iot: bool,
}

impl Batch {
    pub fn new(iot: bool, max_size: usize) -> Self {
        Batch {
            len: 0,
            count: 0,
            max_size,
            iot,
        }
    }

    /// The sink for the bytes after `len`.
    fn sink<'b>(&self, out: Option<&'b mut [u8]>) -> Result<Sink<'b>> {
        if self.max_size == 0 || self.max_size > MAX_SIZE_LIMIT {
            return Err(Error::InvalidMaxSize);
        }
        match out {
            None => Ok(Sink::counter()),
            Some(buf) => buf
                .get_mut(self.len..)
                .map(Sink::new)
                .ok_or(Error::BufferTooSmall),
        }
    }

    /// Appends one event: `properties` is a flat list `name, value, ...`.
    /// On any error nothing changes: after `MessageTooLarge` the batch so
    /// far can still be finished and sent.
    pub fn add<P: Strs + ?Sized>(
        &mut self,
        out: Option<&mut [u8]>,
        body: &[u8],
        properties: &P,
        partition_key: Option<&[u8]>,
    ) -> Result<()> {
        let mut s = self.sink(out)?;
        s.push_byte(if self.count == 0 { b'[' } else { b',' });
        event(&mut s, self.iot, body, properties, partition_key)?;
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
    pub fn finish(&self, out: Option<&mut [u8]>) -> Result<usize> {
        if self.count == 0 {
            return Err(Error::EmptyBatch);
        }
        let mut s = self.sink(out)?;
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
fn event<P: Strs + ?Sized>(
    s: &mut Sink<'_>,
    iot: bool,
    body: &[u8],
    properties: &P,
    partition_key: Option<&[u8]>,
) -> Result<()> {
    if !properties.count().is_multiple_of(2) {
        return Err(Error::InvalidState);
    }
    if iot {
        if partition_key.is_some() {
            return Err(Error::InvalidState);
        }
        s.push(b"{\"body\":\"");
        s.push_base64(body);
        s.push_byte(b'"');
    } else {
        s.push(b"{\"Body\":");
        string(s, b"", body)?;
    }
    let mut sep: &[u8] = if iot {
        b",\"properties\":{"
    } else {
        b",\"UserProperties\":{"
    };
    for i in (0..properties.count()).step_by(2) {
        let name = properties.at(i);
        if name.is_empty() {
            return Err(Error::InvalidHeaderName);
        }
        s.push(sep);
        sep = b",";
        string(s, if iot { IOT_APP_PREFIX } else { b"" }, name)?;
        s.push_byte(b':');
        string(s, b"", properties.at(i + 1))?;
    }
    if properties.count() > 0 {
        s.push_byte(b'}');
    }
    if let Some(pk) = partition_key {
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
    const KIND_EVENT_HUB: bool = false;
    const KIND_SERVICE_BUS: bool = false;
    const KIND_IOT_HUB: bool = true;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    /// One event: body, flat properties, partition key.
    type Event<'a> = (&'a [u8], &'a [&'a [u8]], Option<&'a [u8]>);

    /// Counts, then writes into a buffer of exactly the counted size.
    fn build(iot: bool, max: usize, events: &[Event<'_>]) -> Result<String> {
        let mut c = Batch::new(iot, max);
        for (b, p, pk) in events {
            c.add(None, b, *p, *pk)?;
        }
        let n = c.finish(None)?;
        let mut buf = std::vec![0u8; n];
        let mut w = Batch::new(iot, max);
        for (b, p, pk) in events {
            w.add(Some(&mut buf), b, *p, *pk).unwrap();
        }
        assert_eq!(w, c);
        assert_eq!(w.finish(Some(&mut buf)), Ok(n));
        Ok(String::from_utf8(buf).unwrap())
    }

    const NONE: &[&[u8]] = &[];

    fn ev<'a>(body: &'a [u8], props: &'a [&'a [u8]], pk: Option<&'a [u8]>) -> Event<'a> {
        (body, props, pk)
    }

    #[test]
    fn event_hub_doc_example() {
        let props: [&[u8]; 2] = [b"Alert", b"Strong Wind"];
        let s = build(
            KIND_EVENT_HUB,
            1000,
            &[ev(b"m1", NONE, None), ev(b"m2", &props, Some(b"k"))],
        )
        .unwrap();
        assert_eq!(
            s,
            r#"[{"Body":"m1"},{"Body":"m2","UserProperties":{"Alert":"Strong Wind"},"BrokerProperties":{"PartitionKey":"k"}}]"#
        );
    }

    #[test]
    fn escaping_in_batches() {
        let props: [&[u8]; 4] = ["é\"".as_bytes(), b"a\nb", b"n", b""];
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
        let bad: [&[u8]; 2] = [b"n", b"\xff"];
        assert_eq!(
            build(KIND_EVENT_HUB, 1000, &[ev(b"\xc3", NONE, None)]),
            Err(Error::InvalidUtf8)
        );
        assert_eq!(
            build(KIND_EVENT_HUB, 1000, &[ev(b"x", &bad, None)]),
            Err(Error::InvalidUtf8)
        );
        let empty: [&[u8]; 2] = [b"", b"v"];
        assert_eq!(
            build(KIND_IOT_HUB, 1000, &[ev(b"x", &empty, None)]),
            Err(Error::InvalidHeaderName)
        );
    }

    #[test]
    fn iot_hub_base64() {
        let props: [&[u8]; 4] = [b"k", b"v", b"t", b"1"];
        let s = build(
            KIND_IOT_HUB,
            1000,
            &[
                ev(b"\x00\xff binary", &props, None),
                ev(b"", NONE, None),
                ev(b"ab", NONE, None),
            ],
        )
        .unwrap();
        assert_eq!(
            s,
            r#"[{"body":"AP8gYmluYXJ5","properties":{"iothub-app-k":"v","iothub-app-t":"1"}},{"body":""},{"body":"YWI="}]"#
        );
        assert_eq!(
            build(KIND_IOT_HUB, 1000, &[ev(b"x", NONE, Some(b"k"))]),
            Err(Error::InvalidState)
        );
    }

    #[test]
    fn empty_and_limits() {
        assert_eq!(build(KIND_EVENT_HUB, 1000, &[]), Err(Error::EmptyBatch));
        // `[{"Body":"m1"}]` is 15 bytes.
        assert!(build(KIND_EVENT_HUB, 15, &[ev(b"m1", NONE, None)]).is_ok());
        assert_eq!(
            build(KIND_EVENT_HUB, 14, &[ev(b"m1", NONE, None)]),
            Err(Error::MessageTooLarge)
        );
        // A refused event leaves the batch intact and sendable.
        let none: &[&[u8]] = &[];
        let mut buf = [0u8; 64];
        let mut b = Batch::new(KIND_EVENT_HUB, 20);
        b.add(Some(&mut buf), b"m1", none, None).unwrap();
        let before = b;
        assert_eq!(
            b.add(Some(&mut buf), b"m2", none, None),
            Err(Error::MessageTooLarge)
        );
        assert_eq!(
            b.add(Some(&mut buf), b"\xff", none, None),
            Err(Error::InvalidUtf8)
        );
        assert_eq!(b, before);
        assert_eq!(b.finish(Some(&mut buf)), Ok(15));
        assert_eq!(&buf[..15], br#"[{"Body":"m1"}]"#);
        // Finish, add more, finish again.
        let mut b = Batch::new(KIND_EVENT_HUB, 100);
        b.add(Some(&mut buf), b"a", none, None).unwrap();
        assert_eq!(b.finish(Some(&mut buf)), Ok(14));
        b.add(Some(&mut buf), b"b", none, None).unwrap();
        assert_eq!(b.finish(Some(&mut buf)), Ok(27));
        assert_eq!(&buf[..27], br#"[{"Body":"a"},{"Body":"b"}]"#);
        // Too small a buffer.
        let mut small = [0u8; 10];
        let mut b = Batch::new(KIND_EVENT_HUB, 100);
        assert_eq!(
            b.add(Some(&mut small), b"abc", none, None),
            Err(Error::BufferTooSmall)
        );
        assert_eq!((b.len, b.count), (0, 0));
        let mut twelve = [0u8; 12];
        let mut b = Batch::new(KIND_EVENT_HUB, 100);
        b.add(Some(&mut twelve), b"", none, None).unwrap();
        assert_eq!(b.len, 12);
        assert_eq!(b.finish(Some(&mut twelve)), Err(Error::BufferTooSmall));
        // An odd property list; max_size outside 1..=1 MB.
        assert_eq!(
            b.add(None, b"", &[&b"n"[..]][..], None),
            Err(Error::InvalidState)
        );
        for max in [0, MAX_SIZE_LIMIT + 1] {
            assert_eq!(
                Batch::new(false, max).add(None, b"", none, None),
                Err(Error::InvalidMaxSize)
            );
        }
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
            kind in any::<bool>(),
            events in proptest::collection::vec(
                (utf8(), proptest::collection::vec((utf8(), utf8()), 0..3), proptest::option::of(utf8())),
                0..4,
            ),
            max in 0usize..600,
        ) {
            let props: Vec<Vec<&[u8]>> = events
                .iter()
                .map(|(_, p, _)| p.iter().flat_map(|(n, v)| [&n[..], &v[..]]).collect())
                .collect();
            let evs: Vec<Event<'_>> = events
                .iter()
                .zip(&props)
                .map(|((b, _, pk), p)| (&b[..], &p[..], pk.as_deref()))
                .collect();
            match build(kind, max, &evs) {
                Ok(s) => {
                    prop_assert!(s.len() <= max);
                    prop_assert_eq!(value(s.as_bytes()), Some(&b""[..]));
                }
                Err(e) => prop_assert!(matches!(
                    e,
                    Error::EmptyBatch | Error::MessageTooLarge | Error::InvalidUtf8
                        | Error::InvalidHeaderName | Error::InvalidState | Error::InvalidMaxSize
                )),
            }
        }
    }

    #[test]
    fn max_size_limit_itself_accepted() {
        assert!(build(KIND_EVENT_HUB, MAX_SIZE_LIMIT, &[ev(b"m", NONE, None)]).is_ok());
        assert_eq!(
            build(KIND_EVENT_HUB, MAX_SIZE_LIMIT + 1, &[ev(b"m", NONE, None)]),
            Err(Error::InvalidMaxSize)
        );
    }
}
