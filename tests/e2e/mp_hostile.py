# MicroPython side of tests/e2e/test_hostile_client.py: one scenario per
# run, one RESULT line of JSON. Configuration from the environment:
# H_ENDPOINT (the local endpoint), H_HOSTILE (the hostile server), H_CA,
# H_EH_CS / H_IOT_CS (right keys), H_EH_BAD / H_IOT_BAD (wrong, recognisable
# keys), H_SECRETS (comma-separated texts that must never show).
import gc
import json
import os
import sys

import azure

ENDPOINT = os.getenv("H_ENDPOINT")
HOSTILE = os.getenv("H_HOSTILE")
CA = os.getenv("H_CA")
SECRETS = [s for s in (os.getenv("H_SECRETS") or "").split(",") if s]
texts = []
leaks = []


def watch(*objs):
    for o in objs:
        for t in (str(o), repr(o)):
            texts.append(len(t))
            for s in SECRETS:
                if s in t:
                    leaks.append(t[:200])


def result(**kw):
    kw["texts"] = len(texts)
    kw["leaks"] = leaks
    print("RESULT " + json.dumps(kw))


def outcome(f, *a, **kw):
    try:
        r = f(*a, **kw)
    except Exception as e:
        watch(e, e.args, getattr(e, "text", None))
        return [type(e).__name__, str(e)[:300], getattr(e, "status", None)]
    watch(r)
    return ["ok", r, None]


def weird():
    # Legal but hostile-looking values, sent for real: the endpoint stores
    # exactly what was given (or the service's own answer is a clear error).
    out = {}
    c = azure.EventHubClient.from_connection_string(os.getenv("H_EH_CS"), endpoint=ENDPOINT, ca_certs=CA,
                                                    max_retries=0)
    out["single"] = outcome(c.send, 'w-single "q" \\ \x00 \u00e9 \U0001f600\r\n',
                            properties={"Quote": 'a"b\\c', "Tab": "x\ty", "n": 7, "f": 1.5, "b": True},
                            partition_key='pk "1" \\ \t')
    out["empty"] = outcome(c.send, b"")
    out["binary"] = outcome(c.send, bytes(range(256)))
    out["batch"] = outcome(c.send_batch, [
        ('w-b1 \x00\r\n"\\', {"CRLF": "a\r\nb", "Quote": '"', "Uni": "\u00e9\u20ac", "Nul": "\x00"}, 'k\r\n"\x00'),
        ("w-b2", {"n": 1}, ""),
        bytearray(b"w-b3"),
        memoryview(b"xw-b4")[1:],
    ])
    c.close()
    for name, pub in (("pub_space", "dev 1"), ("pub_unicode", "d\u00e9v"), ("pub_slash", "a/b"),
                      ("pub_crlf", "d\r\nX: y"), ("pub_pct", "%2F..%00")):
        p = azure.EventHubClient.from_connection_string(os.getenv("H_EH_CS"), endpoint=ENDPOINT, ca_certs=CA,
                                                        publisher=pub, max_retries=0)
        out[name] = outcome(p.send, "w-" + name)
        p.close()
    i = azure.IoTHubClient.from_connection_string(os.getenv("H_IOT_CS"), endpoint=ENDPOINT, ca_certs=CA,
                                                  max_retries=0)
    out["iot"] = outcome(i.send, b"\xff\x00w-iot", properties={"k": 'v "x"', "n": 0})
    out["iot_batch"] = outcome(i.send_batch, [b"\xffw-iot-b1", ("w-iot-b2 \u00e9", {"CRLF": "a\r\nb"})])
    watch(c, i, c.stats, i.stats)
    result(**out)


def secrets():
    # Wrong keys: 401s; the right keys: fine. No key text in any message,
    # repr or stats, nor the decoded IoT key.
    out = {}
    for name, make, cs in (("eh", azure.EventHubClient, "H_EH_BAD"), ("iot", azure.IoTHubClient, "H_IOT_BAD"),
                           ("eh_ok", azure.EventHubClient, "H_EH_CS"), ("iot_ok", azure.IoTHubClient, "H_IOT_CS")):
        c = make.from_connection_string(os.getenv(cs), endpoint=ENDPOINT, ca_certs=CA, max_retries=1,
                                        backoff_base_ms=1, backoff_cap_ms=2)
        out[name] = outcome(c.send, "s-" + name)
        out[name + "_batch"] = outcome(c.send_batch, ["s-" + name + "-b"])
        watch(c, c.stats, c._resp, c._resp.error_text)
        c.close()
    # Connection refused, TLS with the wrong CA, a bad endpoint: their messages too.
    c = azure.EventHubClient.from_connection_string(os.getenv("H_EH_BAD"), endpoint="127.0.0.1:9", ca_certs=CA,
                                                    max_retries=0)
    out["refused"] = outcome(c.send, "never")
    c = azure.EventHubClient.from_connection_string(os.getenv("H_EH_BAD"), endpoint=ENDPOINT,
                                                    ca_certs="/nonexistent/ca.der", max_retries=0)
    out["no_ca"] = outcome(c.send, "never")
    out["bad_cs"] = outcome(azure.IoTHubClient.from_connection_string, os.getenv("H_IOT_BAD") + ";x")
    out["bad_b64"] = outcome(azure.IoTHubClient.from_connection_string(
        os.getenv("H_IOT_BAD") + "!", endpoint=ENDPOINT, ca_certs=CA).send, "never")
    result(**out)


def hostile():
    # A server that answers with hostile bytes (the scenario is the
    # publisher name): every send ends in a clear OSError, the heap stays
    # bounded (this runs with a small heap), and a correct send to the real
    # endpoint still works in the same process.
    out = {}
    azure.EventHubClient  # its module's code loaded first (on first use): code is not growth
    gc.collect()
    base = gc.mem_alloc()
    peak = 0
    for scenario in sys.argv[2].split(","):
        c = azure.EventHubClient.from_connection_string(os.getenv("H_EH_CS"), endpoint=HOSTILE, ca_certs=CA,
                                                        publisher=scenario, max_retries=0, timeout=3)
        out[scenario] = outcome(c.send, "h-" + scenario)
        c.close()
        c = None
        gc.collect()
        peak = max(peak, gc.mem_alloc() - base)
    good = azure.EventHubClient.from_connection_string(os.getenv("H_EH_CS"), endpoint=ENDPOINT, ca_certs=CA,
                                                       publisher="after-hostile")
    out["after"] = outcome(good.send, "h-after")
    good.close()
    result(heap_growth=peak, **out)


globals()[sys.argv[1]]()
