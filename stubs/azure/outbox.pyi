"""Type stubs for `azure.outbox`: the durable outbox (store and forward on flash)."""

from typing import Dict, Optional, Union

_Body = Union[str, bytes, bytearray, memoryview]

class OutboxFull(OSError):
    """put() with policy="reject" on a full outbox: the event was not stored."""

class _SendsBatches:
    def send_batch(self, events: list) -> int: ...

class Outbox:
    """Events on flash until the service acknowledged them: durable once put()
    returns, delivered at least once, in order, in at most max_bytes."""

    max_bytes: int
    bytes: int
    """Bytes of the log files on flash (at most max_bytes)."""
    dropped: int
    """Events dropped to make room (policy="drop_oldest"), kept across reopens."""
    def __init__(self, path: str, max_bytes: int = 65536, policy: str = "drop_oldest") -> None:
        """Opens (creates) the outbox in the directory `path`; cuts off a torn or
        corrupt tail. policy is "drop_oldest" or "reject". OSError if the
        directory cannot be used."""
    def put(self, body: _Body, properties: Optional[Dict[str, Union[str, int, bool]]] = None) -> None:
        """Stores one event; on flash when this returns. OutboxFull (policy
        "reject") or ValueError (event over max_bytes // 8 - 9 bytes)."""
    def flush(self, client: _SendsBatches, batch: int = 50, max_events: Optional[int] = None) -> int:
        """Sends the oldest events in batches through client.send_batch, removing
        each batch once acknowledged; returns how many were delivered. A failed
        send is raised after the batches before it were recorded."""
    def __len__(self) -> int:
        """Events waiting."""
