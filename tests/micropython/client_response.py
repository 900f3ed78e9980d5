try:
    import azure

    azure.EventHubClient
    import client_harness as H
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets (no clients) or without the harness (tests/lib)
    raise SystemExit

from client_harness import *  # noqa: F401,F403 (client, send, batch, stats, ok, err, at, EH, SB, IOT, ...)

# ---- scenarios --------------------------------------------------------------
H.QUIET = True
CHUNKED = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"


def every_split(resp):
    # The client's outcome with the response's bytes as they come (reads of
    # what the client asks for), cut at each offset in turn, and one byte
    # per read; each outcome once, in order.
    seen = []
    for cuts in [()] + [(p,) for p in range(1, len(resp))] + [tuple(range(1, len(resp)))]:
        H.CUTS = cuts
        H.closes = H.stalls = 0
        c = client(script=[[R(resp)]], max_retries=0)
        try:
            r = str(c.send("x"))
        except azure.SendError as e:
            r = "SendError %s%s" % (e.status, " (connection failed)" if "connection failed" in e.text else "")
        # Refused as it arrives (no read waits for more), the connection not kept.
        r += (" waited" if H.stalls else "") + (" closed" if H.closes else " kept")
        c.close()
        if r not in seen:
            seen.append(r)
    H.CUTS = ()
    print(" ", resp[len(CHUNKED):] if resp.startswith(CHUNKED) else resp, seen)


print("-- chunk data not followed by CRLF: refused, in every split")
for body in (b"5\r\nhelloX\r\n0\r\n\r\n", b"5\r\nhello0\r\n\r\n", b"5\r\nhello5\r\nworld\r\n0\r\n\r\n",
             b"5\r\nhello \r\n0\r\n\r\n", b"5\r\nhello\tX\r\n0\r\n\r\n", b"3\r\nhello\r\n0\r\n\r\n"):
    every_split(CHUNKED + body)

print("-- chunk-size lines without a size: refused")
for body in (b"\r\n\r\n", b";ext\r\n\r\n", b" 0\r\n\r\n", b"zz\r\n\r\n", b"-1\r\n\r\n"):
    every_split(CHUNKED + body)

print("-- well-formed chunked bodies: read, in every split")
for body in (b"5\r\nhello\r\n0\r\n\r\n", b"5\r\nhello\n0\n\n", b"5;ext=1\r\nhello\r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n",
             b"0\r\n\r\n"):
    every_split(CHUNKED + body)

print("-- other responses, in every split")
for resp in (b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
             b"HTTP/1.1 201\r\nContent-Length: 0\r\n\r\n",
             b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
             b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
             b"HTTP/1.x 201 Created\r\nContent-Length: 0\r\n\r\n",
             b"HTTP/1.1 201 Created\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok",
             b"HTTP/1.1 201 Created\r\nContent-Length: -1\r\n\r\n",
             b"HTTP/1.1 201 Created\r\n folded: x\r\n\r\n"):
    every_split(resp)
