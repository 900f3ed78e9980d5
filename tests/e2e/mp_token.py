# MicroPython side of tests/e2e/test_token_e2e.py: a device that holds a
# token made elsewhere (issue #18). One scenario per run, one JSON line out.
import json
import os
import sys

import azure

ENDPOINT = os.getenv("E2E_ENDPOINT")
CA = os.getenv("E2E_CA")
CS = os.getenv("E2E_CS")
TOKEN = os.getenv("E2E_TOKEN")
CLS = getattr(azure, os.getenv("E2E_CLIENT") or "EventHubClient")


def result(**kw):
    print("RESULT " + json.dumps(kw))


def client(**kw):
    return CLS.from_connection_string(CS, endpoint=ENDPOINT, ca_certs=CA, **kw)


def attempt(c, body):
    try:
        return {"status": c.send(body)}
    except azure.SendError as e:
        return {"error": e.status, "text": e.text}


def send():
    # The connection string's token (or token=), a single send and a batch.
    c = client(token=TOKEN) if TOKEN else client()
    out = attempt(c, sys.argv[2])
    if "status" in out:
        out["batch"] = c.send_batch([sys.argv[2] + "-b1", (sys.argv[2] + "-b2", {"k": "v"})])
    out.update(path="/".join(c._path), key_held=c._key is not None, expires=c.token_expires,
               requests=c.stats["requests"], renewals=c.stats["renewals"], connects=c.stats["connects"])
    result(**out)


def expired_then_set():
    # Expired by the device clock: refused before any request; then the next token.
    c = client()
    out = attempt(c, "never stored")
    out["requests_before"] = c.stats["requests"]
    out["connects_before"] = c.stats["connects"]
    c.set_token(TOKEN)
    out.update(after=attempt(c, sys.argv[2]), requests=c.stats["requests"], expires=c.token_expires)
    result(**out)


globals()[sys.argv[1]]()
