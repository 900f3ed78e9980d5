//! MQTT 3.1.1 for IoT Hub (docs: azure-mqtt.md §1-§7): the packets a
//! device sends, framed into caller buffers, and the packets and IoT Hub
//! topics it receives, parsed in place.
//!
//! - [`frame`]: one framer for CONNECT, PUBLISH (fixed and variable header
//!   only: the caller sends the body after it, never copied), SUBSCRIBE,
//!   PUBACK, PINGREQ and DISCONNECT. Like [`crate::request::head`], the same
//!   code counts (no buffer) and writes, so the length is exact. Every length
//!   prefix (the remaining length, each string's u16) is found by running
//!   the same writer in counting mode first ([`prefixed`]).
//! - [`header`]: the fixed header, with "need more bytes" (`Ok(None)`)
//!   apart from a malformed remaining length (an error). Over-long forms
//!   such as `80 00` are accepted: MQTT 3.1.1 does not forbid them.
//! - [`parse`]: one whole packet a broker may send a client (CONNACK,
//!   PUBLISH, PUBACK, SUBACK, UNSUBACK, PINGRESP); offsets, not copies.
//! - [`topic`]: classifies an IoT Hub topic (twin response, desired patch,
//!   direct method, cloud-to-device) and percent-decodes its property bag
//!   into a caller buffer as pieces (no `+` to space; split at `&` and the
//!   first `=` before decoding).
//!
//! Nothing here panics or reads past a slice: malformed input is an
//! [`Error`] (`Mqtt*`).

use crate::error::{Error, Result};
use crate::json::is_utf8;
use crate::strs::Strs;
use crate::writer::{Sink, Writer};

/// The largest remaining length (4 length bytes).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;
/// Most property-bag pairs in a PUBLISH topic or a received topic.
pub const MAX_PAIRS: usize = 16;
/// Most filters in one SUBSCRIBE.
pub const MAX_FILTERS: usize = 8;
/// Pieces a [`Topic`] can hold: two head pieces, then the pairs.
pub const TOPIC_PIECES: usize = 2 + 2 * MAX_PAIRS;

/// Packet types (byte 0's high nibble).
pub const CONNECT: u8 = 1;
pub const CONNACK: u8 = 2;
pub const PUBLISH: u8 = 3;
pub const PUBACK: u8 = 4;
pub const SUBSCRIBE: u8 = 8;
pub const SUBACK: u8 = 9;
pub const UNSUBACK: u8 = 11;
pub const PINGREQ: u8 = 12;
pub const PINGRESP: u8 = 13;
pub const DISCONNECT: u8 = 14;

/// A packet to frame; its strings are passed beside it (see [`frame`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Frame {
    /// `CONNECT`, `PUBLISH`, `PUBACK`, `SUBSCRIBE`, `PINGREQ`, `DISCONNECT`.
    pub kind: u8,
    /// CONNECT: bit 1 clean session. PUBLISH: bit 3 DUP (QoS 1 only).
    /// SUBSCRIBE: bit i set = filter i at QoS 1, else QoS 0.
    pub flags: u8,
    /// CONNECT: the keep-alive (0..=65535 s). PUBLISH: the packet id, 0 for
    /// QoS 0, else QoS 1. PUBACK, SUBSCRIBE: the packet id (1..=65535).
    pub number: u32,
    /// PUBLISH: the body's length, counted in the remaining length.
    pub body_len: usize,
}

fn push_u16(s: &mut Sink<'_>, n: usize) {
    s.push(&[(n >> 8) as u8, n as u8]);
}

/// An MQTT string: UTF-8 without U+0000; `name`: a topic name or filter
/// (not empty); `name` without `wild`: no `+`/`#` either.
fn check_str(b: &[u8], name: bool, wild: bool) -> Result<()> {
    if !is_utf8(b)
        || name && b.is_empty()
        || b.iter()
            .any(|&c| c == 0 || name && !wild && (c == b'+' || c == b'#'))
    {
        return Err(Error::MqttInvalidString);
    }
    Ok(())
}

/// Writes what `f` writes, preceded by its length: as a remaining length
/// (`rl`; `extra` more bytes the caller sends after it are counted) or as
/// a string's u16. `f` runs twice: counting, then writing.
fn prefixed(
    s: &mut Sink<'_>,
    rl: bool,
    extra: usize,
    f: &dyn Fn(&mut Sink<'_>) -> Result<()>,
) -> Result<()> {
    let mut c = Sink::counter();
    f(&mut c)?;
    let mut n = c.finish()?.checked_add(extra).ok_or(Error::MqttTooLong)?;
    if n > if rl { MAX_REMAINING_LENGTH } else { 0xffff } {
        return Err(Error::MqttTooLong);
    }
    if rl {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            s.push_byte(if n > 0 { b | 0x80 } else { b });
            if n == 0 {
                break;
            }
        }
    } else {
        push_u16(s, n);
    }
    f(s)
}

/// A string with its u16 length.
fn push_str(s: &mut Sink<'_>, b: &[u8]) -> Result<()> {
    prefixed(s, false, 0, &|s| {
        s.push(b);
        Ok(())
    })
}

/// Frames `f` into `s`. `strs`: CONNECT: client id, user name[, password]
/// (two or three strings); PUBLISH: the topic, then the property bag flat
/// (name, value, ...; each percent-encoded, `name=value` joined by `&`,
/// appended to the topic as is); SUBSCRIBE: the filters (1..=8); others:
/// none. An error anywhere means nothing is to be sent.
pub fn frame<S: Strs + ?Sized>(s: &mut Sink<'_>, f: &Frame, strs: &S) -> Result<()> {
    let n = strs.count();
    let id = f.number as usize;
    let id_ok = (1..=0xffff).contains(&id);
    let dup = f.flags & 8;
    let qos = u8::from(id != 0);
    let (first, ok) = match f.kind {
        CONNECT => (0x10, id <= 0xffff && (2..=3).contains(&n)),
        PUBLISH => (
            0x30 | dup | qos << 1,
            id <= 0xffff && (dup == 0 || qos == 1) && n % 2 == 1 && n <= 1 + 2 * MAX_PAIRS,
        ),
        PUBACK => (0x40, id_ok && n == 0),
        SUBSCRIBE => (0x82, id_ok && (1..=MAX_FILTERS).contains(&n)),
        PINGREQ => (0xC0, n == 0),
        DISCONNECT => (0xE0, n == 0),
        _ => (0, false),
    };
    if !ok {
        return Err(Error::MqttBadArgument);
    }
    s.push_byte(first);
    let extra = if f.kind == PUBLISH { f.body_len } else { 0 };
    prefixed(s, true, extra, &|s| {
        match f.kind {
            CONNECT => {
                s.push(b"\x00\x04MQTT\x04");
                s.push_byte(0x80 | if n == 3 { 0x40 } else { 0 } | f.flags & 2);
                push_u16(s, id);
                for i in 0..n {
                    let b = strs.at(i);
                    if i < 2 {
                        check_str(b, false, false)?;
                    }
                    push_str(s, b)?;
                }
            }
            PUBLISH => {
                let topic = strs.at(0);
                check_str(topic, true, false)?;
                prefixed(s, false, 0, &|s| {
                    s.push(topic);
                    for i in (1..n).step_by(2) {
                        if i > 1 {
                            s.push_byte(b'&');
                        }
                        s.push_percent(strs.at(i));
                        s.push_byte(b'=');
                        s.push_percent(strs.at(i + 1));
                    }
                    Ok(())
                })?;
                if qos == 1 {
                    push_u16(s, id);
                }
            }
            PUBACK => push_u16(s, id),
            SUBSCRIBE => {
                push_u16(s, id);
                for i in 0..n {
                    let b = strs.at(i);
                    check_str(b, true, true)?;
                    push_str(s, b)?;
                    s.push_byte(f.flags >> i & 1);
                }
            }
            _ => {}
        }
        Ok(())
    })
}

/// The packet's exact length when `out` is `None`, else writes it into
/// `out` and returns its length. Validates the same way both times.
pub fn frame_into<S: Strs + ?Sized>(out: Option<&mut [u8]>, f: &Frame, strs: &S) -> Result<usize> {
    let mut s = Sink::from_option(out);
    frame(&mut s, f, strs)?;
    s.finish()
}

/// The fixed header at the start of `buf`: `(byte 0, header length,
/// remaining length)`, or `None` while `buf` holds only part of it.
/// Refuses types 0 and 15, flags MQTT 3.1.1 forbids for the type (PUBLISH:
/// QoS 3, DUP with QoS 0) and a remaining length of more than 4 bytes.
pub fn header(buf: &[u8]) -> Result<Option<(u8, usize, usize)>> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let flags = first & 15;
    let ok = match first >> 4 {
        0 | 15 => return Err(Error::MqttUnexpectedType),
        PUBLISH => flags & 6 != 6 && (flags & 8 == 0 || flags & 6 != 0),
        6 | SUBSCRIBE | 10 => flags == 2,
        _ => flags == 0,
    };
    if !ok {
        return Err(Error::MqttMalformed);
    }
    let mut rl = 0;
    for i in 0..4 {
        let Some(&b) = buf.get(1 + i) else {
            return Ok(None);
        };
        rl |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((first, 2 + i, rl)));
        }
    }
    Err(Error::MqttRemainingLength)
}

/// A received packet (offsets are into the packet given to [`parse`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Packet {
    /// The packet type.
    pub kind: u8,
    /// PUBLISH: the fixed header's flags (bit 3 DUP, bits 2-1 QoS).
    /// CONNACK: 1 when session present.
    pub flags: u8,
    /// CONNACK: the return code.
    pub code: u8,
    /// PUBLISH (QoS 1), PUBACK, SUBACK, UNSUBACK.
    pub packet_id: u16,
    /// PUBLISH: the topic is `topic_start..topic_end`.
    pub topic_start: usize,
    pub topic_end: usize,
    /// PUBLISH: where the payload starts (it runs to the end);
    /// SUBACK: where the return codes start.
    pub payload_start: usize,
}

/// Parses one whole packet (fixed header included, exactly its length).
pub fn parse(p: &[u8]) -> Result<Packet> {
    let (first, hl, rl) = header(p)?.ok_or(Error::MqttLengthPastEnd)?;
    if hl.checked_add(rl) != Some(p.len()) {
        return Err(Error::MqttMalformed);
    }
    let byte = |i: usize| p.get(i).copied().ok_or(Error::MqttLengthPastEnd);
    let u16_at = |i: usize| Ok::<_, Error>(u16::from(byte(i)?) << 8 | u16::from(byte(i + 1)?));
    let kind = first >> 4;
    let mut r = Packet {
        kind,
        flags: first & 15,
        ..Packet::default()
    };
    // Malformed unless proven otherwise, per type.
    let ok = match kind {
        CONNACK => {
            r.flags = byte(hl)?;
            r.code = byte(hl + 1)?;
            rl == 2 && r.flags < 2
        }
        PUBLISH => {
            r.topic_start = hl + 2;
            r.topic_end = r.topic_start + usize::from(u16_at(hl)?);
            let topic = p
                .get(r.topic_start..r.topic_end)
                .ok_or(Error::MqttLengthPastEnd)?;
            check_str(topic, true, false)?;
            r.payload_start = r.topic_end;
            if first & 6 != 0 {
                r.packet_id = u16_at(r.topic_end)?;
                r.payload_start += 2;
            }
            first & 6 == 0 || r.packet_id != 0
        }
        PUBACK | UNSUBACK | SUBACK => {
            r.packet_id = u16_at(hl)?;
            r.payload_start = hl + 2;
            let codes = p.get(r.payload_start..).unwrap_or_default();
            r.packet_id != 0
                && if kind == SUBACK {
                    !codes.is_empty() && codes.iter().all(|&c| c < 3 || c == 0x80)
                } else {
                    rl == 2
                }
        }
        PINGRESP => rl == 0,
        _ => return Err(Error::MqttUnexpectedType),
    };
    if ok {
        Ok(r)
    } else {
        Err(Error::MqttMalformed)
    }
}

/// An IoT Hub topic, classified by [`topic`]. The decoded pieces are in
/// the caller's buffer, piece `i` at `ends[i - 1]..ends[i]` (from 0 for the
/// first): the head pieces (kind 1: the `$rid`; kind 3: the method name,
/// the `$rid`), then the property bag as name, value, name, value, ...
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Topic {
    /// 0 other, 1 twin response, 2 desired-properties patch, 3 direct
    /// method, 4 cloud-to-device message.
    pub kind: u8,
    /// Kind 1: the status; kind 2: the `$version`.
    pub number: u32,
    pub n_pieces: usize,
    pub ends: [usize; TOPIC_PIECES],
}

impl Default for Topic {
    fn default() -> Self {
        Topic {
            kind: 0,
            number: 0,
            n_pieces: 0,
            ends: [0; TOPIC_PIECES],
        }
    }
}

/// A decimal number up to u32::MAX.
fn decimal(b: &[u8]) -> Result<u32> {
    let mut n: u32 = 0;
    for &c in b {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u32::from(c.wrapping_sub(b'0'))))
            .filter(|_| c.is_ascii_digit())
            .ok_or(Error::MqttBadTopic)?;
    }
    if b.is_empty() {
        return Err(Error::MqttBadTopic);
    }
    Ok(n)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `enc` into `w` (`%XX` in either case; `+` stays `+`).
pub fn decode_into(w: &mut Writer<'_>, enc: &[u8]) -> Result<()> {
    let mut i = 0;
    while let Some(&c) = enc.get(i) {
        let b = if c == b'%' {
            i += 2;
            let d = |j: usize| enc.get(j).copied().and_then(hex);
            match (d(i - 1), d(i)) {
                (Some(h), Some(l)) => h << 4 | l,
                _ => return Err(Error::MqttBadBag),
            }
        } else {
            c
        };
        w.push_byte(b)?;
        i += 1;
    }
    Ok(())
}

/// The bag's next `name=value` pair from `*at` on (encoded; empty pairs
/// skipped; a pair without `=` has an empty value). One plain function,
/// not an iterator chain: each use of a chain is its own code.
fn next_pair<'a>(bag: &'a [u8], at: &mut usize) -> Option<(&'a [u8], &'a [u8])> {
    loop {
        let rest = bag.get(*at..).filter(|r| !r.is_empty())?;
        let end = rest.iter().position(|&c| c == b'&').unwrap_or(rest.len());
        *at += end + 1;
        let p = rest.get(..end).unwrap_or_default();
        if !p.is_empty() {
            return Some(match p.iter().position(|&c| c == b'=') {
                Some(i) => (
                    p.get(..i).unwrap_or_default(),
                    p.get(i + 1..).unwrap_or_default(),
                ),
                None => (p, &[]),
            });
        }
    }
}

/// True when `enc` decodes to `name`.
fn decodes_to(enc: &[u8], name: &[u8]) -> bool {
    let mut b = [0u8; 12];
    let mut w = Writer::new(&mut b);
    decode_into(&mut w, enc).is_ok() && w.written() == name
}

/// Appends one piece (percent-decoded when `dec`), which must be UTF-8.
fn piece(w: &mut Writer<'_>, r: &mut Topic, b: &[u8], dec: bool) -> Result<()> {
    let start = w.len();
    if dec {
        decode_into(w, b)?;
    } else {
        w.push(b)?;
    }
    if !is_utf8(w.written_since(start)) {
        return Err(Error::MqttBadBag);
    }
    let end = r.ends.get_mut(r.n_pieces).ok_or(Error::MqttBadBag)?;
    *end = w.len();
    r.n_pieces += 1;
    Ok(())
}

/// Classifies IoT Hub topic `t` for device `device_id`, decoding its
/// pieces into `out` (as long as `t` is always enough):
///
/// - 1 `$iothub/twin/res/{status}/?$rid={rid}[&...]`: `number` the status,
///   piece 0 the `$rid`, then the other pairs (`$version`);
/// - 2 `$iothub/twin/PATCH/properties/desired/?$version={v}[&...]`:
///   `number` the version, then the other pairs;
/// - 3 `$iothub/methods/POST/{name}/?$rid={rid}[&...]`: pieces 0 and 1
///   the name and the `$rid`, then the other pairs;
/// - 4 `devices/{device_id}/messages/devicebound/[?]{bag}`: the pairs;
/// - 0 anything else (no pieces).
///
/// `MqttBadTopic` for kinds 1-3 without their number or `$rid`;
/// `MqttBadBag` for a bad `%` escape, a piece that is not UTF-8, more
/// than 16 pairs.
pub fn topic(t: &[u8], device_id: &[u8], out: &mut [u8], r: &mut Topic) -> Result<()> {
    *r = Topic::default();
    let mut w = Writer::new(out);
    let (kind, rest) = if let Some(rest) = t.strip_prefix(b"$iothub/twin/res/") {
        (1, rest)
    } else if let Some(rest) = t.strip_prefix(b"$iothub/twin/PATCH/properties/desired/") {
        (2, rest)
    } else if let Some(rest) = t.strip_prefix(b"$iothub/methods/POST/") {
        (3, rest)
    } else if let Some(rest) = t
        .strip_prefix(b"devices/")
        .and_then(|t| t.strip_prefix(device_id))
        .and_then(|t| t.strip_prefix(b"/messages/devicebound/"))
    {
        (4, rest)
    } else {
        return Ok(());
    };
    // kinds 1, 3: "{segment}/?{bag}"; 2: "?{bag}"; 4: "[?]{bag}".
    let slash = match kind {
        1 | 3 => rest
            .iter()
            .position(|&c| c == b'/')
            .filter(|&i| i > 0)
            .ok_or(Error::MqttBadTopic)?,
        _ => 0,
    };
    let seg = rest.get(..slash).unwrap_or_default();
    let tail = rest
        .get(slash + usize::from(slash > 0)..)
        .unwrap_or_default();
    let bag = match tail.strip_prefix(b"?") {
        Some(bag) => bag,
        None if kind == 4 => tail,
        None => return Err(Error::MqttBadTopic),
    };
    // The pair the head takes out of the bag: $rid (1, 3) or $version (2).
    let key: &[u8] = if kind == 2 { b"$version" } else { b"$rid" };
    let (mut at, mut n, mut taken, mut value) = (0, 0, usize::MAX, None);
    while let Some((k, v)) = next_pair(bag, &mut at) {
        if value.is_none() && kind != 4 && decodes_to(k, key) {
            taken = n;
            value = Some(v);
        }
        n += 1;
    }
    if n > MAX_PAIRS {
        return Err(Error::MqttBadBag);
    }
    if kind != 4 {
        let v = value.ok_or(Error::MqttBadTopic)?;
        if kind == 1 {
            r.number = decimal(seg)?;
        }
        if kind == 2 {
            let mut b = [0u8; 12];
            let mut d = Writer::new(&mut b);
            decode_into(&mut d, v).map_err(|_| Error::MqttBadTopic)?;
            r.number = decimal(d.written())?;
        }
        if kind == 3 {
            piece(&mut w, r, seg, false)?;
        }
        if kind != 2 {
            piece(&mut w, r, v, true)?;
        }
    }
    let (mut at, mut i) = (0, 0);
    while let Some((k, v)) = next_pair(bag, &mut at) {
        if i != taken {
            piece(&mut w, r, k, true)?;
            piece(&mut w, r, v, true)?;
        }
        i += 1;
    }
    r.kind = kind;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    /// Counts, writes into exactly that size, checks one byte less fails.
    fn fr(kind: u8, flags: u8, number: u32, body_len: usize, strs: &[&[u8]]) -> Result<Vec<u8>> {
        let f = Frame {
            kind,
            flags,
            number,
            body_len,
        };
        let n = frame_into(None, &f, strs)?;
        let mut out = std::vec![0u8; n];
        assert_eq!(frame_into(Some(&mut out), &f, strs), Ok(n));
        let mut short = std::vec![0u8; n - 1];
        assert_eq!(
            frame_into(Some(&mut short), &f, strs),
            Err(Error::BufferTooSmall)
        );
        Ok(out)
    }

    const TOKEN: &[u8] = b"SharedAccessSignature sr=iot-hub-for-test.azure-devices.net%2Fdevices%2Fiot-device-for-test&sig=SIumZ1ACqqPJZ2okHDlW9MSYKykEpqsQY3z6FMOICd4%3D&se=1471940363";
    const USER: &[u8] =
        b"iot-hub-for-test.azure-devices.net/iot-device-for-test/?api-version=2021-04-12";

    fn lstr(b: &[u8]) -> Vec<u8> {
        let mut v = std::vec![(b.len() >> 8) as u8, b.len() as u8];
        v.extend_from_slice(b);
        v
    }

    #[test]
    fn connect_worked_example() {
        // azure-mqtt.md §7 worked example 1: 272 bytes, RL 269.
        let p = fr(CONNECT, 0, 240, 0, &[b"iot-device-for-test", USER, TOKEN]).unwrap();
        let mut want = std::vec![0x10, 0x8D, 0x02, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xC0, 0, 0xF0];
        want.extend(lstr(b"iot-device-for-test"));
        want.extend(lstr(USER));
        want.extend(lstr(TOKEN));
        assert_eq!(p.len(), 272);
        assert_eq!(p, want);
        // Without a password, with clean session.
        let p = fr(CONNECT, 2, 60, 0, &[b"d", b"u"]).unwrap();
        assert_eq!(p, b"\x10\x10\x00\x04MQTT\x04\x82\x00\x3c\x00\x01d\x00\x01u");
        assert_eq!(
            fr(CONNECT, 0, 65536, 0, &[b"d", b"u"]),
            Err(Error::MqttBadArgument)
        );
        assert_eq!(fr(CONNECT, 0, 1, 0, &[b"d"]), Err(Error::MqttBadArgument));
        assert_eq!(
            fr(CONNECT, 0, 1, 0, &[b"d\0", b"u"]),
            Err(Error::MqttInvalidString)
        );
        assert_eq!(
            fr(CONNECT, 0, 1, 0, &[b"d", b"\xff"]),
            Err(Error::MqttInvalidString)
        );
        let long = std::vec![b'a'; 65536];
        assert_eq!(
            fr(CONNECT, 0, 1, 0, &[b"d", &long]),
            Err(Error::MqttTooLong)
        );
        assert!(fr(CONNECT, 0, 1, 0, &[b"d", &long[1..]]).is_ok());
    }

    #[test]
    fn publish_worked_example() {
        // azure-mqtt.md §7 worked example 2 (the body follows the header).
        let mut p = fr(
            PUBLISH,
            0,
            1,
            10,
            &[b"devices/dev-1/messages/events/", b"level", b"warn"],
        )
        .unwrap();
        p.extend_from_slice(br#"{"t":21.5}"#);
        let want = b"\x32\x36\x00\x28devices/dev-1/messages/events/level=warn\x00\x01{\"t\":21.5}";
        assert_eq!(p, want);
        // QoS 0 twin GET (§4): 30 1A 00 18 "$iothub/twin/GET/?$rid=1".
        let p = fr(PUBLISH, 0, 0, 0, &[b"$iothub/twin/GET/?$rid=1"]).unwrap();
        assert_eq!(p, b"\x30\x1a\x00\x18$iothub/twin/GET/?$rid=1");
        // DUP, properties percent-encoded, several joined by &.
        let p = fr(
            PUBLISH,
            8,
            0x1234,
            0,
            &[b"t/", b"$.ct", b"application/json", b"a b", b""],
        )
        .unwrap();
        assert_eq!(
            p,
            b"\x3a\x26\x00\x22t/%24.ct=application%2Fjson&a%20b=\x12\x34"
        );
        // §8: 48-byte body, no properties: 84 bytes in all.
        let p = fr(PUBLISH, 0, 1, 48, &[b"devices/dev-1/messages/events/"]).unwrap();
        assert_eq!(p.len() + 48, 84);
        for (flags, id, strs) in [
            (8u8, 0u32, &[&b"t"[..]][..]), // DUP with QoS 0
            (0, 65536, &[b"t"]),           // packet id
            (0, 1, &[b"t", b"k"]),         // a name without value
            (0, 1, &[]),                   // no topic
        ] {
            assert_eq!(fr(PUBLISH, flags, id, 0, strs), Err(Error::MqttBadArgument));
        }
        for t in [&b""[..], b"a/+", b"a/#", b"a\0", b"\xc3"] {
            assert_eq!(fr(PUBLISH, 0, 1, 0, &[t]), Err(Error::MqttInvalidString));
        }
        let mut many: Vec<&[u8]> = std::vec![b"t"];
        many.extend([&b"k"[..]; 32]);
        assert!(fr(PUBLISH, 0, 1, 0, &many).is_ok());
        many.extend([&b"k"[..]; 2]);
        assert_eq!(fr(PUBLISH, 0, 1, 0, &many), Err(Error::MqttBadArgument));
        // The whole packet's RL: 2 + 1 + 2 + body at most 268,435,455.
        assert!(fr(PUBLISH, 0, 1, MAX_REMAINING_LENGTH - 5, &[b"t"]).is_ok());
        for big in [MAX_REMAINING_LENGTH - 4, usize::MAX] {
            assert_eq!(fr(PUBLISH, 0, 1, big, &[b"t"]), Err(Error::MqttTooLong));
        }
        // The topic with its bag at most 65,535 bytes.
        let v = std::vec![b'v'; 65533];
        assert!(fr(PUBLISH, 0, 0, 0, &[b"t", b"k", &v[..65532]]).is_ok());
        assert_eq!(
            fr(PUBLISH, 0, 0, 0, &[b"t", b"k", &v]),
            Err(Error::MqttTooLong)
        );
    }

    #[test]
    fn subscribe_and_small_packets() {
        // §4: SUBSCRIBE id 2, two filters at QoS 0 (67 bytes, RL 65).
        let p = fr(
            SUBSCRIBE,
            0,
            2,
            0,
            &[
                b"$iothub/twin/res/#",
                b"$iothub/twin/PATCH/properties/desired/#",
            ],
        )
        .unwrap();
        let mut want = std::vec![0x82, 0x41, 0x00, 0x02];
        want.extend(lstr(b"$iothub/twin/res/#"));
        want.push(0);
        want.extend(lstr(b"$iothub/twin/PATCH/properties/desired/#"));
        want.push(0);
        assert_eq!((p.len(), &p), (67, &want));
        let p = fr(SUBSCRIBE, 0b10, 7, 0, &[b"a/+", b"b/#"]).unwrap();
        assert_eq!(p, b"\x82\x0e\x00\x07\x00\x03a/+\x00\x00\x03b/#\x01");
        assert_eq!(fr(SUBSCRIBE, 0, 0, 0, &[b"a"]), Err(Error::MqttBadArgument));
        assert_eq!(fr(SUBSCRIBE, 0, 1, 0, &[]), Err(Error::MqttBadArgument));
        assert_eq!(
            fr(SUBSCRIBE, 0, 1, 0, &[&b"a"[..]; 9]),
            Err(Error::MqttBadArgument)
        );
        assert!(fr(SUBSCRIBE, 0, 1, 0, &[&b"a"[..]; 8]).is_ok());
        assert_eq!(
            fr(SUBSCRIBE, 0, 1, 0, &[b""]),
            Err(Error::MqttInvalidString)
        );
        assert_eq!(fr(PUBACK, 0, 1, 0, &[]).unwrap(), b"\x40\x02\x00\x01");
        assert_eq!(fr(PUBACK, 0, 65535, 0, &[]).unwrap(), b"\x40\x02\xff\xff");
        assert_eq!(fr(PUBACK, 0, 0, 0, &[]), Err(Error::MqttBadArgument));
        assert_eq!(fr(PINGREQ, 0, 0, 0, &[]).unwrap(), b"\xc0\x00");
        assert_eq!(fr(DISCONNECT, 0, 0, 0, &[]).unwrap(), b"\xe0\x00");
        for k in [0, 2, 5, 13, 15, 255] {
            assert_eq!(fr(k, 0, 1, 0, &[]), Err(Error::MqttBadArgument));
        }
    }

    /// The remaining length a PUBLISH with topic "t" QoS 0 and `body` gets.
    fn rl_bytes(rl: usize) -> Vec<u8> {
        let p = fr(PUBLISH, 0, 0, rl - 3, &[b"t"]).unwrap();
        p[1..p.len() - 3].to_vec()
    }

    #[test]
    fn remaining_length_boundaries() {
        // §7: the boundary values (shortest forms).
        for (n, want) in [
            (3usize, &[0x03][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xff, 0xff, 0x7f]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (268_435_455, &[0xff, 0xff, 0xff, 0x7f]),
        ] {
            assert_eq!(rl_bytes(n), want, "{n}");
            let mut h = std::vec![0x30];
            h.extend_from_slice(want);
            assert_eq!(header(&h), Ok(Some((0x30, 1 + want.len(), n))));
            // Every shorter prefix is "need more".
            for k in 0..h.len() {
                assert_eq!(header(&h[..k]), Ok(None));
            }
        }
        for (b, n) in [
            (&[0x80, 0x00][..], 0usize),
            (&[0x00], 0),
            (&[0x81, 0x80, 0x00], 1),
        ] {
            let mut h = std::vec![0xd0];
            h.extend_from_slice(b);
            assert_eq!(header(&h), Ok(Some((0xd0, 1 + b.len(), n))));
        }
        assert_eq!(
            header(b"\xd0\x80\x80\x80\x80"),
            Err(Error::MqttRemainingLength)
        );
        assert_eq!(
            header(b"\xd0\xff\xff\xff\xff\x01"),
            Err(Error::MqttRemainingLength)
        );
        // Types 0 and 15, forbidden flags.
        assert_eq!(header(b"\x00"), Err(Error::MqttUnexpectedType));
        assert_eq!(header(b"\xf0\x00"), Err(Error::MqttUnexpectedType));
        for b in [0x36u8, 0x38, 0x3e, 0x21, 0x80, 0x91, 0xd8, 0xa0, 0x60] {
            assert_eq!(header(&[b, 0]), Err(Error::MqttMalformed), "{b:#x}");
        }
        for b in [0x30u8, 0x31, 0x32, 0x3b, 0x3d, 0x82, 0xa2, 0x62, 0x40] {
            if b != 0x62 {
                assert!(header(&[b, 0]).unwrap().is_some(), "{b:#x}");
            }
        }
        assert_eq!(header(b""), Ok(None));
    }

    #[test]
    fn parse_broker_packets() {
        assert_eq!(
            parse(b"\x20\x02\x01\x05"),
            Ok(Packet {
                kind: CONNACK,
                flags: 1,
                code: 5,
                ..Packet::default()
            })
        );
        assert_eq!(parse(b"\x20\x02\x02\x00"), Err(Error::MqttMalformed));
        assert_eq!(parse(b"\x20\x03\x00\x00\x00"), Err(Error::MqttMalformed));
        assert_eq!(parse(b"\x20\x00"), Err(Error::MqttLengthPastEnd));
        // §4: SUBACK id 2, two codes; the twin answer (QoS 0, 79-byte body).
        let r = parse(b"\x90\x04\x00\x02\x00\x80").unwrap();
        assert_eq!((r.kind, r.packet_id, r.payload_start), (SUBACK, 2, 4));
        assert_eq!(parse(b"\x90\x03\x00\x02\x03"), Err(Error::MqttMalformed));
        assert_eq!(parse(b"\x90\x02\x00\x02"), Err(Error::MqttMalformed));
        let body =
            br#"{"desired":{"interval":30,"$version":4},"reported":{"fw":"1.0.2","$version":5}}"#;
        let mut p = b"\x30\x6d\x00\x1c$iothub/twin/res/200/?$rid=1".to_vec();
        p.extend_from_slice(body);
        assert_eq!(p.len(), 111);
        let r = parse(&p).unwrap();
        assert_eq!((r.kind, r.flags, r.packet_id), (PUBLISH, 0, 0));
        assert_eq!(
            &p[r.topic_start..r.topic_end],
            b"$iothub/twin/res/200/?$rid=1"
        );
        assert_eq!(&p[r.payload_start..], body);
        // QoS 1 with DUP: packet id after the topic.
        let r = parse(b"\x3a\x07\x00\x01t\x00\x09xy").unwrap();
        assert_eq!((r.flags, r.packet_id, r.payload_start), (10, 9, 7));
        assert_eq!(
            parse(b"\x32\x05\x00\x01t\x00\x00"),
            Err(Error::MqttMalformed)
        );
        assert_eq!(
            parse(b"\x32\x04\x00\x01t\x00"),
            Err(Error::MqttLengthPastEnd)
        );
        assert_eq!(parse(b"\x30\x03\x00\x05t"), Err(Error::MqttLengthPastEnd));
        assert_eq!(parse(b"\x30\x02\x00\x00"), Err(Error::MqttInvalidString));
        assert_eq!(parse(b"\x30\x03\x00\x01#"), Err(Error::MqttInvalidString));
        assert_eq!(
            parse(b"\x30\x04\x00\x02\xc3\x28"),
            Err(Error::MqttInvalidString)
        );
        assert_eq!(
            parse(b"\x30\x05\x00\x03\xed\xa0\x80"),
            Err(Error::MqttInvalidString)
        );
        assert_eq!(
            parse(b"\x30\x03\x00\x01\x00"),
            Err(Error::MqttInvalidString)
        );
        // U+FEFF is data, not stripped.
        assert!(parse(b"\x30\x05\x00\x03\xef\xbb\xbf").is_ok());
        assert_eq!(parse(b"\x40\x02\x00\x01").unwrap().packet_id, 1);
        assert_eq!(parse(b"\x40\x02\x00\x00"), Err(Error::MqttMalformed));
        assert_eq!(parse(b"\x40\x03\x00\x01\x00"), Err(Error::MqttMalformed));
        assert_eq!(parse(b"\xb0\x02\x01\x00").unwrap().packet_id, 256);
        assert_eq!(parse(b"\xd0\x00").unwrap().kind, PINGRESP);
        assert_eq!(parse(b"\xd0\x01\x00"), Err(Error::MqttMalformed));
        // Length mismatch either way.
        assert_eq!(parse(b"\xd0\x00\x00"), Err(Error::MqttMalformed));
        assert_eq!(parse(b"\x40\x02\x00"), Err(Error::MqttMalformed));
        assert_eq!(parse(b"\x40"), Err(Error::MqttLengthPastEnd));
        for p in [
            &b"\x10\x00"[..],
            b"\x82\x00",
            b"\xc0\x00",
            b"\xe0\x00",
            b"\x50\x02\x00\x01",
            b"\x62\x02\x00\x01",
            b"\xa2\x00",
        ] {
            assert_eq!(parse(p), Err(Error::MqttUnexpectedType));
        }
    }

    /// (kind, number, pieces as strings)
    fn tp(t: &[u8], dev: &[u8]) -> Result<(u8, u32, Vec<String>)> {
        let mut out = std::vec![0u8; t.len()];
        let mut r = Topic::default();
        topic(t, dev, &mut out, &mut r)?;
        let mut v = Vec::new();
        let mut start = 0;
        for &end in &r.ends[..r.n_pieces] {
            v.push(String::from_utf8(out[start..end].to_vec()).unwrap());
            start = end;
        }
        Ok((r.kind, r.number, v))
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| String::from(*s)).collect()
    }

    #[test]
    fn iot_hub_topics() {
        assert_eq!(
            tp(b"$iothub/twin/res/204/?$rid=2&$version=6", b"d"),
            Ok((1, 204, strs(&["2", "$version", "6"])))
        );
        assert_eq!(
            tp(b"$iothub/twin/res/200/?%24rid=a%2Fb", b"d"),
            Ok((1, 200, strs(&["a/b"])))
        );
        assert_eq!(
            tp(b"$iothub/twin/PATCH/properties/desired/?$version=7", b"d"),
            Ok((2, 7, strs(&[])))
        );
        assert_eq!(
            tp(b"$iothub/methods/POST/reboot/?$rid=1", b"d"),
            Ok((3, 0, strs(&["reboot", "1"])))
        );
        // §3's example bag, decoded.
        let c2d = b"devices/dev-1/messages/devicebound/%24.mid=6b822696-f75a-46f5-8b02-0680db65abf5&%24.to=%2Fdevices%2Fdev-1%2Fmessages%2FdeviceBound&%24.ct=text%2Fplain%3B%20charset%3DUTF-8&%24.ce=utf-8&iothub-ack=full&prop1&prop2=&prop3=a%20string";
        assert_eq!(
            tp(c2d, b"dev-1"),
            Ok((
                4,
                0,
                strs(&[
                    "$.mid",
                    "6b822696-f75a-46f5-8b02-0680db65abf5",
                    "$.to",
                    "/devices/dev-1/messages/deviceBound",
                    "$.ct",
                    "text/plain; charset=UTF-8",
                    "$.ce",
                    "utf-8",
                    "iothub-ack",
                    "full",
                    "prop1",
                    "",
                    "prop2",
                    "",
                    "prop3",
                    "a string"
                ])
            ))
        );
        assert_eq!(tp(c2d, b"dev-2"), Ok((0, 0, strs(&[]))));
        assert_eq!(
            tp(b"devices/d/messages/devicebound/?a+b=%e2%82%ac", b"d"),
            Ok((4, 0, strs(&["a+b", "€"])))
        );
        assert_eq!(
            tp(b"devices/d/messages/devicebound/", b"d"),
            Ok((4, 0, strs(&[])))
        );
        for other in [
            &b"devices/d/messages/events/"[..],
            b"$iothub/twin/res",
            b"x",
            b"",
        ] {
            assert_eq!(tp(other, b"d"), Ok((0, 0, strs(&[]))));
        }
        for (t, e) in [
            (&b"$iothub/twin/res/abc/?$rid=1"[..], Error::MqttBadTopic),
            (b"$iothub/twin/res//?$rid=1", Error::MqttBadTopic),
            (b"$iothub/twin/res/99999999999/?$rid=1", Error::MqttBadTopic),
            (b"$iothub/twin/res/200/?$version=1", Error::MqttBadTopic),
            (b"$iothub/twin/res/200", Error::MqttBadTopic),
            (
                b"$iothub/twin/PATCH/properties/desired/?$version=x",
                Error::MqttBadTopic,
            ),
            (
                b"$iothub/twin/PATCH/properties/desired/?$version=",
                Error::MqttBadTopic,
            ),
            (
                b"$iothub/twin/PATCH/properties/desired/",
                Error::MqttBadTopic,
            ),
            (b"$iothub/methods/POST/reboot", Error::MqttBadTopic),
            (b"$iothub/methods/POST//?$rid=1", Error::MqttBadTopic),
            (b"$iothub/methods/POST/\xff/?$rid=1", Error::MqttBadBag),
            (b"devices/d/messages/devicebound/a=%4", Error::MqttBadBag),
            (b"devices/d/messages/devicebound/a=%zz", Error::MqttBadBag),
            (b"devices/d/messages/devicebound/a%=1", Error::MqttBadBag),
            (b"devices/d/messages/devicebound/a=%ff", Error::MqttBadBag),
            (b"devices/d/messages/devicebound/a=%c3", Error::MqttBadBag),
        ] {
            assert_eq!(tp(t, b"d"), Err(e), "{}", String::from_utf8_lossy(t));
        }
        let mut t = b"devices/d/messages/devicebound/".to_vec();
        for i in 0..16 {
            t.extend_from_slice(std::format!("k{i}=v&").as_bytes());
        }
        assert_eq!(tp(&t, b"d").unwrap().2.len(), 32);
        t.extend_from_slice(b"x");
        assert_eq!(tp(&t, b"d"), Err(Error::MqttBadBag));
        // A buffer shorter than the topic may not do.
        let mut r = Topic::default();
        assert_eq!(
            topic(
                b"devices/d/messages/devicebound/a=b",
                b"d",
                &mut [0u8; 1],
                &mut r
            ),
            Err(Error::BufferTooSmall)
        );
    }

    fn props() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec((".{0,8}", ".{0,8}"), 0..=16)
    }

    proptest! {
        #[test]
        fn publish_round_trip(t in "[a-z/$?.=&-]{1,40}", p in props(), id in 0u32..=65535, body in 0usize..300) {
            let mut strs: Vec<&[u8]> = std::vec![t.as_bytes()];
            for (k, v) in &p {
                strs.push(k.as_bytes());
                strs.push(v.as_bytes());
            }
            let mut pkt = fr(PUBLISH, 0, id, body, &strs).unwrap();
            pkt.resize(pkt.len() + body, 0xAA);
            let r = parse(&pkt).unwrap();
            prop_assert_eq!(r.packet_id, id as u16);
            prop_assert_eq!(usize::from(r.flags >> 1 & 3), usize::from(id != 0));
            prop_assert_eq!(pkt.len() - r.payload_start, body);
            let topic_bytes = &pkt[r.topic_start..r.topic_end];
            prop_assert!(topic_bytes.starts_with(t.as_bytes()));
            // The bag decodes back: as a cloud-to-device topic.
            let mut c2d = b"devices/d/messages/devicebound/".to_vec();
            c2d.extend_from_slice(&topic_bytes[t.len()..]);
            let (kind, _, pieces) = tp(&c2d, b"d").unwrap();
            prop_assert_eq!(kind, 4);
            let want: Vec<String> = p
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect();
            prop_assert_eq!(pieces, want);
        }

        #[test]
        fn header_round_trip(rl in 3usize..=MAX_REMAINING_LENGTH) {
            let p = fr(PUBLISH, 0, 0, rl - 3, &[b"t"]).unwrap();
            prop_assert_eq!(header(&p), Ok(Some((0x30, p.len() - 3, rl))));
            prop_assert_eq!(p.len() - 3, 1 + match rl { 0..=127 => 1, 128..=16383 => 2, 16384..=2097151 => 3, _ => 4 });
        }

        #[test]
        fn arbitrary_input_never_panics(b in proptest::collection::vec(any::<u8>(), 0..80), cut in 0usize..80) {
            let _ = header(&b);
            if let Ok(r) = parse(&b) {
                prop_assert!(r.topic_start <= r.topic_end && r.topic_end <= b.len() && r.payload_start <= b.len());
            }
            let dev = &b[..cut.min(b.len())];
            let mut out = std::vec![0u8; b.len()];
            let mut r = Topic::default();
            if topic(&b, dev, &mut out, &mut r).is_ok() {
                prop_assert!(r.n_pieces <= TOPIC_PIECES);
                let mut last = 0;
                for &e in &r.ends[..r.n_pieces] {
                    prop_assert!(last <= e && e <= out.len());
                    last = e;
                }
            }
        }

        #[test]
        fn bag_topics_never_panic(bag in "[a-z$%0-9A-F=&?/+.]{0,60}") {
            for prefix in ["$iothub/twin/res/200/?", "$iothub/methods/POST/m/?", "$iothub/twin/PATCH/properties/desired/?", "devices/d/messages/devicebound/"] {
                let t = std::format!("{prefix}{bag}");
                let _ = tp(t.as_bytes(), b"d");
            }
        }
    }
}
