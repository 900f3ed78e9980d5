"""Azure Event Hubs, Service Bus and IoT Hub for MicroPython.

Signing, key derivation and request framing run in the native module
`_azure` (Rust), the same on every board; this package re-exports it and
adds the response reader, connection strings and the clients.
"""

from _azure import sas_token, unix_time, derive_device_key, crc32


def _module(module):
    # azure.<module>, imported if it is not yet.
    import sys

    __import__("azure." + module)
    return sys.modules["azure." + module]


def _transient(module, name, *args):
    # Calls azure.<module>.<name>(*args) with the module imported for the
    # call and dropped again: code that runs once (parsing a connection
    # string, provisioning) does not stay in a small board's heap.
    import sys

    try:
        return getattr(_module(module), name)(*args)
    finally:
        sys.modules.pop("azure." + module, None)
        try:  # (not dir(): it probes every name, through __getattr__ below)
            delattr(sys.modules["azure"], module)
        except (KeyError, AttributeError):
            pass


def parse_connection_string(conn_str):
    """The portal's `Name=value;...` pairs as a dict (see azure/_connstr.py)."""
    return _transient("_connstr", "parse_connection_string", conn_str)


try:
    from .client import SendError, ProvisioningError
    from .transport import TLSError
except ImportError:  # a port without sockets: token signing only
    pass

# Names defined by modules imported on first use (module __getattr__): a
# device holds the code of the one service and transport it talks to (an
# MQTT device no HTTPS code), and the code for receiving or queueing only
# once it receives or queues. (dir(azure) probes
# every name, so it imports them all.)
_LAZY = {"EventHubClient": "https", "ServiceBusClient": "servicebus", "IoTHubClient": "iothub", "Message": "receive",
         "LockLostError": "receive", "Outbox": "outbox", "OutboxFull": "outbox",
         "IoTHubMQTTClient": "iothub_mqtt", "ConnectRefused": "mqtt", "TwinError": "mqtt"}


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(name)
    try:
        return getattr(_module(mod), name)
    except ImportError as e:  # a port without sockets, or a file not copied to the board
        raise AttributeError("%s: %s" % (name, e))


def _dps(name, args, kw):
    # Provisioning runs once per boot at most (azure/dps.py, dropped after).
    return _transient("dps", "_call", name, args, kw)


def provision(id_scope, registration_id, key, **kw):
    """Registers with the Device Provisioning Service (azure/dps.py) and
    returns an IoTHubClient for the assigned hub, ready to send (with
    transport="mqtt", an IoTHubMQTTClient, not yet connected). Keywords:
    group_key=False, payload=None, model_id=None, endpoint=None,
    ca_certs=None, timeout=30, transport="https", mqtt_endpoint=None, and
    the clients' options.
    Raises ProvisioningError."""
    return _dps("provision", (id_scope, registration_id, key), kw)


def provision_info(id_scope, registration_id, key, **kw):
    """Like provision() but returns the assignment, a dict with "hub",
    "device_id", "key" (the device key to sign with) and "payload" when
    the service returned one: store it and skip DPS on the next boot."""
    return _dps("provision_info", (id_scope, registration_id, key), kw)
