"""Device Provisioning Service over HTTPS (symmetric keys).

    PUT /{idScope}/registrations/{registrationId}/register?api-version=2021-06-01
        body {"registrationId": ..., "payload": ..., "modelId": ...}
        -> 202 {"operationId": ..., "status": "assigning"} + Retry-After
    GET /{idScope}/registrations/{registrationId}/operations/{operationId}?api-version=...
        -> 202 {"operationId": ..., "status": "assigning"} + Retry-After (``--dps-polls`` times)
        -> 200 {"operationId": ..., "status": "assigned", "registrationState": {...}}
           (or "failed" / "disabled" with registrationState.errorCode/errorMessage)

Token: ``sr={idScope}%2Fregistrations%2F{registrationId}`` (signed as sent,
any hex case), ``skn=registration``, HMAC key = the base64-decoded device key.
The device key is the individual enrollment's key, or for an enrollment group
base64(HMAC-SHA256(base64decode(group key), registrationId)).  An individual
enrollment for the registration id wins; otherwise the groups whose derived
key verifies the token.  On assignment the device (id = registration id) and
its key go into the ``devices`` table, so it can then send to the local hub
and receive C2D with that key."""

from __future__ import annotations

import json
import uuid
from typing import Optional

from .auth import AuthError, decoded_key, derive_device_key, verify_sas
from .common import BadRequest, Route, iso_ms
from .config import Config

ACTIONS = {
    "dps-register": {"PUT": "_do_dps_register"},
    "dps-operation": {"GET": "_do_dps_operation"},
}

KEY_NAME = "registration"
# registrationState.errorCode for the outcomes forced by --dps-failed / --dps-disabled
FAILED_ERROR = (400209, "Allocation failed for this enrollment (--dps-failed).")
DISABLED_ERROR = (401005, "The enrollment is disabled (--dps-disabled).")


def route(cfg: Config, segs: list) -> Optional[Route]:
    low = [s.lower() for s in segs]
    if len(segs) < 4 or low[1] != "registrations":
        return None
    scope, regid = segs[0], segs[2]
    resource = "/".join(segs)
    if len(segs) == 4 and low[3] == "register":
        return Route("dps", "dps", scope, resource, action="dps-register", registration_id=regid)
    if len(segs) == 5 and low[3] == "operations":
        return Route("dps", "dps", scope, resource, action="dps-operation",
                     registration_id=regid, operation_id=segs[4])
    return None


def device_key_for(cfg: Config, enrollment: str, registration_id: str) -> Optional[str]:
    """The base64 device key an enrollment gives ``registration_id``."""
    if enrollment == "individual":
        return cfg.dps_enrollments.get(registration_id)
    group = enrollment.partition(":")[2]
    if group in cfg.dps_groups:
        return derive_device_key(cfg.dps_groups[group], registration_id)
    return None


def outcome_for(cfg: Config, enrollment: str, registration_id: str) -> str:
    """assigned, or what the flags force for this registration id / group."""
    names = {registration_id, enrollment.partition(":")[2] or registration_id}
    if names & cfg.dps_disabled:
        return "disabled"
    if names & cfg.dps_failed:
        return "failed"
    if names & cfg.dps_never_assign:
        return "never"
    return "assigned"


class DpsRoutes:
    # -- token ------------------------------------------------------------------------
    def _authorize_dps(self, route: Route) -> None:
        """Check the token; remember which enrollment it proved (self._enrollment)."""
        cfg = self.cfg
        if route.entity.lower() != cfg.id_scope.lower():
            raise BadRequest(404, "IdScopeNotFound", f"no provisioning service with id scope "
                                                     f"{route.entity!r} here")
        regid = route.registration_id
        candidates = []            # (enrollment, base64 device key)
        if regid in cfg.dps_enrollments:
            candidates.append(("individual", cfg.dps_enrollments[regid]))
        else:
            candidates += [(f"group:{name}", derive_device_key(key, regid))
                           for name, key in sorted(cfg.dps_groups.items())]
        if not candidates:
            raise BadRequest(404, "DeviceRegistrationNotFound",
                             f"no individual enrollment for {regid!r} and no enrollment group")
        errors = []
        for enrollment, key_text in candidates:
            try:
                verify_sas(self.headers.get("Authorization"), resource=route.resource,
                           now=cfg.now(), keys_by_name={KEY_NAME: [decoded_key(key_text)]},
                           require_key_name=True, iot=True,
                           unknown_name_message=("DPS tokens carry skn=registration, "
                                                 "not skn={skn!r}"))
            except AuthError as e:
                errors.append(e)
                continue
            self._enrollment = enrollment
            return
        # a check past the signature (expiry, audience) says more than "invalid signature"
        raise next((e for e in errors if e.code != "InvalidSignature"), errors[0])

    # -- register -----------------------------------------------------------------------
    def _do_dps_register(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        cfg = self.cfg
        if too_large:
            raise BadRequest(413, "RequestTooLarge", f"the request body ({size} bytes) is too large")
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise BadRequest(400, "BadRequest", f"the body is not JSON: {e}") from None
        if not isinstance(doc, dict):
            raise BadRequest(400, "BadRequest", "the body must be a JSON object")
        if doc.get("registrationId") != route.registration_id:
            raise BadRequest(400, "BadRequest",
                             f"body registrationId {doc.get('registrationId')!r} does not match "
                             f"the path ({route.registration_id!r})")
        model_id = doc.get("modelId")
        if model_id is not None and not isinstance(model_id, str):
            raise BadRequest(400, "BadRequest", "modelId must be a string")
        if self._refused_by_fault():
            return
        now = cfg.now()
        operation_id = f"5.{uuid.uuid4().hex[:16]}.{uuid.uuid4()}"
        outcome = outcome_for(cfg, self._enrollment, route.registration_id)
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO dps_operations(operation_id, id_scope, registration_id, enrollment,"
                " outcome, polls_left, status, payload, model_id, created, updated)"
                " VALUES (?,?,?,?,?,?,'assigning',?,?,?,?)",
                (operation_id, route.entity, route.registration_id, self._enrollment, outcome,
                 cfg.dps_polls, json.dumps(doc.get("payload")), model_id, now, now))
        self.out.line(f"registering {self._describe()} enrollment={self._enrollment} "
                      f"operation={operation_id}")
        self._reply(202, json.dumps({"operationId": operation_id, "status": "assigning"}).encode(),
                    [("Content-Type", "application/json; charset=utf-8"),
                     ("Retry-After", str(cfg.dps_retry_after))])

    # -- poll ---------------------------------------------------------------------------
    def _do_dps_operation(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        cfg = self.cfg
        rows = self.store.query(
            "SELECT enrollment, outcome, status, payload, created FROM dps_operations WHERE"
            " operation_id=? AND registration_id=? AND lower(id_scope)=lower(?)",
            (route.operation_id, route.registration_id, route.entity))
        if not rows:
            raise BadRequest(404, "OperationNotFound",
                             f"no operation {route.operation_id!r} for {route.registration_id!r}")
        if self._refused_by_fault():
            return
        now = cfg.now()
        regid = route.registration_id
        with self.store.transaction() as conn:
            enrollment, outcome, status, payload, created = conn.execute(
                "SELECT enrollment, outcome, status, payload, created FROM dps_operations"
                " WHERE operation_id=?", (route.operation_id,)).fetchone()
            if status == "assigning" and outcome != "never":
                cur = conn.execute("UPDATE dps_operations SET polls_left=polls_left-1, updated=?"
                                   " WHERE operation_id=? AND polls_left>0",
                                   (now, route.operation_id))
                if cur.rowcount == 0:          # no polls left: the outcome is known now
                    status = outcome
                    conn.execute("UPDATE dps_operations SET status=?, updated=? WHERE"
                                 " operation_id=?", (status, now, route.operation_id))
                    if status == "assigned":
                        conn.execute(
                            "INSERT OR REPLACE INTO devices(device_id, key, registration_id,"
                            " enrollment, created) VALUES (?,?,?,?,?)",
                            (regid, device_key_for(cfg, enrollment, regid), regid, enrollment,
                             now))
        doc = {"operationId": route.operation_id, "status": status}
        headers = [("Content-Type", "application/json; charset=utf-8")]
        if status == "assigning":
            headers.append(("Retry-After", str(cfg.dps_retry_after)))
            self.out.line(f"assigning {self._describe()} operation={route.operation_id}")
            self._reply(202, json.dumps(doc).encode(), headers)
            return
        state = {"registrationId": regid, "createdDateTimeUtc": iso_ms(created),
                 "status": status, "lastUpdatedDateTimeUtc": iso_ms(now)}
        if status == "assigned":
            state.update({"assignedHub": cfg.iothub_host, "deviceId": regid,
                          "substatus": "initialAssignment", "etag": f'"{uuid.uuid4().hex}"'})
            sent = json.loads(payload) if payload else None
            if sent is not None:
                state["payload"] = sent          # echoed, as a custom allocation might
        else:
            code, message = FAILED_ERROR if status == "failed" else DISABLED_ERROR
            state.update({"errorCode": code, "errorMessage": message})
        doc["registrationState"] = state
        self.out.line(f"{status} {self._describe()} operation={route.operation_id}"
                      + (f" hub={cfg.iothub_host}" if status == "assigned" else ""))
        self._reply(200, json.dumps(doc).encode(), headers)
