try:
    import azure

    azure.IoTHubClient
    import receive_harness  # noqa: F401 (tests/lib)
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets: no clients
    raise SystemExit

from receive_harness import *  # noqa: F401,F403 (reply, reset, line, header, body, err, C, REQS, ...)
# Provisioning over HTTPS (azure/dps.py through azure.provision and
# azure.provision_info): register, polls honouring Retry-After, the decision
# on the JSON status (not 200 vs 202), the token (sr, skn=registration, the
# derived key), the assigned hub's client, and every refusal as a
# ProvisioningError: failed, disabled, 401, 404, a never-ending 202
# (timeout), malformed JSON. The module is dropped after each call.
import sys
import _azure

SCOPE = "0ne00000A0A"
RID = "dev-007"
GROUP = "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw=="
JSON = b"Content-Type: application/json; charset=utf-8\r\n"


def assigning(op="5.op-1", retry=b"2"):
    h = JSON + (b"Retry-After: %s\r\n" % retry if retry else b"")
    return reply(202, b'{"operationId":"%s","status":"assigning"}' % op.encode(), h)


def done(status="assigned", http=200, extra=b""):
    st = b'{"registrationId":"dev-007","assignedHub":"my-hub.azure-devices.net","deviceId":"dev-007","status":"%s"%s}' % (status.encode(), extra)
    return reply(http, b'{"operationId":"5.op-1","status":"%s","registrationState":%s}' % (status.encode(), st), JSON)


def run(fn=azure.provision_info, key=GROUP, **kw):
    kw.setdefault("max_retries", 0)
    try:
        a = fn(SCOPE, RID, key, group_key=True, **kw)
        if isinstance(a, dict):
            print("  ok", sorted((k, v) for k, v in a.items() if k not in ("key", "payload")))
        return a
    except azure.ProvisioningError as e:
        print(" ", err(e), "|", e.registration_status)
    finally:
        print("  requests:", [line(i).split("?")[0] for i in range(len(REQS))], "slept:", slept,
              "module kept:", "azure.dps" in sys.modules)


print("-- registered, two polls: Retry-After honoured, then assigned")
reset()
REPLIES.extend([assigning(), assigning(retry=b"5"), done(extra=b',"payload":{"cfg":7}')])
a = run(payload={"fw": "1.2"}, model_id="dtmi:com:example:Thermostat;1")
print(a["payload"])
print(line(0))
print(line(1))
print(header(0, b"content-type"), header(0, b"content-encoding"), header(1, b"content-length"))
b = body(0)
import json

print(sorted(json.loads(b).items()))
derived = _azure.derive_device_key(GROUP, RID)
print(a["key"] == derived, derived)
tok = header(0, b"authorization")
print(tok == _azure.sas_token(SCOPE + "/registrations/" + RID, derived, "registration", expiry=T0 + 3600,
                              key_is_base64=True))
print(tok.startswith("SharedAccessSignature sr=0ne00000A0A%2Fregistrations%2Fdev-007&sig="), tok.endswith("&skn=registration"))
print(header(2, b"authorization") == tok)

print("-- the decision is the JSON status: 200 'assigning' polls on, 202 'assigned' is done")
reset()
REPLIES.extend([reply(200, b'{"operationId":"op-2","status":"assigning"}', b"Retry-After: 1\r\n"), done(http=202)])
run()
print("-- an individual enrollment's key (group_key=False) signs as given")
reset()
REPLIES.extend([done()])
se = C.unix_time() + 3600
a = azure.provision_info(SCOPE, RID, "ZGV2aWNlLWtleS0wMTIzNDU2Nzg5YWJjZGVm")
print(a["key"], header(0, b"authorization") == _azure.sas_token(SCOPE + "/registrations/" + RID,
      "ZGV2aWNlLWtleS0wMTIzNDU2Nzg5YWJjZGVm", "registration", expiry=se, key_is_base64=True))
print("-- no Retry-After: 3 s; Retry-After 0: 1 s")
reset()
REPLIES.extend([assigning(retry=None), assigning(retry=b"0"), done()])
run()

print("-- provision(): the client of the assigned hub, ready to send")
reset()
REPLIES.extend([assigning(), done(), reply(204)])
d = run(fn=azure.provision, endpoint="127.0.0.1:8443")
print(type(d).__name__, d.hub, d.device_id, d.host, d._connect_host, d._port, d.assignment["hub"])
print(d.send(b"hello"), line())
print(header(2, b"authorization").startswith("SharedAccessSignature sr=my-hub.azure-devices.net%2Fdevices%2Fdev-007&sig="))

print("-- failed, disabled, unassigned: the service's verdict and message")
for st in ("failed", "disabled"):
    reset()
    REPLIES.extend([assigning(), done(st, extra=b',"errorCode":400209,"errorMessage":"Custom allocation failed"')])
    run()
reset()
REPLIES.append(reply(200, b'{"operationId":"x","status":"unassigned"}'))
run()
print("-- 401 (a fresh token once, then refused), 404, 400: status and message")
reset()
E401 = reply(401, b'{"errorCode":401002,"trackingId":"t","message":"Unauthorized","timestampUtc":"2026-11-30T10:00:00Z"}',
             b"x-ms-error-code: 401002\r\n" + JSON)
REPLIES.extend([E401, E401])
run()
reset()
REPLIES.extend([assigning(), reply(404, b'{"errorCode":404201,"message":"Operation not found"}', b"x-ms-error-code: 404201\r\n")])
run()
reset()
REPLIES.append(reply(400, b"not json at all"))
run()
print("-- 503 retried by the request core (Retry-After honoured), then assigned")
reset()
REPLIES.extend([reply(503, b"busy", b"Retry-After: 4\r\n"), done()])
run(max_retries=1)

print("-- a never-ending 202: ProvisioningError once timeout is spent")
reset()
REPLIES.extend([assigning(retry=b"3")] * 20)
run(timeout=10)
reset()
REPLIES.extend([assigning(retry=b"60")])
run()

print("-- malformed answers")
for r in (reply(202, b'{"operationId": "op", "status": '),
          reply(202, b'["assigning"]'),
          reply(200, b""),
          reply(202, b'{"status":"assigning"}'),
          reply(202, b'{"status":"assigning","operationId":7}'),
          reply(200, b'{"status":"assigned"}'),
          reply(200, b'{"status":"assigned","registrationState":{"assignedHub":"my-hub"}}'),
          reply(200, b'{"status":"assigned","registrationState":{"assignedHub":"bad hub!","deviceId":"d"}}'),
          reply(200, b'{"status":"assigned","registrationState":{"assignedHub":"h","deviceId":"d","x":"' + b"y" * 3000 + b'"}}')):
    reset()
    REPLIES.append(r)
    run(fn=azure.provision)
print("-- numbers with a fraction (a port without floats reads their integer part)")
reset()
REPLIES.append(done(extra=b',"payload":{"n":2,"t":21.5e0}'))
a = run()
print(a["payload"]["n"], int(a["payload"]["t"]))

print("-- bad arguments")
for args in ((SCOPE, RID, None), (SCOPE, "", "k"), (7, RID, "k")):
    try:
        azure.provision_info(*args)
    except TypeError as e:
        print("  TypeError", e)
try:
    azure.provision_info(SCOPE, RID, "a2V5", timeout=0)
except ValueError as e:
    print("  ValueError", e)
print("-- a connection that fails: ProvisioningError with status None")
reset()


def refuse(*a):
    raise OSError(111)


C.transport.connect = refuse
run()
print("azure.dps" in sys.modules, "dps" in dir(azure))
