try:
    import azure

    azure.EventHubClient
    import client_harness as H
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets (no clients) or without the harness (tests/lib)
    raise SystemExit

from client_harness import *  # noqa: F401,F403 (client, send, batch, stats, ok, err, at, EH, SB, IOT, ...)

# ---- scenarios --------------------------------------------------------------
H.SHOW_CONNECT = True

print("-- one connection kept alive across sends")
c = client(script=[[ok(), ok(204), ok()]])
send(c)
send(c)
batch(c, ["a", "b", "c"])
stats(c)
c.close()
c.close()
print("  closed twice: one close")

print("-- endpoint=, ca_certs=, timeout=, insecure_disable_tls_verification=")
c = client(script=[[ok()]], endpoint="127.0.0.1:5671", ca_certs="/flash/cert/ca.pem", timeout=5)
send(c)
c.close()
c = client(script=[[ok()]], endpoint="localhost", insecure_disable_tls_verification=True)
send(c)
c.close()
H.SHOW_CONNECT = False

print("-- Connection: close honoured: closed after the response, the next send reconnects")
c = client(script=[[ok(201, b"Connection: close\r\n")], [err(503, b"", b"Connection: close\r\n")], [ok()]])
send(c)
stats(c)
send(c)
stats(c)
c.close()

print("-- HTTP/1.0 without a length: read until the server closes, then reconnect")
c = client(script=[[R(b"HTTP/1.0 201 Created\r\nContent-Type: text/plain\r\n\r\nstored", "eof")],
                   [R(b"HTTP/1.1 201 Created\r\n\r\n", "eof")],
                   [R(b"HTTP/1.0 201 Created\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"), ok()]])
send(c)
send(c)
send(c)
send(c)
stats(c)
c.close()

print("-- chunked bodies on a kept-alive connection")
c = client(script=[[R(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
                    R(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), ok()]])
send(c)
send(c)
send(c)
stats(c)
c.close()

print("-- keep_alive=False: asks for close and closes after every response")
c = client(script=[[ok()], [ok(201, b"Connection: keep-alive\r\n")]], keep_alive=False)
send(c)
send(c)
stats(c)

print("-- a kept-alive connection the server dropped: reconnected once, at once")
# The write fails (EPIPE)
c = client(script=[[ok()], [ok()]])
send(c)
send(c)
stats(c)
c.close()
# The write goes through, the read finds the connection closed
c = client(script=[[ok(), R(b"", "eof")], [ok()]])
send(c)
send(c)
stats(c)
c.close()
# A reset in the middle of the response
c = client(script=[[ok(), R(b"HTTP/1.1 201 Cre", "eof")], [ok()]])
send(c)
send(c)
stats(c)
c.close()
# No answer at all (ETIMEDOUT)
c = client(script=[[ok(), R(b"")], [ok()]])
send(c)
send(c)
stats(c)
c.close()

print("-- dropped, and the reconnect fails too: then backoff")
c = client(script=[[ok()], 111, [ok()]])
send(c)
send(c)
stats(c)
c.close()
c = client(script=[[ok(), R(b"", "eof")], [R(b"", "eof")], [ok()]])
send(c)
send(c)
stats(c)
c.close()

print("-- dropped on a fresh connection: no immediate reconnect, backoff")
c = client(script=[[R(b"", "eof")], [ok()]])
send(c)
stats(c)
c.close()

print("-- a server trickling header lines: the whole response bounded by 2 * timeout")
c = client(script=[[R(b"HTTP/1.1 201 Created\r\n" + b"X-Pad: y\r\n" * 100, tick=1000)], [ok()]],
           timeout=30, max_retries=0)
send(c)
stats(c)
c = client(script=[[R(b"HTTP/1.1 201 Created\r\n" + b"X-Pad: y\r\n" * 50 + b"Content-Length: 0\r\n\r\n", tick=1000)]],
           timeout=30)
send(c)
stats(c)
c.close()

print("-- the client as a context manager closes its connection")
with client(script=[[ok()]]) as c:
    send(c)
print("  after with")
stats(c)

print("-- HTTP/1.0 with a length but no keep-alive: closed after the response")
c = client(script=[[R(b"HTTP/1.0 201 Created\r\nContent-Length: 0\r\n\r\n")], [ok()]])
send(c)
send(c)
stats(c)
c.close()
