"""Type stubs for `_azure`, the native (Rust) module of upy-azure.

For editors and type checkers on the host; the module itself only exists
inside a MicroPython build that links it. Every firmware has the same
module (the WiPy included). The `azure` package builds on it; responses
are read by `azure.response.Response` and connection strings parsed by
`azure.parse_connection_string` (Python, the same on every board).
"""

from typing import Dict, List, Optional, Tuple, Union

_Bytes = Union[bytes, bytearray, memoryview]
_Properties = Optional[Dict[str, str]]
_Event = Union[str, _Bytes, Tuple[Union[str, _Bytes]], Tuple[Union[str, _Bytes], _Properties],
               Tuple[Union[str, _Bytes], _Properties, Optional[str]]]

def sas_token(uri: str, key: Union[str, _Bytes], key_name: Optional[str] = None, *,
              expiry: Optional[int] = None, ttl: int = 3600, key_is_base64: bool = False) -> str:
    """`SharedAccessSignature sr=..&sig=..&se=..[&skn=..]` for `uri`.

    `expiry` is absolute Unix seconds (up to 2**64-1); without it the token
    expires `ttl` seconds from `unix_time()` and an unset clock (before
    2020-01-01) raises ValueError. `key_is_base64=True` decodes the key
    first (IoT Hub; surrounding whitespace is ignored); otherwise the key's
    own bytes sign (Event Hubs, Service Bus).
    """

def derive_device_key(group_key: Union[str, _Bytes], registration_id: str) -> str:
    """The device key of a DPS enrollment-group member:
    base64(HMAC-SHA256(base64decode(group_key), registration_id))."""

def unix_time() -> int:
    """The port's clock as Unix seconds (the WiPy counts from 2000). OSError without a clock."""

def crc32(data: _Bytes, crc: int = 0) -> int:
    """CRC-32 (that of zlib and binascii.crc32), continuing from `crc`."""

def frame_head(method: str, path: Union[Tuple[str, ...], List[str], str], host: str,
               token: Optional[str], body_len: int = 0, query: Optional[str] = None,
               content_type: Optional[str] = None, properties: _Properties = None,
               prefix: Optional[str] = None, partition_key: Optional[str] = None,
               keep_alive: bool = True, max_size: int = 262144, /) -> bytes:
    """An HTTP/1.1 request head (request line, headers, blank line); the body
    is written after it. Positional arguments only.

    `path`: names (at most 8), each percent-encoded, joined by `/`; or a str
    used as given (a `Location` from the service). `token` is the
    Authorization value; `properties` become headers (`prefix` + name, at
    most 16); `partition_key` a `BrokerProperties` header. None leaves a
    part out. ValueError for anything that could change the request
    (CR/LF, non-ASCII, empty names, a reserved header, a body over
    `max_size`, `max_size` outside 1..1048576).
    """

def frame_batch(events: Union[List[_Event], Tuple[_Event, ...]], iot: bool = False,
                max_size: int = 262144, /) -> bytes:
    """A batch body: the Event Hubs/Service Bus JSON array, or (iot=True) the
    IoT Hub one with base64 bodies. Each event is a body or
    (body[, properties[, partition_key]])."""

def backoff_ms(attempt: int, rand: int, retry_after: Optional[int] = None,
               base_ms: int = 500, cap_ms: int = 30000, /) -> int:
    """Full-jitter exponential backoff: `rand` modulo min(cap_ms, base_ms * 2**attempt) + 1,
    at least `retry_after` seconds (capped at 120 s) when given."""

# ---- MQTT 3.1.1 (IoT Hub): framing of what a device sends, parsing of what
# a broker sends. Positional arguments only. Malformed input: ValueError("mqtt: ...").

_MqttFilter = Union[str, Tuple[str, int]]

def mqtt_connect(client_id: str, username: str, password: Optional[str], keepalive: int,
                 clean_session: bool, /) -> bytes:
    """A CONNECT packet (protocol level 4, user name [+ password], keep-alive 0..65535 s)."""

def mqtt_publish(topic: str, properties: _Properties, packet_id: int, body_len: int, dup: bool, /) -> bytes:
    """A PUBLISH's fixed and variable header; send the body (`body_len` bytes) after it.

    The property bag (at most 16; names and values percent-encoded,
    `name=value` joined by `&`) is appended to `topic` as is. `packet_id`
    0 is QoS 0, 1..65535 QoS 1; `dup` only with QoS 1."""

def mqtt_subscribe(packet_id: int, filters: Union[List[_MqttFilter], Tuple[_MqttFilter, ...]], /) -> bytes:
    """A SUBSCRIBE: 1 to 8 filters, each a str (QoS 1) or (str, qos) with qos 0 or 1."""

def mqtt_packet(kind: int, packet_id: int, /) -> bytes:
    """PUBACK (kind 4, packet id 1..65535), PINGREQ (12) or DISCONNECT (14, packet id ignored)."""

def mqtt_header(buf: _Bytes, /) -> Optional[Tuple[int, int, int, int]]:
    """(type, flags, header_len, remaining_len) of the fixed header at the start
    of `buf`, or None while it holds only part of it."""

def mqtt_parse(packet: _Bytes, /) -> tuple:
    """One whole packet from a broker: (2, session_present, return_code) CONNACK,
    (3, qos, dup, packet_id, topic_start, topic_end, payload_start) PUBLISH,
    (4, packet_id) PUBACK, (9, packet_id, return_codes) SUBACK,
    (11, packet_id) UNSUBACK, (13,) PINGRESP."""

def mqtt_topic(topic: Union[str, _Bytes], device_id: str, /) -> Tuple[int, Union[int, str, None], Optional[str], Dict[str, str]]:
    """An IoT Hub topic: (1, status, rid, props) twin response, (2, version, None, {})
    desired patch, (3, method_name, rid, {}) direct method, (4, None, None, props)
    cloud-to-device (the property bag percent-decoded), (0, None, None, {}) other."""
