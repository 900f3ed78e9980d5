"""azure.aio: the clients as coroutines, for boards with asyncio (issue #21).

Each name is defined by a module imported on first use (module __getattr__),
like the package's own lazy names: an application holds only the client it
uses, and a board without asyncio (the WiPy) never imports any of this.
Every async client is a driver over the same protocol core as its blocking
twin (azure/aio_mqtt.py over azure/mqtt.py; azure/aio_http.py over
azure/https.py's request core).
"""

def __getattr__(name):
    # (no name table: aio_http's own __getattr__ refuses names it lacks)
    import azure

    return getattr(azure._module("aio_mqtt" if name == "IoTHubMQTTClient" else "aio_http"), name)
