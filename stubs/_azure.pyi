"""Type stubs for `_azure`, the native (Rust) module of upy-azure.

For editors and type checkers on the host; the module itself only exists
inside a MicroPython build that links it.
"""

from typing import Dict, List, Optional, Tuple, Union

_Bytes = Union[bytes, bytearray, memoryview]
_Properties = Optional[Dict[str, str]]
_Event = Union[str, _Bytes, Tuple[Union[str, _Bytes]], Tuple[Union[str, _Bytes], _Properties],
               Tuple[Union[str, _Bytes], _Properties, Optional[str]]]

EVENT_HUB: int
SERVICE_BUS: int
IOT_HUB: int
SUCCESS: int
RENEW: int
FATAL: int
RETRY: int

def sas_token(uri: str, key: Union[str, _Bytes], key_name: Optional[str] = None, *,
              expiry: Optional[int] = None, ttl: int = 3600, key_is_base64: bool = False) -> str:
    """`SharedAccessSignature sr=..&sig=..&se=..[&skn=..]` for `uri`.

    `expiry` is absolute Unix seconds (up to 2**64-1); without it the token
    expires `ttl` seconds from `unix_time()` and an unset clock (before
    2020-01-01) raises ValueError. `key_is_base64=True` decodes the key
    first (IoT Hub); otherwise the key's own bytes sign (Event Hubs, Service Bus).
    """

def unix_time() -> int:
    """The port's clock as Unix seconds (the WiPy counts from 2000). OSError without a clock."""

def parse_connection_string(s: str) -> Dict[str, str]:
    """The portal's `Name=value;...` pairs, each split at its first `=`. ValueError names the missing part."""

def frame_request(kind: int, host: str, entity: str, token: str, body_len: int, *,
                  publisher: Optional[str] = None, partition_id: Optional[str] = None,
                  module_id: Optional[str] = None, content_type: Optional[str] = None,
                  properties: _Properties = None, partition_key: Optional[str] = None,
                  batch: bool = False, keep_alive: bool = True, max_size: int = 262144) -> bytes:
    """The HTTP/1.1 request head (request line, headers, blank line) for one send; the body is written after it."""

def frame_batch(kind: int, events: Union[List[_Event], Tuple[_Event, ...]], *, max_size: int = 262144) -> bytes:
    """A batch body: the Event Hubs/Service Bus JSON array, or the IoT Hub one with base64 bodies."""

class Response:
    """Incremental HTTP/1.1 response reader, fed whatever bytes arrive."""

    status: int
    complete: bool
    keep_alive: bool
    retry_after: Optional[int]
    error_text: bytes
    want: int
    """What to read next: 0 a line, n > 0 exactly n body bytes, 2**32-1 until the connection closes."""

    def __init__(self) -> None: ...
    def feed(self, data: _Bytes) -> int:
        """Consumes bytes; returns how many (fewer only once complete)."""
    def eof(self) -> None:
        """The connection closed: completes a read-until-close body, else OSError."""
    def reset(self) -> None: ...

def classify(status: int) -> int:
    """SUCCESS (2xx), RENEW (401), FATAL (other 4xx), RETRY (408, 429, 5xx)."""

def backoff_ms(attempt: int, rand: int, *, retry_after: Optional[int] = None,
               base_ms: int = 500, cap_ms: int = 30000) -> int:
    """Full-jitter exponential backoff, capped, at least `retry_after` seconds when given."""
