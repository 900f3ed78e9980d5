"""Azure Event Hubs, Service Bus and IoT Hub for MicroPython.

The signing, framing and response reading run in the native module
`_azure` (Rust), the same on every board; this package re-exports it and
adds the clients.
"""

from _azure import sas_token, unix_time, derive_device_key, crc32


def parse_connection_string(conn_str):
    """The portal's `Name=value;...` pairs as a dict (see azure/_connstr.py)."""
    from .client import _parse_connection_string

    return _parse_connection_string(conn_str)


try:
    from .client import EventHubClient, ServiceBusClient, IoTHubClient, SendError
    from .transport import TLSError
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
