# MicroPython side of the end-to-end tests: runs one scenario against the
# local endpoint and prints one JSON result line. Configuration comes from
# the environment (set by test_send_e2e.py).
import json
import os
import sys
import time

import azure

ENDPOINT = os.getenv("E2E_ENDPOINT")
CA = os.getenv("E2E_CA")
EH = os.getenv("E2E_EH_CS")
SB = os.getenv("E2E_SB_CS")
IOT = os.getenv("E2E_IOT_CS")
N = int(os.getenv("E2E_N") or "0")


def result(**kw):
    print("RESULT " + json.dumps(kw))


def eh(**kw):
    return azure.EventHubClient.from_connection_string(EH, endpoint=ENDPOINT, ca_certs=CA, **kw)


def basic():
    out = {}
    c = eh()
    out["eh_single"] = c.send("eh-single", properties={"Alert": "Strong Wind", "n": 7}, partition_key="pk1")
    out["eh_batch"] = c.send_batch(["eh-b1", ("eh-b2", {"k": "v"}, "pk2"), ("eh-b3 \"quoted\"\n\u00e9", None)])
    c.close()
    c = eh(publisher="dev-7")
    out["eh_publisher"] = c.send(b"eh-publisher")
    out["eh_publisher_batch"] = c.send_batch(["eh-pb1", "eh-pb2"])
    c = eh(partition_id="1")
    out["eh_partition"] = c.send("eh-partition")
    s = azure.ServiceBusClient.from_connection_string(SB, endpoint=ENDPOINT, ca_certs=CA)
    out["sb_single"] = s.send("sb-single", properties={"Label": "x"})
    out["sb_batch"] = s.send_batch(["sb-b1", "sb-b2"])
    i = azure.IoTHubClient.from_connection_string(IOT, endpoint=ENDPOINT, ca_certs=CA)
    out["iot_single"] = i.send(b"\x00\x01iot-binary", properties={"temp": "21.5"})
    out["iot_batch"] = i.send_batch([b"iot-b1", (b"iot-b2", {"p": "q"})])
    out["connects"] = i.stats["connects"]
    result(**out)


def renewal():
    # A 3 s token: the second send comes after the first token expired.
    c = eh(publisher="renew", token_ttl=3)
    a = c.send("before-expiry")
    first = c._token
    time.sleep(4)
    b = c.send("after-expiry")
    result(a=a, b=b, renewals=c.stats["renewals"], new_token=c._token != first,
           connects=c.stats["connects"])


def expired_token_renewed_on_401():
    # The cached token is already expired (as after a clock jump): the
    # service answers 401, the client signs a fresh token once and succeeds.
    c = eh(publisher="renew401")
    c.send("warm-up")
    now = azure.unix_time()
    c._token = azure.sas_token(c._audience, c._key, c._key_name, expiry=now - 10)
    st = c.send("after-401")
    result(status=st, renewals=c.stats["renewals"], requests=c.stats["requests"])


def wrong_key():
    bad = EH.replace("SharedAccessKey=", "SharedAccessKey=X")
    c = azure.EventHubClient.from_connection_string(bad, endpoint=ENDPOINT, ca_certs=CA)
    try:
        c.send("never stored")
        result(raised=False)
    except azure.SendError as e:
        result(raised=True, status=e.status, text=e.text, requests=c.stats["requests"],
               is_oserror=isinstance(e, OSError))


def other_ca():
    c = eh()
    try:
        c.send("never stored")
        result(raised=False)
    except azure.TLSError as e:
        result(raised=True, message=str(e))


def other_ca_insecure():
    # The explicit, loudly named opt-out: no verification at all.
    c = eh(insecure_disable_tls_verification=True)
    result(status=c.send("sent without verification"))


def stream():
    # N events with faults injected by the endpoint: singles and batches,
    # each event carrying its sequence number.
    c = eh(publisher="stream", backoff_base_ms=20, backoff_cap_ms=300, max_retries=20, timeout=10)
    failed = []
    i = 0
    while i < N:
        if i % 100 < 40:
            try:
                c.send('{"seq":%d}' % i, properties={"seq": i})
            except azure.SendError as e:
                failed.append((i, str(e)))
            i += 1
        else:
            batch = ['{"seq":%d}' % j for j in range(i, min(i + 20, N))]
            try:
                c.send_batch(batch)
            except azure.SendError as e:
                failed.append((i, str(e)))
            i += len(batch)
    result(failed=failed, stats=c.stats)


globals()[sys.argv[1]]()
