"""Azure Event Hubs, Service Bus and IoT Hub for MicroPython.

Signing, key derivation and request framing run in the native module
`_azure` (Rust), the same on every board; this package re-exports it and
adds the response reader, connection strings and the clients.
"""

from _azure import sas_token, unix_time, derive_device_key, crc32


def _transient(module, name, *args):
    # Calls azure.<module>.<name>(*args) with the module imported for the
    # call and dropped again: code that runs once (parsing a connection
    # string, provisioning) does not stay in a small board's heap.
    import sys

    __import__("azure." + module)
    try:
        return getattr(sys.modules["azure." + module], name)(*args)
    finally:
        sys.modules.pop("azure." + module, None)
        pkg = sys.modules.get("azure")
        if pkg is not None and module in dir(pkg):
            delattr(pkg, module)


def parse_connection_string(conn_str):
    """The portal's `Name=value;...` pairs as a dict (see azure/_connstr.py)."""
    return _transient("_connstr", "parse_connection_string", conn_str)


try:
    from .client import EventHubClient, ServiceBusClient, IoTHubClient, SendError
    from .transport import TLSError

    class LockLostError(SendError):
        """complete/reject/abandon refused because the message's lock expired,
        was settled already or is unknown (IoT Hub 412 or 404, Service Bus
        404). Settle it no more: it comes back with its delivery count raised
        (or, when `retried` is True, an earlier attempt whose answer was lost
        may have settled it)."""

        retried = False

    class ProvisioningError(SendError):
        """Provisioning failed: `status` is the last HTTP status (None for a
        connection failure), `text` the service's message,
        `registration_status` DPS's verdict ("failed", "disabled", ...) or None."""

        registration_status = None
except ImportError:  # a port without sockets: token signing only
    pass


class OutboxFull(OSError):
    """Outbox.put() with policy="reject" on a full outbox: the event was not stored."""


def Outbox(path, max_bytes=65536, policy="drop_oldest"):
    """The durable outbox (azure/outbox.py), imported on first use: a device
    that never queues to flash does not carry its code in the heap (about
    4.5 KB on a WiPy)."""
    from .outbox import Outbox

    return Outbox(path, max_bytes, policy)


class Message:
    """A received message (IoT Hub cloud-to-device or Service Bus): `body`
    (bytes), `properties` (dict, names lowercase), `message_id`,
    `correlation_id`, `lock_token`, `content_type`, `delivery_count`,
    `sequence_number`, `location` (Service Bus: the path it settles on).
    Filled in by azure/receive.py."""

    body = b""
    properties = None
    message_id = correlation_id = lock_token = content_type = None
    delivery_count = sequence_number = location = None

    def __repr__(self):
        return "<Message %s, %d bytes>" % (self.message_id, len(self.body))


def _dps(name, args, kw):
    # Provisioning runs once per boot at most (azure/dps.py, dropped after).
    return _transient("dps", "_call", name, args, kw)


def provision(id_scope, registration_id, key, **kw):
    """Registers with the Device Provisioning Service (azure/dps.py) and
    returns an IoTHubClient for the assigned hub, ready to send. Keywords:
    group_key=False, payload=None, model_id=None, endpoint=None,
    ca_certs=None, timeout=30, and the clients' options.
    Raises ProvisioningError."""
    return _dps("provision", (id_scope, registration_id, key), kw)


def provision_info(id_scope, registration_id, key, **kw):
    """Like provision() but returns the assignment, a dict with "hub",
    "device_id", "key" (the device key to sign with) and "payload" when
    the service returned one: store it and skip DPS on the next boot."""
    return _dps("provision_info", (id_scope, registration_id, key), kw)
