try:
    import azure

    azure.EventHubClient
    import client_harness as H
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets (no clients) or without the harness (tests/lib)
    raise SystemExit

from client_harness import *  # noqa: F401,F403 (client, send, batch, stats, ok, err, at, EH, SB, IOT, ...)

# ---- scenarios --------------------------------------------------------------
BUSY = b"<Error><Code>503</Code><Detail>Server busy</Detail></Error>"

print("-- max_retries=3 against a service that stays busy: 4 attempts, then SendError")
# Full jitter over a ceiling of 500 ms * 2**attempt (capped at 30 s): the
# jitter source says 0x3FFFFFFF, so each sleep is 0x3FFFFFFF % (ceiling + 1).
c = client(script=[[err(503, BUSY)] * 5], max_retries=3)
send(c)
stats(c)

print("-- max_retries=0: one attempt")
c = client(script=[[err(500, b"oops"), ok()]], max_retries=0)
send(c)
stats(c)

print("-- the default (max_retries=6): 7 attempts")
c = client(script=[[err(502)] * 8])
send(c)
stats(c)

print("-- max_retries=8: the ceiling capped at 30 s")
c = client(script=[[err(504)] * 9, [ok()]], max_retries=8)
send(c)
stats(c)

print("-- backoff_base_ms and backoff_cap_ms")
c = client(script=[[err(503)] * 4], max_retries=3, backoff_base_ms=100, backoff_cap_ms=250)
send(c)
stats(c)

print("-- Retry-After above the jitter: slept in full")
c = client(script=[[err(429, b"throttled", b"Retry-After: 7\r\n"), err(503, b"", b"Retry-After: 1\r\n"), ok()]])
send(c)
stats(c)

print("-- Retry-After is a floor under the jitter, not added to it")
H.RAND = 1999
c = client(script=[[err(503, b"", b"Retry-After: 1\r\n"), err(503, b"", b"Retry-After: 0\r\n"), ok()]])
send(c)
stats(c)
H.RAND = 0x3FFFFFFF

print("-- Retry-After: at most 2 minutes; an HTTP-date is not seconds")
c = client(script=[[err(503, b"", b"Retry-After: 3600\r\n"), err(503, b"", b"Retry-After: 4294968\r\n"),
                    err(503, b"", b"Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n"), ok()]])
send(c)
stats(c)

print("-- zero jitter: no wait at all")
H.RAND = 0
c = client(script=[[err(503), ok()]])
send(c)
stats(c)
H.RAND = 0x3FFFFFFF

print("-- connection refused, unreachable: retried with backoff")
c = client(script=[111, 113, [ok()]])
send(c)
stats(c)

print("-- write fails on a fresh connection: retried with backoff")
c = client(script=[[R(write_err=104)], [ok()]])
send(c)
stats(c)

print("-- read stalls (ETIMEDOUT) on a fresh connection: closed, retried")
c = client(script=[[R(b"")], [R(b"HTTP/1.1 201 Created\r\n")], [ok()]])
send(c)
stats(c)

print("-- truncated responses: closed, retried")
c = client(script=[[R(b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nabc", "eof")],
                   [R(b"HTTP/1.1 201 Crea", "eof")],
                   [R(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "eof")],
                   [R(b"", "eof")], [ok()]], max_retries=4)
send(c)
stats(c)

print("-- not an HTTP response: closed, retried")
c = client(script=[[R(b"SSH-2.0-OpenSSH\r\n\r\n")], [ok()]])
send(c)
stats(c)

print("-- connection errors until the end: SendError with status None")
c = client(script=[111, 111, 111], max_retries=2)
send(c)
stats(c)

print("-- a 5xx body read until close, with the error text")
c = client(script=[[R(b"HTTP/1.0 500 Internal\r\n\r\nsomething broke", "eof")], [ok()]], max_retries=0)
send(c)
stats(c)
c = client(script=[[R(b"HTTP/1.0 500 Internal\r\n\r\nsomething broke", "eof")], [ok()]])
send(c)
stats(c)

print("-- a chunked 503 on a kept-alive connection, then 201 on it")
c = client(script=[[R(b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nRetry-After: 2\r\n\r\n"
                      b"5;x=y\r\nbusy \r\n4\r\nnow!\r\n0\r\nTrailer: 1\r\n\r\n"), ok()]], max_retries=0)
send(c)
stats(c)
c = client(script=[[R(b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nRetry-After: 2\r\n\r\n"
                      b"5;x=y\r\nbusy \r\n4\r\nnow!\r\n0\r\nTrailer: 1\r\n\r\n"), ok()]])
send(c)
stats(c)
c.close()
