"""MQTT 3.1.1 packets for the endpoint's listener, encoded and decoded by a
maintained library (amqtt's packet classes under ``amqtt.mqtt``), so a
device's codec meets an independent implementation, not a second hand-written
one.

What is added here is the strictness a server owes the standard and amqtt
leaves out (it is lenient: a truncated CONNECT payload or SUBSCRIBE filter is
silently dropped, fixed-header flags are not checked):

* the whole packet (Remaining Length bytes, at most ``max_length``) is read
  first, then decoded from that buffer: a string running past the packet can
  never eat the next one;
* the decoded packet, encoded again by amqtt, must give back exactly the bytes
  received (catches truncated or trailing fields, non-UTF-8 strings, which
  amqtt turns into ``"b'..'"`` text, and unknown bits);
* fixed-header flags (SUBSCRIBE/UNSUBSCRIBE/PUBREL ``0010``, others ``0000``,
  PUBLISH QoS 3 or DUP with QoS 0), packet id 0, U+0000 in strings, empty
  SUBSCRIBE/UNSUBSCRIBE, packet types 0 and 15 [MQTT-2.2.2-2, 2.3.1-1,
  3.3.1-2, 3.8.3-3, 1.5.3-2].

Any of those raises :class:`ProtocolViolation`; the caller closes the
connection, as the standard asks."""

from __future__ import annotations

import asyncio
from typing import Optional

from amqtt.adapters import ReaderAdapter, StreamReaderAdapter
from amqtt.errors import AMQTTError, CodecError, MQTTError, NoDataError
from amqtt.mqtt import packet_class
from amqtt.mqtt.connack import ConnackPacket
from amqtt.mqtt.connect import ConnectPacket
from amqtt.mqtt.packet import (CONNECT, DISCONNECT, PINGREQ, PUBACK, PUBLISH, PUBREL, SUBSCRIBE,
                               UNSUBSCRIBE, MQTTFixedHeader)
from amqtt.mqtt.pingresp import PingRespPacket
from amqtt.mqtt.puback import PubackPacket
from amqtt.mqtt.publish import PublishPacket
from amqtt.mqtt.suback import SubackPacket
from amqtt.mqtt.unsuback import UnsubackPacket

__all__ = ["ProtocolViolation", "read_packet", "connack", "puback", "suback", "unsuback",
           "pingresp", "publish", "CONNECT", "DISCONNECT", "PINGREQ", "PUBACK", "PUBLISH",
           "SUBSCRIBE", "UNSUBSCRIBE", "ConnectPacket", "PublishPacket"]

TYPE_NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
              7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
              12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT"}
_FLAGS_0010 = (PUBREL, SUBSCRIBE, UNSUBSCRIBE)
_FIXED_LENGTH = {PUBACK: 2, 5: 2, PUBREL: 2, 7: 2, PINGREQ: 0, 13: 0, DISCONNECT: 0, 2: 2, 11: 2}


class ProtocolViolation(Exception):
    """The client broke MQTT 3.1.1: close the connection."""


class _Buffer(ReaderAdapter):
    """One packet's bytes; a read past the end gives what is left (amqtt's
    read_or_raise then raises NoDataError)."""

    def __init__(self, data: bytes):
        self._data, self._pos = data, 0

    async def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else min(len(self._data), self._pos + n)
        chunk = self._data[self._pos:end]
        self._pos = end
        return chunk

    def feed_eof(self) -> None:
        pass


def _strings(pkt) -> list:
    ptype = pkt.fixed_header.packet_type
    if ptype == CONNECT:
        p = pkt.payload
        return [s for s in (p.client_id, p.will_topic, p.username, p.password) if s]
    if ptype == PUBLISH:
        return [pkt.variable_header.topic_name]
    if ptype == SUBSCRIBE:
        return [t for t, _q in pkt.payload.topics]
    if ptype == UNSUBSCRIBE:
        return list(pkt.payload.topics)
    return []


def _check_header(fh: MQTTFixedHeader) -> None:
    ptype, flags = fh.packet_type, fh.flags
    name = TYPE_NAMES.get(ptype)
    if name is None:
        raise ProtocolViolation(f"packet type {ptype} is reserved")
    if ptype == PUBLISH:
        qos = (flags >> 1) & 3
        if qos == 3:
            raise ProtocolViolation("PUBLISH with QoS 3")
        if qos == 0 and flags & 0x08:
            raise ProtocolViolation("PUBLISH with DUP set at QoS 0")
    elif flags != (0x02 if ptype in _FLAGS_0010 else 0):
        raise ProtocolViolation(f"{name} with fixed-header flags {flags:04b}")
    want = _FIXED_LENGTH.get(ptype)
    if want is not None and fh.remaining_length != want:
        raise ProtocolViolation(f"{name} with Remaining Length {fh.remaining_length} (must be {want})")


async def read_packet(reader: asyncio.StreamReader, max_length: int):
    """The next packet (an amqtt packet object), or None at a clean end of
    stream.  Raises ProtocolViolation; connection errors pass through."""
    try:
        fh = await MQTTFixedHeader.from_stream(StreamReaderAdapter(reader))
    except MQTTError as e:      # a 5th Remaining Length byte
        raise ProtocolViolation(str(e)) from None
    if fh is None:
        return None
    _check_header(fh)
    if fh.remaining_length > max_length:
        raise ProtocolViolation(f"{TYPE_NAMES[fh.packet_type]} of {fh.remaining_length} bytes "
                                f"(at most {max_length})")
    body = await reader.readexactly(fh.remaining_length)
    return decode(fh, body)


def decode(fh: MQTTFixedHeader, body: bytes):
    """Decode one packet's variable header and payload with amqtt; check it."""
    name = TYPE_NAMES[fh.packet_type]
    try:
        cls = packet_class(fh)
        pkt = _run(cls.from_stream(_Buffer(body), fixed_header=fh))
    except (NoDataError, CodecError, MQTTError, AMQTTError, ValueError, UnicodeError) as e:
        raise ProtocolViolation(f"malformed {name}: {e or type(e).__name__}") from None
    vh = pkt.variable_header
    if vh is not None and getattr(vh, "packet_id", None) == 0 and \
            (fh.packet_type != PUBLISH or (fh.flags >> 1) & 3):
        raise ProtocolViolation(f"{name} with packet id 0")
    if fh.packet_type in (SUBSCRIBE, UNSUBSCRIBE) and not pkt.payload.topics:
        raise ProtocolViolation(f"{name} without a topic filter")
    if fh.packet_type == CONNECT and pkt.payload.client_id_is_random:
        # amqtt made up an id for an empty one: compare with what was sent
        pkt.payload.client_id = ""
    if fh.packet_type == SUBSCRIBE and any(q > 2 for _t, q in pkt.payload.topics):
        raise ProtocolViolation("SUBSCRIBE with a requested QoS above 2 (reserved bits set)")
    again = pkt.to_bytes()
    again = again[len(MQTTFixedHeader(fh.packet_type, fh.flags, len(body)).to_bytes()):]
    if again != body:
        raise ProtocolViolation(f"malformed {name}: a field is truncated, extra bytes follow, "
                                "a string is not UTF-8, or a reserved bit is set")
    if any("\x00" in s for s in _strings(pkt)):
        raise ProtocolViolation(f"{name} with U+0000 in a string")
    return pkt


def _run(coro):
    """Drive one of amqtt's from_stream coroutines over an in-memory buffer
    (it never really waits)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise ValueError("decoder waited on an in-memory buffer")


# -- packets the server sends (amqtt builds them) ----------------------------------------

def connack(code: int, session_present: bool = False) -> bytes:
    return ConnackPacket.build(1 if session_present else 0, code).to_bytes()


def puback(packet_id: int) -> bytes:
    return PubackPacket.build(packet_id).to_bytes()


def suback(packet_id: int, codes: list) -> bytes:
    return SubackPacket.build(packet_id, codes).to_bytes()


def unsuback(packet_id: int) -> bytes:
    return UnsubackPacket.build(packet_id).to_bytes()


def pingresp() -> bytes:
    return PingRespPacket.build().to_bytes()


def publish(topic: str, payload: bytes, qos: int = 0, packet_id: Optional[int] = None,
            dup: bool = False) -> bytes:
    return PublishPacket.build(topic, payload, packet_id if qos else None, dup, qos,
                               False).to_bytes()
