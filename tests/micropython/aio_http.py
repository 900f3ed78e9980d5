# azure.aio's HTTPS clients over scripted streams (issue #21): the same
# protocol core as the blocking clients, driven by asyncio. For the same
# script both write the same bytes and return the same results; retries,
# Retry-After, the 401 renewal and keep-alive reuse behave alike; the loop
# keeps running during a backoff; concurrent sends take turns on one
# connection; a send cancelled mid-request leaves a client that sends.
# Runs where asyncio is (the full unix build, the qemu-aio board).
try:
    import asyncio
except ImportError:
    print("SKIP")
    raise SystemExit
import azure

try:
    azure.EventHubClient
except AttributeError:  # a port without sockets
    print("SKIP")
    raise SystemExit
import time
import azure.client as C
import azure.transport as transport
import azure.aio as aio
import azure.aio_http as aio_http
from scripted_stream import ScriptedStream

C.unix_time = lambda: 1700000000  # the token's expiry, the same for both
C._rand32 = lambda: 0  # no jitter: backoffs are the base or Retry-After

KEY = "SeCrEtKeY+0123456789abcdefXYZ="
EH = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=%s;EntityPath=hub" % KEY
SB = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=%s;EntityPath=q" % KEY
CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
BUSY = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy"
DENIED = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 7\r\n\r\nexpired"
SB_MSG = (b"HTTP/1.1 201 Created\r\nBrokerProperties: {\"LockToken\":\"a-b-c\",\"SequenceNumber\":7,"
          b"\"MessageId\":\"m1\",\"DeliveryCount\":1}\r\nLocation: https://ns.servicebus.windows.net/q/messages/7/a-b-c"
          b"\r\nPriority: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

conns = []  # the next connections' scripts: a list of chunks, or an errno
opened = []


def _next():
    s = conns.pop(0)
    if isinstance(s, int):
        raise OSError(s)
    s = ScriptedStream(s)
    opened.append(s)
    return s


async def _aconnect(c):
    return asyncio.StreamReader(_next())


aio_http._connect = _aconnect
transport.connect = lambda *a: _next()


def blocking(script, f):
    conns[:] = script
    del opened[:]
    c = azure.EventHubClient.from_connection_string(EH, backoff_base_ms=20)
    try:
        r = f(c)
    except Exception as e:
        r = "%s %s" % (type(e).__name__, e)
    return r, [bytes(s.written) for s in opened], c.stats


def asynchronous(script, f, cls=aio.EventHubClient, cs=EH):
    conns[:] = script
    del opened[:]
    c = cls.from_connection_string(cs, backoff_base_ms=20)

    async def main():
        try:
            return await f(c)
        except Exception as e:
            return "%s %s" % (type(e).__name__, e)

    r = asyncio.run(main())
    return r, [bytes(s.written) for s in opened], c.stats


def same(name, script, fb, fa):
    b = blocking(list(script), fb)
    a = asynchronous(list(script), fa)
    print(name, a[0], "| connections", len(a[1]), "| the same bytes as blocking:", a[1] == b[1],
          "| results:", a[0] == b[0], "| stats:", a[2] == b[2])
    return a


print(aio.EventHubClient.__name__, issubclass(aio.EventHubClient, azure.EventHubClient))

# One send, a batch, then both on one kept-alive connection.
a = same("send", [[CREATED]], lambda c: c.send("hello", properties={"n": 1}),
         lambda c: c.send("hello", properties={"n": 1}))
print(a[1][0].split(b"\r\n")[0])


async def two(c):
    return [await c.send("one"), await c.send_batch(["a", ("b", {"k": "v"})])]


same("keep-alive", [[CREATED, CREATED]], lambda c: [c.send("one"), c.send_batch(["a", ("b", {"k": "v"})])], two)
# 503 with Retry-After, then 201; a 401, a fresh token, then 201.
same("retry-after", [[BUSY, CREATED]], lambda c: c.send("x"), lambda c: c.send("x"))
a = same("401", [[DENIED, CREATED]], lambda c: c.send("x"), lambda c: c.send("x"))
print("renewals", a[2]["renewals"])
# A kept-alive connection the server closed while idle: reopened at once.
async def one_two(c):
    return [await c.send("1"), await c.send("2")]


same("reopen", [[CREATED], [CREATED]], lambda c: [c.send("1"), c.send("2")], one_two)
# The connection refused, then 201; refused for good.
same("refused", [111, [CREATED]], lambda c: c.send("x"), lambda c: c.send("x"))
a = same("give up", [111] * 7, lambda c: c.send("x"), lambda c: c.send("x"))

# Service Bus receive and complete, through the same receive code.
sb_b = blocking([[SB_MSG, OK]], lambda c: None)  # (only the connection list)
conns[:] = [[SB_MSG, OK]]
del opened[:]
b = azure.ServiceBusClient.from_connection_string(SB)
m = b.receive(timeout=5)
b.complete(m)
bw = bytes(opened[0].written)


async def sb(c):
    m = await c.receive(timeout=5)
    return [m.body, m.message_id, m.lock_token, m.location, m.properties, await c.complete(m)]


a = asynchronous([[SB_MSG, OK]], sb, aio.ServiceBusClient, SB)
print("sb receive/complete", a[0], "| the same bytes as blocking:", a[1][0] == bw)


# The loop runs during a backoff: a ticker beside a send that waits 1 s
# (Retry-After) between two attempts.
async def with_ticker(c):
    gaps = []
    stop = []

    async def tick():
        last = time.ticks_ms()
        while not stop:
            await asyncio.sleep_ms(10)
            now = time.ticks_ms()
            gaps.append(time.ticks_diff(now, last))
            last = now

    t = asyncio.create_task(tick())
    r = await c.send("x")
    stop.append(1)
    await t
    return [r, len(gaps) >= 50, max(gaps) < 50]


print("ticker during Retry-After:", asynchronous([[BUSY, CREATED]], with_ticker)[0])


# Four tasks send at once: they take turns on one connection.
async def four(c):
    return await asyncio.gather(*[c.send("t%d" % i) for i in range(4)])


a = asynchronous([[CREATED] * 4], four)
print("concurrent", a[0], "connections", len(a[1]), "requests", a[2]["requests"])


# A send cancelled while it waits for the answer: the connection is closed
# (its answer is never read as the next request's), the next send reconnects.
async def cancel(c):
    t = asyncio.create_task(c.send("slow"))
    await asyncio.sleep_ms(50)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        print("  cancelled; connection closed:", c._sock is None, opened[0].closed)
    return await c.send("after")


a = asynchronous([[(2000, CREATED)], [CREATED]], cancel)
print("cancel", a[0], "connections", len(a[1]), a[1][1].split(b"\r\n")[-1])


# Timeout: no answer within the client's timeout (1 s): a connection
# failure, retried on a new connection.
async def slow(c):
    c._timeout = 1
    c.max_retries = 1
    return await c.send("x")


a = asynchronous([[(3000, CREATED)], [CREATED]], slow)
print("read timeout", a[0], "connections", len(a[1]), "retries", a[2]["retries"])


# send(..., timeout=): not delivered in time -> SendError, the request
# cancelled (its connection closed, nothing half-written reused); the client
# sends after it. A send that times out while waiting for another's turn
# wrote nothing: the other's connection stays.
async def within(c):
    r = []
    try:
        await c.send("slow", timeout=1)
    except azure.SendError as e:
        r.append("%s %s" % (type(e).__name__, e))
    r.append(["closed", c._sock is None, opened[0].closed])
    r.append(await c.send("after", timeout=5))
    for bad in (0, -1, "5"):
        for f in (c.send, c.send_batch):
            try:
                f(["x"] if f == c.send_batch else "x", timeout=bad)
            except (TypeError, ValueError) as e:
                r.append(type(e).__name__)
    return r


a = asynchronous([[(3000, CREATED)], [CREATED]], within)
print("send timeout", a[0], "connections", len(a[1]), a[1][1].split(b"\r\n")[-1], "requests", a[2]["requests"])


# send_batch(..., timeout=): the same, for the whole batch.
async def batch_within(c):
    try:
        await c.send_batch(["a", "b"], timeout=1)
    except azure.SendError as e:
        return "%s %s" % (type(e).__name__, e)


a = asynchronous([[(3000, CREATED)]], batch_within)
print("send_batch timeout", a[0], "connections", len(a[1]))


async def waiting(c):
    t = asyncio.create_task(c.send("first"))
    await asyncio.sleep_ms(10)
    try:
        await c.send("second", timeout=1)
    except azure.SendError as e:
        print("  waiting for its turn:", e)
    return [await t, c._sock is not None, await c.send("third")]


a = asynchronous([[(1500, CREATED), CREATED]], waiting)
print("timeout in turn", a[0], "connections", len(a[1]), [x.split(b"\r\n")[-1] for x in a[1][0].split(b"POST")[1:]])


async def closing(c):
    async with c:
        r = await c.send("x")
    return [r, c._sock is None]


print("async with", asynchronous([[CREATED]], closing)[0])
