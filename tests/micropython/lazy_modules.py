# The package's lazily imported parts (azure._LAZY, the package's
# __getattr__): a device that only sends holds none of the Service Bus and
# IoT Hub clients, receiving, the outbox, provisioning, MQTT, asyncio or the
# connection-string and token parsers, and the package alone no HTTPS code; each name still resolves on first use, to one class (the
# same object every time, in the module that defines it); a port without
# sockets gets no clients (hasattr False, AttributeError naming the cause)
# but the outbox; an unknown name is an AttributeError. Prints the same on
# every build, with or without sockets.
import sys

import azure

try:
    import socket  # noqa: F401

    net = True
except ImportError:
    net = False

ONLY_ON_USE = ("azure.servicebus", "azure.iothub", "azure.receive", "azure.outbox", "azure.dps",
               "azure._connstr", "azure._token", "azure.mqtt", "azure.iothub_mqtt", "azure.aio")
# The HTTPS code and the response reader come with the first HTTPS client,
# not with the package (an MQTT device never holds them).
print("HTTPS code with the package:", [m for m in ("azure.https", "azure.response") if m in sys.modules])
loaded = []
if net:
    from receive_harness import REPLIES, reply

    c = azure.EventHubClient.from_connection_string(
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=p;SharedAccessKey=k;EntityPath=hub")
    REPLIES.append(reply(201))
    c.send("reading")
    REPLIES.append(reply(201))
    c.send_batch(["a", "b"])
    loaded = [m for m in ONLY_ON_USE if m in sys.modules]
print("loaded by sending:", loaded)

print("unknown name:", not hasattr(azure, "NoSuchName"))
try:
    azure.NoSuchName
except AttributeError as e:
    print("AttributeError", e)

# Every lazy name resolves where its module can be imported: the outbox
# everywhere, the rest where there are sockets.
wrong = [n for n in sorted(azure._LAZY) if hasattr(azure, n) != (net or azure._LAZY[n] == "outbox")]
print("resolved as expected:", wrong)
from azure import Outbox, OutboxFull  # noqa: E402

print("outbox:", Outbox is sys.modules["azure.outbox"].Outbox, issubclass(OutboxFull, OSError),
      azure.OutboxFull is OutboxFull)
if net:
    from azure import LockLostError, Message

    same = (Message is sys.modules["azure.receive"].Message and azure.LockLostError is LockLostError
            and issubclass(LockLostError, azure.SendError) and azure.IoTHubClient is azure.IoTHubClient
            and issubclass(azure.ServiceBusClient, sys.modules["azure.https"]._Client))
    cause = True
else:
    same = True
    try:
        azure.IoTHubClient
        cause = False
    except AttributeError as e:
        cause = str(e).startswith("IoTHubClient: ") and "socket" in str(e)
print("one class each:", same, "cause named:", cause)
