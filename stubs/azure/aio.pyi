"""Type stubs for `azure.aio` (boards with asyncio): the clients as coroutines."""

from typing import Awaitable, Callable, Dict, List, Optional, Union

from . import _Body, _Event, _Properties, _MQTTMessage

class IoTHubMQTTClient:
    """The asyncio twin of azure.IoTHubMQTTClient (azure/aio_mqtt.py over the same core, azure/mqtt.py):
    the same constructor, options, handlers (plain functions or coroutines, each run in its own
    task) and stats; connect() starts the client's own task, so there is no poll()."""

    @classmethod
    def from_connection_string(cls, conn_str: str, **options: object) -> "IoTHubMQTTClient": ...
    stats: Dict[str, int]
    on_message: Optional[Callable[[_MQTTMessage], Union[None, Awaitable[None]]]]
    on_method: Optional[Callable[[str, object], object]]
    on_twin_patch: Optional[Callable[[Dict[str, object]], object]]
    on_error: Optional[Callable[[Exception], None]]
    @property
    def connected(self) -> bool: ...
    async def connect(self) -> None: ...
    async def send(self, body: _Body, *, properties: _Properties = None, content_type: Optional[str] = None,
                   timeout: Optional[int] = None) -> None:
        """SendError if not PUBACKed in time; a task cancelled meanwhile leaves the event in flight."""
    async def send_batch(self, events: List[_Event]) -> int: ...
    async def get_twin(self) -> Dict[str, Dict[str, object]]: ...
    async def patch_twin_reported(self, patch: Dict[str, object]) -> Optional[int]: ...
    async def close(self) -> None: ...
    async def __aenter__(self) -> "IoTHubMQTTClient": ...
    async def __aexit__(self, *exc: object) -> None: ...
