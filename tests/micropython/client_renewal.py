try:
    import azure

    azure.EventHubClient
    import client_harness as H
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets (no clients) or without the harness (tests/lib)
    raise SystemExit

from client_harness import *  # noqa: F401,F403 (client, send, batch, stats, ok, err, at, EH, SB, IOT, ...)

# ---- scenarios --------------------------------------------------------------
print("-- token_ttl=100: signed once, reused, renewed at 80 s (not before)")
c = client(script=[[ok()] * 7], token_ttl=100)
for t in (0, 1, 79, 80, 81, 159, 160):
    at(t)
    print(" t=+%d" % t)
    send(c)
stats(c)

print("-- the default token_ttl=3600: renewed at 2880 s")
c = client(script=[[ok()] * 3])
for t in (0, 2879, 2880):
    at(t)
    print(" t=+%d" % t)
    send(c)
stats(c)

print("-- token_ttl=10: renewed at 8 s, by send_batch too")
c = client(script=[[ok()] * 3], token_ttl=10)
for t in (0, 7, 8):
    at(t)
    print(" t=+%d" % t)
    batch(c, ["a", "b"])
stats(c)

print("-- a 401 renews before the schedule, and the schedule restarts from it")
c = client(script=[[ok(), R(b"HTTP/1.1 401 U\r\nContent-Length: 0\r\n\r\n"), ok(), ok(), ok()]], token_ttl=100)
send(c)
at(50)
print(" t=+50")
send(c)
for t in (129, 130):
    at(t)
    print(" t=+%d" % t)
    send(c)
stats(c)

print("-- a backoff that crosses 80 %: the retry carries a fresh token")
c = client(script=[[err(503, b"", b"Retry-After: 9\r\n"), ok()]], token_ttl=10)
send(c)
stats(c)
c = client(script=[[err(503, b"", b"Retry-After: 7\r\n"), ok()]], token_ttl=10)
send(c)
stats(c)

print("-- a server that takes its time: renewed when due, not later")
c = client(script=[[R(b"HTTP/1.1 201 X\r\nContent-Length: 0\r\n\r\n", secs=25), ok()]], token_ttl=30)
send(c)
send(c)
stats(c)

print("-- IoT Hub: the same schedule")
c = client(azure.IoTHubClient, IOT, script=[[ok(204)] * 3], token_ttl=100)
for t in (0, 79, 80):
    at(t)
    print(" t=+%d" % t)
    send(c)
stats(c)

print("-- a clock that was not set: ValueError, nothing sent")
c = client(script=[[ok()]])
H.T0 = 1000000
send(c)
stats(c)
H.T0 = 1700000000
send(c)
stats(c)
c.close()
