# MicroPython side of tests/e2e/test_receive_e2e.py: provisioning, sending
# to the assigned hub, cloud-to-device and Service Bus receive against the
# local endpoint over TLS. One scenario per run; prints one RESULT line.
import json
import os
import sys
import time

import azure

ENDPOINT = os.getenv("E2E_ENDPOINT")
CA = os.getenv("E2E_CA")
SB = os.getenv("E2E_SB_CS")
SCOPE = os.getenv("E2E_ID_SCOPE")
REGID = os.getenv("E2E_REGID")
GROUP_KEY = os.getenv("E2E_GROUP_KEY")
N = int(os.getenv("E2E_N") or "0")


def result(**kw):
    print("RESULT " + json.dumps(kw))


def sb(**kw):
    return azure.ServiceBusClient.from_connection_string(SB, endpoint=ENDPOINT, ca_certs=CA, **kw)


def device():
    # Provision through the enrollment group (the key derived on the device),
    # send 100 events, then work through the cloud-to-device queue: complete
    # every command but n=5 (rejected) and the first delivery of n=7 (abandoned:
    # it comes back with its delivery count raised and is completed then).
    t0 = time.ticks_ms()
    info = azure.provision_info(SCOPE, REGID, GROUP_KEY, group_key=True, payload={"fw": "1.0"},
                                endpoint=ENDPOINT, ca_certs=CA)
    c = azure.provision(SCOPE, REGID, GROUP_KEY, group_key=True, endpoint=ENDPOINT, ca_certs=CA)
    out = {"hub": c.hub, "device_id": c.device_id, "info": info,
           "derived": info["key"] == azure.derive_device_key(GROUP_KEY, REGID),
           "provision_ms": time.ticks_diff(time.ticks_ms(), t0)}
    for i in range(60):
        c.send('{"seq":%d}' % i, properties={"seq": i})
    c.send_batch(['{"seq":%d}' % i for i in range(60, 80)])
    c.send_batch([('{"seq":%d}' % i, {"seq": i}) for i in range(80, 100)])
    out["sent"] = c.stats["sent"]
    log = []
    completed, rejected, abandoned = [], [], []
    last = None
    while True:
        m = c.receive()
        if m is None:
            break
        last = m
        n = int(m.properties["n"])
        log.append([m.message_id, m.correlation_id, m.delivery_count, m.properties, str(m.body, "utf-8")])
        if n == 5:
            c.reject(m)
            rejected.append(m.message_id)
        elif n == 7 and m.delivery_count == 1:
            c.abandon(m)
            abandoned.append(m.message_id)
        else:
            c.complete(m)
            completed.append(m.message_id)
        if len(log) > 40:
            break
    out.update(log=log, completed=completed, rejected=rejected, abandoned=abandoned)
    # A settled message cannot be settled again: the lock is gone.
    try:
        c.complete(last)
    except azure.LockLostError as e:
        out["again"] = [e.status, isinstance(e, azure.SendError)]
    except ValueError as e:
        out["again"] = str(e)
    out["stats"] = c.stats
    result(**out)


def c2d_lock_expiry():
    # Received, not settled within the lock (--c2d-lock-seconds): completing
    # it is refused (412), and the message comes back with its count raised.
    info = azure.provision_info(SCOPE, REGID, GROUP_KEY, group_key=True, endpoint=ENDPOINT, ca_certs=CA)
    c = azure.IoTHubClient.from_connection_string(
        "HostName=%s;DeviceId=%s;SharedAccessKey=%s" % (info["hub"], info["device_id"], info["key"]),
        endpoint=ENDPOINT, ca_certs=CA)
    m = c.receive()
    time.sleep(N)
    out = {"first": m.delivery_count}
    try:
        c.complete(m)
        out["lost"] = None
    except azure.LockLostError as e:
        out["lost"] = [e.status, e.text]
    again = c.receive()
    out["again"] = [again.message_id == m.message_id, again.delivery_count, again.lock_token != m.lock_token]
    out["complete"] = c.complete(again)
    out["empty"] = c.receive() is None
    result(**out)


def sb_semantics():
    # Peek-lock, abandon, lock expiry, lock renewal, receive-and-delete, a subscription.
    q = sb(queue_name="jobs")
    q.send_batch([("job-a", {"kind": "a", "prio": 5}), ("job-b", {"kind": "b", "ok": True}), "job-c"])
    out = {}
    a = q.receive(timeout=2)
    out["a"] = [str(a.body, "utf-8"), a.delivery_count, a.properties, a.location.startswith("/jobs/messages/")]
    out["abandon"] = q.abandon(a)
    a2 = q.receive(timeout=2)
    out["a2"] = [a2.message_id == a.message_id, a2.delivery_count, a2.lock_token != a.lock_token]
    out["complete"] = q.complete(a2)
    b = q.receive(timeout=2)
    time.sleep(N)  # past --sb-lock-seconds
    try:
        q.complete(b)
        out["lost"] = None
    except azure.LockLostError as e:
        out["lost"] = [e.status, "MessageLockLost" in e.text]
    b2 = q.receive(timeout=2)
    out["b2"] = [b2.message_id == b.message_id, b2.delivery_count, str(b2.body, "utf-8")]
    # A long job: the lock renewed before it runs out, twice, outlives two
    # lock durations (--sb-lock-seconds 2), and the complete still holds.
    renewed = []
    for _ in range(2):
        time.sleep_ms(1500)
        renewed.append(q.renew_lock(b2))
    time.sleep_ms(1000)
    out["renew"] = renewed + [q.complete(b2)]
    c = q.receive(timeout=2, delete=True)
    out["c"] = [str(c.body, "utf-8"), c.lock_token, c.location]
    out["empty"] = q.receive(timeout=1) is None
    t = sb(topic_name="alerts", subscription_name="wipy")
    t.send("alert-1", properties={"level": "high"})
    m = t.receive(timeout=2)
    out["sub"] = [str(m.body, "utf-8"), m.properties, m.location.startswith("/alerts/subscriptions/wipy/messages/")]
    out["sub_complete"] = t.complete(m)
    result(**out)


def sb_stream():
    # N messages sent, then received with peek-lock and completed, through
    # the endpoint's faults. Every complete that succeeded is recorded; a
    # LockLostError after a retried request is recorded apart (the first
    # attempt may have completed it). Messages locked by a request whose
    # answer was lost come back after the lock expires.
    q = sb(backoff_base_ms=20, backoff_cap_ms=300, max_retries=20, timeout=10)
    i = 0
    while i < N:
        q.send_batch([('{"seq":%d}' % j, {"seq": j}) for j in range(i, min(i + 50, N))])
        i += 50
    done = {}  # message id -> completes the client saw succeed (a duplicate send is another id)
    seqs = set()
    dup = 0
    lost_after_retry = 0
    redelivered = 0
    receives = 0
    empty = 0
    t0 = time.ticks_ms()
    # Until every seq is settled and the queue is drained (duplicate copies
    # from a send whose answer was lost, locks that expire and come back).
    while time.ticks_diff(time.ticks_ms(), t0) < 90000:
        m = q.receive(timeout=3)
        receives += 1
        if m is None:
            empty += 1
            if len(seqs) >= N:
                break
            continue
        if m.delivery_count > 1:
            redelivered += 1
        if m.message_id in done:
            dup += 1
        try:
            q.complete(m)
            done[m.message_id] = done.get(m.message_id, 0) + 1
        except azure.LockLostError as e:
            if e.retried:
                lost_after_retry += 1
                done.setdefault(m.message_id, 0)
            else:
                print("LOST", m.message_id, m.location, m.delivery_count, q.stats)
                raise
        seqs.add(int(m.properties["seq"]))
    result(seqs=sorted(seqs), twice=[k for k in done if done[k] > 1], settled=len(done),
           completed_ok=sum(1 for k in done if done[k]), dup_deliveries=dup,
           lost_after_retry=lost_after_retry, redelivered=redelivered, receives=receives, empty=empty,
           stats=q.stats, ms=time.ticks_diff(time.ticks_ms(), t0))


def send_jobs():
    # Jobs for examples/servicebus_worker.py.
    q = sb(queue_name="jobs")
    q.send_batch([("job-1", {"priority": "high"}), "fail-2", "job-3"])
    result(sent=q.stats["sent"])


globals()[sys.argv[1]]()
