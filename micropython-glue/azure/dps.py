"""Device Provisioning Service over HTTPS (symmetric keys): register, poll
until assigned, and hand back the hub (README "Provisioning").

    PUT /{idScope}/registrations/{registrationId}/register?api-version=2021-06-01
        {"registrationId": ..., "payload": ..., "modelId": ...}
        -> 202 {"operationId": ..., "status": "assigning"} + Retry-After
    GET /{idScope}/registrations/{registrationId}/operations/{operationId}?api-version=...
        -> {"status": "assigning" | "assigned" | "failed" | "disabled" | ...,
            "registrationState": {"assignedHub", "deviceId", "errorCode", "errorMessage", ...}}

The decision is the JSON `status`, not 200 vs 202. The token is
`sr={idScope}/registrations/{registrationId}` (percent-encoded by the
signer), `skn=registration`, signed with the base64-decoded device key
(derived from the group key first with group_key=True). The requests go
through the clients' one request core (native framer, retries with
Retry-After, a fresh token once on 401). Imported by azure.provision()
for the call and dropped afterwards.
"""

import json

import _azure

from . import client as C
from . import ProvisioningError, SendError
from .response import Response

DPS_HOST = "global.azure-devices-provisioning.net"
API_VERSION = "2021-06-01"
_ENCODING = {"Content-Encoding": "utf-8"}


def _loads(b):
    try:
        return json.loads(b)
    except ValueError:
        # A port without floats refuses 1.5: the fallback reads its integer part.
        from .receive import loads

        return loads(b)


def _answer(c, r, method, path, body):
    """One request; the answer's JSON object, or ProvisioningError."""
    try:
        status = c._run(c._request(method, path, body, "application/json" if body else None,
                                   _ENCODING if body else None, query="api-version=" + API_VERSION, resp=r))
    except SendError as e:
        if e.status is None:
            raise ProvisioningError(None, e.text)
        # DPS errors: x-ms-error-code and {"errorCode", "message", ...}.
        text = e.text
        try:
            doc = _loads(bytes(r.body))
            text = "%s (errorCode %s)" % (doc["message"], doc.get("errorCode"))
        except (ValueError, KeyError, TypeError):
            pass
        code = r.headers.get("x-ms-error-code")
        raise ProvisioningError(e.status, "%s: %s" % (code, text) if code else text)
    if r.body_cut:
        raise ProvisioningError(status, "answer longer than answer_max=%d bytes: pass answer_max="
                                % r.body_cap)
    try:
        doc = _loads(bytes(r.body))
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise ProvisioningError(status, "malformed answer (not a JSON object): %r" % bytes(r.body[:64]))
    return doc


def _refused(status, doc):
    st = doc.get("status")
    state = doc.get("registrationState")
    msg = "registration %s" % st
    if isinstance(state, dict) and ("errorMessage" in state or "errorCode" in state):
        msg += ": %s (errorCode %s)" % (state.get("errorMessage"), state.get("errorCode"))
    e = ProvisioningError(status, msg)
    e.registration_status = st
    return e


def provision_info(id_scope, registration_id, key, *, group_key=False, payload=None, model_id=None,
                   endpoint=None, ca_certs=None, timeout=30, dps_host=DPS_HOST, answer_max=2048, **kw):
    """Registers and returns the assignment {"hub", "device_id", "key"[, "payload"]}."""
    for v in (id_scope, registration_id, key):
        if not isinstance(v, str) or not v:
            raise TypeError("id_scope, registration_id and key must be non-empty str")
    if not isinstance(timeout, int) or timeout < 1:
        raise ValueError("timeout must be a positive number of seconds")
    if model_id is not None and not isinstance(model_id, str):
        raise TypeError("model_id must be a str")
    if group_key:
        key = _azure.derive_device_key(key, registration_id)
    doc = {"registrationId": registration_id}
    if payload is not None:
        doc["payload"] = payload
    if model_id is not None:
        doc["modelId"] = model_id
    body = json.dumps(doc).encode()
    base = (id_scope, "registrations", registration_id)
    from .https import _Client

    c = _Client(dps_host, base + ("register",), "%s/registrations/%s" % (id_scope, registration_id),
                  key, "registration", True, endpoint=endpoint, ca_certs=ca_certs, timeout=timeout, **kw)
    r = Response(keep=(b"x-ms-error-code",), body_cap=answer_max)
    start = C.ticks_ms()
    try:
        doc = _answer(c, r, "PUT", base + ("register",), body)
        while True:
            st = doc.get("status")
            if st == "assigned":
                break
            if not isinstance(st, str):
                raise ProvisioningError(r.status, "malformed answer: no status")
            if st != "assigning":
                raise _refused(r.status, doc)
            op = doc.get("operationId")
            if not isinstance(op, str) or not op:
                raise ProvisioningError(r.status, "malformed answer: assigning without an operationId")
            # Poll when the service says (Retry-After, seconds; 3 when absent, at least 1).
            wait = r.retry_after
            wait = 3000 if wait is None else max(wait, 1) * 1000
            if C.ticks_diff(C.ticks_ms(), start) + wait > timeout * 1000:
                e = ProvisioningError(r.status, "not assigned within timeout=%d s (still assigning)" % timeout)
                e.registration_status = st
                raise e
            C.sleep_ms(wait)
            doc = _answer(c, r, "GET", base + ("operations", op), b"")
    finally:
        c.close()
    state = doc.get("registrationState")
    hub = state.get("assignedHub") if isinstance(state, dict) else None
    dev = state.get("deviceId") if isinstance(state, dict) else None
    if not isinstance(hub, str) or not hub or not isinstance(dev, str) or not dev:
        raise ProvisioningError(r.status, "malformed answer: assigned without assignedHub and deviceId")
    out = {"hub": hub, "device_id": dev, "key": key}
    if "payload" in state:
        out["payload"] = state["payload"]
    return out


def provision(id_scope, registration_id, key, *, endpoint=None, ca_certs=None, timeout=30, transport="https",
              mqtt_endpoint=None, **kw):
    """provision_info, then a client for the assigned hub and device: an
    IoTHubClient, or with transport="mqtt" an IoTHubMQTTClient (to the hub's
    port 8883, or mqtt_endpoint="host:port"; endpoint= is DPS's then)."""
    if transport not in ("https", "mqtt"):
        raise ValueError("transport must be 'https' or 'mqtt'")
    a = provision_info(id_scope, registration_id, key, endpoint=endpoint, ca_certs=ca_certs,
                       timeout=timeout, **kw)
    for k in ("group_key", "payload", "model_id", "dps_host", "answer_max"):
        kw.pop(k, None)  # provisioning's own options; the rest are the client's
    hub, dev = a["hub"], a["device_id"]
    if transport == "mqtt":
        from . import IoTHubMQTTClient as cls

        endpoint = mqtt_endpoint
    else:
        from . import IoTHubClient as cls
    try:
        c = cls(hub, ("devices", dev, "messages", "events"), "%s/devices/%s" % (hub, dev),
                a["key"], None, True, iot=True, endpoint=endpoint, ca_certs=ca_certs,
                timeout=timeout, **kw)
    except ValueError as e:  # a hub name the framer refuses
        raise ProvisioningError(200, "malformed answer: assignedHub %r (%s)" % (hub[:64], e))
    c.assignment = a
    return c


def _call(name, args, kw):
    # azure.provision()/provision_info() come here through the package,
    # which drops this module again after the call.
    return globals()[name](*args, **kw)
