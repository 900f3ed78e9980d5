"""azure.aio: the clients as coroutines, for boards with asyncio (issue #21).

Each name is defined by a module imported on first use (module __getattr__),
like the package's own lazy names: an application holds only the client it
uses, and a board without asyncio (the WiPy) never imports any of this.
Every async client is a driver over the same protocol core as its blocking
twin (azure/aio_mqtt.py over azure/mqtt.py; azure/aio_http.py over
azure/https.py's request core).
"""

_LAZY = {"IoTHubMQTTClient": "aio_mqtt",
         "EventHubClient": "aio_http", "ServiceBusClient": "aio_http", "IoTHubClient": "aio_http"}


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(name)
    import azure

    return getattr(azure._module(mod), name)
