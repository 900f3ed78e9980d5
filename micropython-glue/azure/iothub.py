"""IoT Hub device-to-cloud messages (the clients' shared core, in
azure/https.py) and cloud-to-device messages (azure/receive.py, imported
on first use). The package imports this module the first time
`azure.IoTHubClient` is used: a device that talks to another service does
not hold it."""

from .client import _from_connection_string
from .https import _Client


class IoTHubClient(_Client):
    """Device-to-cloud messages for one IoT Hub device (or module)."""

    @classmethod
    def from_connection_string(cls, conn_str, **kw):
        """device_id= when the string has none, and the common options."""
        return _from_connection_string(cls, 2, conn_str, kw)

    @property
    def hub(self):
        return self.host

    @property
    def device_id(self):
        return self._path[1]

    # -- cloud-to-device (azure/receive.py, imported on first use) ------------

    def receive(self):
        """The next cloud-to-device message, locked for this device (settle it
        with complete, reject or abandon), or None when none is waiting."""
        from .receive import iot_receive

        return iot_receive(self)

    def complete(self, msg):
        """Removes the message; LockLostError if its lock expired."""
        from .receive import iot_settle

        return iot_settle(self, msg, 0)

    def reject(self, msg):
        """Dead-letters the message; LockLostError if its lock expired."""
        from .receive import iot_settle

        return iot_settle(self, msg, 1)

    def abandon(self, msg):
        """Puts the message back in the device's queue (delivery count raised)."""
        from .receive import iot_settle

        return iot_settle(self, msg, 2)
