"""Azure Event Hubs, Service Bus and IoT Hub for MicroPython.

The signing and framing run in the native module `_azure` (Rust); this
package re-exports it and adds the clients.
"""

from _azure import sas_token, unix_time

try:
    from _azure import parse_connection_string
except ImportError:  # firmware built without the native parser (the WiPy)
    from ._connstr import parse_connection_string

try:
    from .client import EventHubClient, ServiceBusClient, IoTHubClient, SendError
    from .transport import TLSError
except ImportError:  # a port without sockets: token signing only
    pass

try:
    from .outbox import Outbox, OutboxFull
except ImportError:  # a port without a file system
    pass
