"""Service Bus queues and topics: sending (the clients' shared core, in
azure/https.py) and receiving (azure/receive.py, imported on first use).
The package imports this module the first time `azure.ServiceBusClient` is
used: a device that talks to another service does not hold it."""

from .client import _from_connection_string
from .https import _Client


class ServiceBusClient(_Client):
    """Sends to a Service Bus queue or topic."""

    @classmethod
    def from_connection_string(cls, conn_str, *, subscription_name=None, **kw):
        """queue_name= or topic_name= (and subscription_name= to receive), and the common options."""
        c = _from_connection_string(cls, 1, conn_str, kw)
        # receive() reads from this subscription of the topic.
        c.subscription_name = subscription_name
        return c

    subscription_name = None

    # -- receiving (azure/receive.py, imported on first use) -----------------

    def receive(self, timeout=10, delete=False):
        """The next message (peek-lock: settle it with complete or abandon;
        delete=True: receive and delete), or None if none came within
        `timeout` seconds (less than the client's timeout)."""
        from .receive import sb_receive

        return sb_receive(self, timeout, delete)

    def complete(self, msg):
        """Removes a peek-locked message (DELETE on its Location); LockLostError if the lock is gone."""
        from .receive import sb_settle

        return sb_settle(self, msg, "DELETE")

    def abandon(self, msg):
        """Unlocks it: the message comes back with its DeliveryCount raised."""
        from .receive import sb_settle

        return sb_settle(self, msg, "PUT")

    def renew_lock(self, msg):
        """Keeps a peek-locked message locked for another lock duration (POST
        on its Location), for processing that takes longer than one; renew
        before it runs out. LockLostError if the lock is gone."""
        from .receive import sb_settle

        return sb_settle(self, msg, "POST")
