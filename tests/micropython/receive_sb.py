try:
    import azure

    azure.IoTHubClient
    import receive_harness  # noqa: F401 (tests/lib)
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets: no clients
    raise SystemExit

from receive_harness import *  # noqa: F401,F403 (reply, reset, line, header, body, err, C, REQS, ...)
# Service Bus receive (azure/receive.py through ServiceBusClient): peek-lock
# (POST .../messages/head), the message from BrokerProperties and the custom
# property headers (JSON-quoted strings unquoted, integers as int, booleans,
# other numbers as their text), complete (DELETE) and abandon (PUT) on the
# Location path as given, receive-and-delete, 204, lock lost (404), topic
# subscriptions, a missing Location, the timeout's range.
KEY = "SeCrEtKeY+0123456789abcdefXYZ="
SB = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=%s;EntityPath=orders" % KEY
BP = (b'BrokerProperties: {"DeliveryCount":2,"EnqueuedSequenceNumber":7,"EnqueuedTimeUtc":"Mon, 30 Nov 2026 10:00:00 GMT",'
      b'"LockToken":"6f1c1a8e-lock","LockedUntilUtc":"Mon, 30 Nov 2026 10:01:00 GMT","MessageId":"m-7",'
      b'"CorrelationId":"c-7","SequenceNumber":7,"State":"Active","TimeToLive":922337203685.4775,"Label":"x"}\r\n')
PROPS = (b'Priority: "high"\r\ncount: 5\r\nneg: -3\r\nflag: true\r\noff: false\r\nratio: 2.5\r\nnothing: null\r\n'
         b'esc: "a \\"quoted\\" \\u00e9"\r\nbig: 123456789012345678901\r\n'
         b'Date: Mon, 30 Nov 2026 10:00:00 GMT\r\nServer: Microsoft-HTTPAPI/2.0\r\n'
         b'Strict-Transport-Security: max-age=31536000\r\n')
LOCKED = reply(201, b"order 7", BP + b"Location: https://ns.servicebus.windows.net/orders/messages/7/6f1c1a8e-lock\r\n"
               b"Content-Type: text/plain\r\n" + PROPS)
NO = reply(204)
OK = reply(200)

c = azure.ServiceBusClient.from_connection_string(SB, max_retries=1)

print("-- peek-lock")
REPLIES.append(LOCKED)
m = c.receive(timeout=5)
print(line(), header(-1, b"content-length"))
print(m.body, m.message_id, m.correlation_id, m.lock_token, m.sequence_number, m.delivery_count, m.content_type)
print(m.location)
for k in sorted(m.properties):
    v = m.properties[k]
    print("  %s=%r" % (k, v.encode() if isinstance(v, str) else v))

print("-- complete, abandon and renew_lock: DELETE, PUT and POST on the Location path")
REPLIES.extend([OK, OK, OK])
print(c.complete(m), line())
print(c.abandon(m), line())
print(c.renew_lock(m), line(), header(-1, b"content-length"))
print(header(-2, b"authorization") == header(0, b"authorization"))

print("-- lock lost: 404 raises LockLostError; 410 (no entity) a SendError")
reset()
REPLIES.append(reply(404, b"<Error><Code>404</Code><Detail>MessageLockLost</Detail></Error>"))
try:
    c.complete(m)
except azure.LockLostError as e:
    print(err(e))
    print(isinstance(e, azure.SendError), e.retried, len(REQS))
REPLIES.append(reply(410, b"gone"))
try:
    c.abandon(m)
except azure.SendError as e:
    print(err(e), isinstance(e, azure.LockLostError))
REPLIES.append(reply(404, b"MessageLockLost"))
try:
    c.renew_lock(m)
except azure.LockLostError as e:
    print("renew_lock", err(e))

print("-- nothing within the timeout: 204, None")
reset()
REPLIES.append(NO)
print(c.receive(timeout=0), line())

print("-- receive and delete")
REPLIES.append(reply(200, b"gone for good", BP.replace(b'"LockToken":"6f1c1a8e-lock",', b"") + b'Label: "x"\r\n'))
d = c.receive(timeout=3, delete=True)
print(line())
print(d.body, d.message_id, d.lock_token, d.location, d.delivery_count, d.properties)
for settle in (c.complete, c.renew_lock):
    try:
        settle(d)
    except ValueError as e:
        print("ValueError", e)

print("-- no Location: the path from SequenceNumber and LockToken")
reset()
REPLIES.extend([reply(201, b"x", BP), OK])
m2 = c.receive(timeout=1)
print(m2.location)
c.complete(m2)
print(line())

print("-- a topic subscription")
t = azure.ServiceBusClient.from_connection_string(SB.replace("orders", "alerts"), subscription_name="dev 1", max_retries=0)
reset()
REPLIES.extend([reply(201, b"alert", BP + b"Location: https://ns.servicebus.windows.net/alerts/subscriptions/dev%201/messages/7/6f1c1a8e-lock\r\n"), OK, OK])
a = t.receive(timeout=1)
print(line(0))
print(a.location)
t.complete(a)
print(line())
t.send("to the topic")
print(line())
print(t.subscription_name, c.subscription_name)

print("-- the timeout: an int below the client's timeout")
for bad in (30, -1, "5", 31):
    try:
        c.receive(timeout=bad)
    except ValueError as e:
        print("ValueError", e)
print(len(REQS))

print("-- an IoT Hub message is not settled here")
i = azure.Message()
i.lock_token = "L"
try:
    c.abandon(i)
except ValueError as e:
    print("ValueError", e)
