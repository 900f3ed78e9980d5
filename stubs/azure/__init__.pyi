"""Type stubs for `azure`, the Python layer of upy-azure (MicroPython)."""

from typing import Dict, List, Optional, Tuple, Union

from _azure import crc32 as crc32
from _azure import derive_device_key as derive_device_key
from _azure import sas_token as sas_token
from _azure import unix_time as unix_time


from .outbox import Outbox as Outbox
from .outbox import OutboxFull as OutboxFull

_Bytes = Union[bytes, bytearray, memoryview]

def parse_connection_string(conn_str: str) -> Dict[str, str]:
    """The portal's `Name=value;...` pairs, each split at its first `=`. ValueError names the missing part."""

_Body = Union[str, _Bytes]
_Properties = Optional[Dict[str, object]]
_Event = Union[_Body, Tuple[_Body], Tuple[_Body, _Properties], Tuple[_Body, _Properties, Optional[str]]]

class SendError(OSError):
    """A send that definitely failed: `status` is the HTTP status (None: connection), `text` the service's error text."""

    status: Optional[int]
    text: str

class TLSError(OSError):
    """The TLS handshake failed (certificate not trusted by ca_certs, or name mismatch)."""

class _Client:
    host: str
    max_retries: int
    max_size: int
    stats: Dict[str, int]
    def send(self, body: _Body, *, properties: _Properties = None, partition_key: Optional[str] = None,
             content_type: Optional[str] = None) -> int:
        """Sends one event; returns the HTTP status (201 or 204) once the service acknowledged it."""
    def send_batch(self, events: Union[List[_Event], Tuple[_Event, ...]]) -> int:
        """Sends the events in one request; returns once the service acknowledged all of them."""
    def close(self) -> None: ...
    def __enter__(self) -> "_Client": ...
    def __exit__(self, *exc: object) -> None: ...

class EventHubClient(_Client):
    @classmethod
    def from_connection_string(cls, conn_str: str, *, event_hub: Optional[str] = None,
                               publisher: Optional[str] = None, partition_id: Optional[str] = None,
                               endpoint: Optional[str] = None, ca_certs: Optional[str] = None,
                               insecure_disable_tls_verification: bool = False, token_ttl: int = 3600,
                               max_retries: int = 6, timeout: int = 30, max_size: int = 262144,
                               keep_alive: bool = True, backoff_base_ms: int = 500,
                               backoff_cap_ms: int = 30000) -> "EventHubClient": ...

class ServiceBusClient(_Client):
    @classmethod
    def from_connection_string(cls, conn_str: str, *, queue_name: Optional[str] = None,
                               topic_name: Optional[str] = None, endpoint: Optional[str] = None,
                               ca_certs: Optional[str] = None,
                               insecure_disable_tls_verification: bool = False, token_ttl: int = 3600,
                               max_retries: int = 6, timeout: int = 30, max_size: int = 262144,
                               keep_alive: bool = True, backoff_base_ms: int = 500,
                               backoff_cap_ms: int = 30000) -> "ServiceBusClient": ...

class IoTHubClient(_Client):
    @classmethod
    def from_connection_string(cls, conn_str: str, *, device_id: Optional[str] = None,
                               endpoint: Optional[str] = None, ca_certs: Optional[str] = None,
                               insecure_disable_tls_verification: bool = False, token_ttl: int = 3600,
                               max_retries: int = 6, timeout: int = 30, max_size: int = 262144,
                               keep_alive: bool = True, backoff_base_ms: int = 500,
                               backoff_cap_ms: int = 30000) -> "IoTHubClient": ...
