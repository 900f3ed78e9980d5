try:
    import azure

    azure.EventHubClient
    import client_harness as H
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets (no clients) or without the harness (tests/lib)
    raise SystemExit

from client_harness import *  # noqa: F401,F403 (client, send, batch, stats, ok, err, at, EH, SB, IOT, ...)

# ---- scenarios --------------------------------------------------------------
print("-- 2xx: returned once acknowledged; one request, nothing slept")
for st in (201, 204, 200, 202):
    c = client(script=[[ok(st)]])
    send(c)
    stats(c)

print("-- 400, 403, 404, 410, 413: raised at once with the service's text")
for st, text in ((400, b"<Error><Code>400</Code><Detail>Bad Request</Detail></Error>"),
                 (403, b"<Error><Code>403</Code><Detail>Unauthorized access</Detail></Error>"),
                 (404, b"<Error><Code>404</Code><Detail>No such entity</Detail></Error>"),
                 (410, b""),
                 (413, b"<Error><Code>413</Code><Detail>Too large</Detail></Error>")):
    c = client(script=[[err(st, text), ok()]])
    send(c)
    stats(c)

print("-- 401 once: a fresh token, sent again at once, exactly once")
c = client(script=[[R(b"HTTP/1.1 401 U\r\nContent-Length: 0\r\n\r\n", secs=2), ok()]])
send(c)
stats(c)
c = client(script=[[R(b"HTTP/1.1 401 U\r\nContent-Length: 7\r\n\r\nExpired", secs=2),
                    R(b"HTTP/1.1 401 U\r\nContent-Length: 7\r\n\r\nInvalid", secs=2), ok()]])
send(c)
stats(c)

print("-- a 401 that closes the connection: renewed and resent on a new one, no wait")
c = client(script=[[R(b"HTTP/1.1 401 U\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", secs=1)], [ok()]])
send(c)
stats(c)

print("-- interim 1xx responses are skipped")
c = client(script=[[R(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
                    R(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")]])
send(c)
send(c)
stats(c)

print("-- 408, 429 and 5xx: retried after a backoff")
for st in (408, 429, 500, 502, 503, 504):
    c = client(script=[[err(st, b"busy"), ok()]])
    send(c)
    stats(c)

print("-- a failed TLS handshake is raised at once")
c = client(script=[azure.TLSError("certificate not trusted"), [ok()]])
send(c)
stats(c)

print("-- after a failure the client still sends")
c = client(script=[[err(404, b"gone"), ok(201)]])
send(c)
send(c)
stats(c)
c.close()
