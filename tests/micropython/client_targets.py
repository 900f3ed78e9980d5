try:
    import azure

    azure.EventHubClient
    import client_harness as H
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets (no clients) or without the harness (tests/lib)
    raise SystemExit

from client_harness import *  # noqa: F401,F403 (client, send, batch, stats, ok, err, at, EH, SB, IOT, ...)

# ---- scenarios --------------------------------------------------------------
H.SHOW_RAW = True

print("-- Event Hubs, as a publisher, with a property")
c = client(script=[[ok()]], publisher="dev-01")
send(c, '{"temp_c": 21.5}', properties={"kind": "reading"})
stats(c)

print("-- Event Hubs, one partition, partition key and content type, through endpoint=")
c = client(script=[[ok()]], partition_id="1", endpoint="127.0.0.1:5671")
send(c, b"abc", partition_key="room-7", content_type="application/json")
stats(c)

print("-- Event Hubs, event_hub= instead of EntityPath, numbers and booleans as properties")
c = client(script=[[ok()] * 3], event_hub="other")
send(c, "1", properties={"n": 42})
send(c, "2", properties={"ok": True})
try:
    T = eval("21.5")  # a float (a literal would be a SyntaxError on the float-less WiPy)
except SyntaxError:
    T = "21.5"  # no floats: the same header from a str
send(c, "3", properties={"t": T})
stats(c)

print("-- Service Bus, queue and topic")
c = client(azure.ServiceBusClient, SB, script=[[ok()]])
send(c, "to q", properties={"kind": "order"})
c = client(azure.ServiceBusClient, SB, script=[[ok()]], queue_name="orders")
send(c, "to orders")
c = client(azure.ServiceBusClient, SB, script=[[ok()]], topic_name="alerts")
send(c, "to alerts")
stats(c)

print("-- IoT Hub, a device and a module")
c = client(azure.IoTHubClient, IOT, script=[[ok(204)]])
send(c, b"\x00\x01bin", properties={"kind": "reading"})
c = client(azure.IoTHubClient, IOT + ";ModuleId=m1", script=[[ok(204)]])
send(c, "{}")
c = client(azure.IoTHubClient, "HostName=hub.azure-devices.net;SharedAccessKeyName=device;SharedAccessKey=" + DEV_KEY,
           script=[[ok(204)]], device_id="dev2")
send(c, "{}")
stats(c)

print("-- send_batch: one request, every event counted")
c = client(script=[[ok()]], publisher="dev-01")
batch(c, ['{"seq": 1}', ('{"seq": 2}', {"kind": "reading"})])
stats(c)
c = client(azure.IoTHubClient, IOT, script=[[ok(204)]])
batch(c, ['{"seq": 1}', ('{"seq": 2}', {"kind": "reading"})])
stats(c)
c = client(azure.ServiceBusClient, SB, script=[[ok()]])
batch(c, [b"one", ("two", {"n": 2})])
stats(c)

print("-- a body larger than one write: the same bytes")
H.SHOW_RAW = False
big = bytes(range(256)) * 8
c = client(script=[[ok()]])
send(c, big)
print("  body intact:", last_body[0] == big, len(last_body[0]))
stats(c)

print("-- max_size=1048576 (Standard tier): the limit itself is accepted")
c = client(script=[[ok(), ok()]], max_size=1048576)
batch(c, ["a", "b"])
send(c, "c")
stats(c)
print("-- over max_size: ValueError before anything is sent")
c = client(script=[[ok()]], max_size=10)
for f, arg in ((c.send_batch, ["a" * 20]), (c.send, "b" * 11)):
    try:
        f(arg)
    except ValueError:
        print("  ValueError")
print("  connects", H.socks, "sent", c.stats["sent"])
