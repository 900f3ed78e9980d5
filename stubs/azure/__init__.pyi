"""Type stubs for `azure`, the Python layer of upy-azure (MicroPython)."""

from typing import Callable, Dict, List, Optional, Tuple, Union

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
    token_expires: Optional[int]
    """Unix time the current token expires: a given token's `se`, or (key on the device) the last
    signed one's (None before the first request)."""
    def set_token(self, token: str) -> None:
        """Use this token (`SharedAccessSignature sr=..&sig=..&se=..`, sent as given) from the next
        request on; the client then holds no key. ValueError/TypeError if it is not a token."""
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
                               insecure_disable_tls_verification: bool = False, token: Optional[str] = None,
                               token_ttl: int = 3600,
                               max_retries: int = 6, timeout: int = 30, max_size: int = 262144,
                               keep_alive: bool = True, backoff_base_ms: int = 500,
                               backoff_cap_ms: int = 30000, receive_max: int = 4096) -> "EventHubClient": ...

class ServiceBusClient(_Client):
    subscription_name: Optional[str]
    """The topic subscription receive() reads from (None: the queue)."""
    @classmethod
    def from_connection_string(cls, conn_str: str, *, queue_name: Optional[str] = None,
                               topic_name: Optional[str] = None, subscription_name: Optional[str] = None,
                               endpoint: Optional[str] = None,
                               ca_certs: Optional[str] = None,
                               insecure_disable_tls_verification: bool = False, token: Optional[str] = None,
                               token_ttl: int = 3600,
                               max_retries: int = 6, timeout: int = 30, max_size: int = 262144,
                               keep_alive: bool = True, backoff_base_ms: int = 500,
                               backoff_cap_ms: int = 30000, receive_max: int = 4096) -> "ServiceBusClient": ...
    def receive(self, timeout: int = 10, delete: bool = False) -> Optional["Message"]:
        """The next message of the queue (or subscription), or None when none came within `timeout`
        seconds (an int below the client's timeout). Peek-lock: settle it with complete or abandon
        before the entity's lock duration ends. delete=True: receive and delete (at most once).
        A body over receive_max raises ValueError; a malformed answer SendError."""
    def complete(self, msg: "Message") -> int:
        """DELETE on the message's Location: removed (200). LockLostError (404) if the lock is gone."""
    def abandon(self, msg: "Message") -> int:
        """PUT on the Location: unlocked (200); it comes back with DeliveryCount + 1."""
    def renew_lock(self, msg: "Message") -> int:
        """POST on the Location: locked for another lock duration from now (200), for processing
        that takes longer than one. LockLostError (404) if the lock is gone already."""

class IoTHubClient(_Client):
    @classmethod
    def from_connection_string(cls, conn_str: str, *, device_id: Optional[str] = None,
                               endpoint: Optional[str] = None, ca_certs: Optional[str] = None,
                               insecure_disable_tls_verification: bool = False, token: Optional[str] = None,
                               token_ttl: int = 3600,
                               max_retries: int = 6, timeout: int = 30, max_size: int = 262144,
                               keep_alive: bool = True, backoff_base_ms: int = 500,
                               backoff_cap_ms: int = 30000, receive_max: int = 4096) -> "IoTHubClient": ...
    @property
    def hub(self) -> str:
        """The IoT hub's host name."""
    @property
    def device_id(self) -> str: ...
    assignment: Dict[str, object]
    """Set on the client azure.provision() returns: what provision_info() returns."""
    def receive(self) -> Optional["Message"]:
        """The next cloud-to-device message, locked for this device (1 minute on IoT Hub), or None
        (204). Settle it with complete, reject or abandon. A body over receive_max raises ValueError;
        a malformed answer (no ETag, an ETag that cannot be a lock token) SendError."""
    def complete(self, msg: "Message") -> int:
        """Removes the message (204). LockLostError (412/404) if the lock expired."""
    def reject(self, msg: "Message") -> int:
        """Dead-letters the message (204). LockLostError if the lock expired."""
    def abandon(self, msg: "Message") -> int:
        """Back to the device's queue (204), delivery count raised. LockLostError if the lock expired."""

class ConnectRefused(SendError):
    """IoTHubMQTTClient: the broker refused the connection (CONNACK return code `code`: 1 bad protocol
    version, 2 client id rejected, 3 server unavailable, 4 bad user name or password, 5 not
    authorized). `final`: retrying cannot help (all but 3); those are raised at once, not retried."""

    code: int
    final: bool

class TwinError(SendError):
    """IoTHubMQTTClient: a twin request that failed: `status` IoT Hub's status (400, 429 after the
    retries, ...) or None when no answer came within the client's timeout."""

class _MQTTMessage:
    """A cloud-to-device message as IoTHubMQTTClient.on_message receives it (azure/mqtt.py Message)."""

    body: bytes
    properties: Dict[str, str]
    """The application properties and the system ones not below (e.g. "$.to", "iothub-ack")."""
    message_id: Optional[str]
    correlation_id: Optional[str]
    content_type: Optional[str]

class IoTHubMQTTClient:
    """IoT Hub over MQTT 3.1.1/TLS (azure/iothub_mqtt.py over the session core azure/mqtt.py):
    telemetry at QoS 1, the device twin, direct methods, cloud-to-device messages. Handlers run
    inside poll() and the blocking calls; hostile input and handler exceptions go to on_error."""

    @classmethod
    def from_connection_string(cls, conn_str: str, *, device_id: Optional[str] = None,
                               endpoint: Optional[str] = None, ca_certs: Optional[str] = None,
                               insecure_disable_tls_verification: bool = False, token: Optional[str] = None,
                               keepalive: int = 240, token_ttl: int = 3600, timeout: int = 30,
                               max_retries: int = 6, backoff_base_ms: int = 500, backoff_cap_ms: int = 30000,
                               receive_max: int = 4096, max_size: int = 262144) -> "IoTHubMQTTClient": ...
    host: str
    device_id: str
    module_id: Optional[str]
    stats: Dict[str, int]
    """sent, connects, renewals, received, resent, pings, retries, errors."""
    token_expires: Optional[int]
    on_message: Optional[Callable[[_MQTTMessage], None]]
    """PUBACKed once it returns (not when it raises: IoT Hub delivers it again)."""
    on_method: Optional[Callable[[str, object], Tuple[int, object]]]
    """(name, JSON payload or None) -> (status, JSON-able payload). Unset: 501; raising: 500."""
    on_twin_patch: Optional[Callable[[Dict[str, object]], None]]
    """Desired changes with "$version"; after a reconnect, the whole desired document if it moved on."""
    on_error: Optional[Callable[[Exception], None]]
    @property
    def connected(self) -> bool: ...
    def set_token(self, token: str) -> None: ...
    def connect(self) -> None:
        """Connects (backoff and retries for up to `timeout` s). ConnectRefused, TLSError, SendError."""
    def send(self, body: _Body, *, properties: _Properties = None, content_type: Optional[str] = None,
             timeout: Optional[int] = None) -> None:
        """QoS 1: returns once PUBACKed, else SendError (a drop before the PUBACK: resent with DUP)."""
    def send_batch(self, events: List[_Event]) -> int:
        """Every event in flight at once (16 unacknowledged at most); the count once all were PUBACKed."""
    def get_twin(self) -> Dict[str, Dict[str, object]]:
        """{"desired": ..., "reported": ...}; TwinError (429/5xx retried first)."""
    def patch_twin_reported(self, patch: Dict[str, object]) -> Optional[int]:
        """The new reported $version; TwinError."""
    def poll(self, timeout_ms: int = 0) -> int:
        """Reads what arrived, runs the handlers, answers methods, pings, reconnects when due; waits up
        to timeout_ms for something to arrive. Returns how many events it handled."""
    def close(self) -> None:
        """DISCONNECT; pending sends and requests fail with SendError."""

class LockLostError(SendError):
    """complete/reject/abandon/renew_lock refused: the lock expired, the message was settled already or the token
    is unknown (IoT Hub 412 or 404, Service Bus 404). `retried`: the request had gone out more than
    once, so an earlier attempt whose answer was lost may have settled it."""

    retried: bool

class ProvisioningError(SendError):
    """DPS refused or did not finish: `status` the last HTTP status (None: connection), `text` the
    service's message, `registration_status` its verdict ("failed", "disabled", "assigning" on
    timeout, ...) or None."""

    registration_status: Optional[str]

class Message:
    """A received message. Property names arrive lowercase (HTTP header names)."""

    body: bytes
    properties: Dict[str, Union[str, int, bool]]
    """IoT Hub: the iothub-app-* headers, as text. Service Bus: the custom properties, JSON-quoted
    strings unquoted, integers as int, true/false as bool, other values (2.5, null) as their text."""
    message_id: Optional[str]
    correlation_id: Optional[str]
    lock_token: Optional[str]
    """IoT Hub: the ETag without its quotes; Service Bus: BrokerProperties.LockToken (None after delete=True)."""
    content_type: Optional[str]
    delivery_count: Optional[int]
    sequence_number: Optional[int]
    location: Union[str, Tuple[str, ...], None]
    """Service Bus peek-lock: the path complete/abandon use (the Location header's path)."""

def provision(id_scope: str, registration_id: str, key: str, *, group_key: bool = False,
              payload: object = None, model_id: Optional[str] = None, endpoint: Optional[str] = None,
              ca_certs: Optional[str] = None, timeout: int = 30,
              dps_host: str = "global.azure-devices-provisioning.net", answer_max: int = 2048,
              transport: str = "https", mqtt_endpoint: Optional[str] = None,
              **client_options: object) -> Union[IoTHubClient, IoTHubMQTTClient]:
    """Registers with the Device Provisioning Service (symmetric key; group_key=True derives the
    device key from the enrollment group's key first), polls honouring Retry-After until assigned
    and returns a client for the assigned hub (`.hub`, `.device_id`, `.assignment`), ready to send.
    `endpoint` redirects every connection (DPS and the hub); `timeout` bounds the whole registration
    and each socket read. Raises ProvisioningError (failed, disabled, 401, 404, malformed, timeout).
    transport="mqtt": an IoTHubMQTTClient instead (to the hub's port 8883, or mqtt_endpoint)."""

def provision_info(id_scope: str, registration_id: str, key: str, *, group_key: bool = False,
                   payload: object = None, model_id: Optional[str] = None,
                   endpoint: Optional[str] = None, ca_certs: Optional[str] = None, timeout: int = 30,
                   dps_host: str = "global.azure-devices-provisioning.net", answer_max: int = 2048,
                   **client_options: object) -> Dict[str, object]:
    """Like provision(), returning the assignment: {"hub", "device_id", "key" (base64, the key to
    sign with), "payload" (when the service returned one)}. Store it and skip DPS on later boots."""
