# examples/send_telemetry.py, the README's first example, run unmodified on
# the WiPy twin (its source is in /flash/lib, as a user's main.py would be
# on the board; it is compiled here, like one): no floats, the package
# loaded into the heap from /flash/lib, TLS through the cc3200's ssl
# stand-in. Its configuration comes through os.getenv as on unix (an `os`
# that adds getenv to the firmware's); the outbox goes to a RAM file system
# (the twin's /flash is read-only). Twice: every batch acknowledged; then
# one batch refused (400), which goes to the outbox and is sent, in order,
# behind the next one.
import sys
import os
import socket
import ssl

import outbox_harness  # a RAM file system at outbox_harness.ROOT

KEY = "c2VjcmV0LWtleS1mb3ItdGhlLXdpcHktdHdpbi0wMTI="
ENV = {
    "AZURE_CONNECTION_STRING": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=DataProducer;"
                               "SharedAccessKey=%s;EntityPath=telemetry" % KEY,
    "AZURE_DEVICE": "wipy-kitchen",
    "AZURE_OUTBOX": outbox_harness.ROOT + "/outbox",
    # 3 batches of up to 50 after the single event (the outbox's RAM file
    # system shares the twin's heap: 200 readings fragment it)
    "AZURE_READINGS": "120",
}
CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
REFUSED = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad"


class _Os:
    def __getattr__(self, name):
        return getattr(os, name)

    def getenv(self, name, default=None):
        return ENV.get(name, default)


sys.modules["os"] = _Os()
with open("/flash/lib/send_telemetry.py") as f:
    # Compiled once, as a board compiles its main.py once per boot (a
    # compile per run left the second run a fragmented heap).
    CODE = compile(f.read(), "send_telemetry.py", "exec")


def run(*answers):
    socket.reset()
    socket.answer(*answers)
    exec(CODE, {"__name__": "__main__"})
    stored = [r for r, a in zip(socket.requests, answers) if a is CREATED]
    print("requests", len(socket.requests), "stored in order:", seqs(stored) == list(range(120)) or seqs(stored))
    del ssl.wrapped[:]


def seqs(requests):
    # The "seq" of every reading in the requests' bodies (JSON, or JSON in a batch's Body strings).
    out = []
    for r in requests:
        body = r.split(b"\r\n\r\n", 1)[1]
        i = body.find(b"seq")
        while i >= 0:
            i += 3
            while not 48 <= body[i] <= 57:
                i += 1
            j = i
            while 48 <= body[j] <= 57:
                j += 1
            out.append(int(body[i:j]))
            i = body.find(b"seq", j)
    return out


print("-- every batch acknowledged")
run(*[CREATED] * 4)
print("-- the second batch refused: kept in the outbox, sent behind the third")
run(CREATED, CREATED, REFUSED, CREATED, CREATED)
