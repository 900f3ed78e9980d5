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

try:
    from .outbox import Outbox, OutboxFull
except ImportError:  # a port without a file system
    pass
