"""The send routes, as before the package split: Event Hubs, Service Bus
queues/topics (``POST /{entity}/messages``, ``/publishers/{p}/messages``,
``/partitions/{id}/messages``) and IoT Hub device-to-cloud
(``POST /devices/{id}[/modules/{mod}]/messages/events``), single events and
batches; plus the token checks for the namespace and the IoT hub, which the
receive routes share."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Optional

from . import revocation, servicebus
from .auth import AuthError, decoded_key, parse_sas_token, verify_sas
from .common import (IOT_BATCH_TYPE, SB_BATCH_TYPE, BadRequest, Route, header_text, media_type,
                     note)
from .config import Config
from .store import EventRow

# Request headers that are framing/transport, not Event Hubs/Service Bus user
# properties.  Anything else (except x-ms-*) becomes a user property.
STANDARD_HEADERS = frozenset(
    h.lower()
    for h in (
        "Host", "Authorization", "Content-Type", "Content-Length", "Connection",
        "BrokerProperties", "User-Agent", "Accept", "Accept-Encoding",
        "Accept-Charset", "Accept-Language", "Transfer-Encoding", "Expect",
        "Keep-Alive", "TE", "Trailer", "Upgrade", "Via", "Date", "Cache-Control",
        "Pragma", "Proxy-Authorization", "Proxy-Connection", "Cookie", "Origin",
        "Referer", "Content-Encoding",
    )
)
IOT_APP_PREFIX = "iothub-app-"
IOT_SYSTEM_HEADERS = frozenset(
    (
        "iothub-messageid", "iothub-correlationid", "iothub-contenttype",
        "iothub-contentencoding", "iothub-to", "iothub-userid", "iothub-expiry",
        "iothub-ack", "iothub-creation-time-utc", "iothub-interface-id",
    )
)

ACTIONS = {"send": {"POST": "_do_send"}}

_header_text = header_text
_media_type = media_type


def route_namespace(cfg: Config, segs: list) -> Optional[Route]:
    """The namespace's send paths."""
    resource = f"https://{cfg.namespace_host}/" + "/".join(segs)
    entity = segs[0]
    kind = cfg.entity_service(entity) or "unknown"
    service = "servicebus" if kind in ("queue", "topic") else "eventhub"
    if len(segs) == 2 and segs[1].lower() == "messages":
        return Route(service, kind, entity, resource)
    if len(segs) == 4 and segs[3].lower() == "messages":
        if segs[1].lower() == "publishers":
            return Route(service, kind, entity, resource, publisher=segs[2])
        if segs[1].lower() == "partitions":
            return Route(service, kind, entity, resource, partition_id=segs[2])
    return None


def route_iothub(cfg: Config, segs: list) -> Optional[Route]:
    """The hub's device-to-cloud paths."""
    hub = cfg.iothub_name
    resource = f"{cfg.iothub_host}/" + "/".join(segs)
    low = [s.lower() for s in segs]
    if len(segs) == 4 and low[0] == "devices" and low[2:] == ["messages", "events"]:
        return Route("iothub", "device", hub, resource, device_id=segs[1])
    if (len(segs) == 6 and low[0] == "devices" and low[2] == "modules"
            and low[4:] == ["messages", "events"]):
        return Route("iothub", "module", hub, resource, device_id=segs[1], module_id=segs[3])
    return None


def device_key(cfg: Config, store, identity: str):
    """A device's SigningKey: from the flags/environment, else one DPS assigned
    (``store.devices``); None if the hub does not know ``identity``."""
    key = cfg.devices.get(identity)
    if key is None and "/" not in identity:
        text = store.device_key(identity)
        if text is not None:
            key = decoded_key(text)
    return key


def authorize_iot(cfg: Config, store, auth: Optional[str], resource: str, identity: str,
                  device_id: str) -> dict:
    """Check an IoT Hub token for ``resource`` (HTTPS and MQTT alike): a device
    or module key (no skn), or a hub policy (skn) for a registered device.
    Returns verify_sas's fields (``se``...); raises AuthError, or BadRequest
    404 DeviceNotFound for a policy token naming an unknown device."""
    fields = parse_sas_token(auth)
    if "skn" in fields:
        checked = verify_sas(
            auth, resource=resource, now=cfg.now(),
            keys_by_name={name: [key] for name, key in cfg.iothub_policies.items()},
            require_key_name=True, iot=True,
            unknown_name_message=("token carries skn={skn!r}, but device and module keys "
                                  "sign without skn (and no such hub policy exists)"),
        )
        if device_key(cfg, store, identity) is None and device_key(cfg, store, device_id) is None:
            raise BadRequest(404, "DeviceNotFound", f"device {identity!r} is not registered")
        return checked
    key = device_key(cfg, store, identity)
    if key is None:
        raise AuthError("UnknownDevice", f"no device identity {identity!r} in this hub")
    return verify_sas(auth, resource=resource, now=cfg.now(), keys_by_name={None: [key]},
                      require_key_name=False, iot=True)


class IngestRoutes:
    """Handler methods for sending, and the namespace/hub token checks."""

    def _do_send(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        cfg = self.cfg
        self._check_entity(route)
        if too_large:
            raise BadRequest(413, "MessageSizeExceeded",
                             f"the request body ({size} bytes) exceeds the limit "
                             f"({cfg.max_size} bytes)")
        rows = self._events(route, body)
        if self._refused_by_fault():
            return
        also = None
        if route.service == "servicebus":       # make it receivable, in the same transaction
            targets = cfg.receive_targets(route.entity)
            also = lambda conn: servicebus.enqueue(conn, targets, rows, cfg.now())  # noqa: E731
        request_id = self.store.store(rows, cfg.now(), also=also)
        self.out.line(
            f"accepted {self._describe()} events={len(rows)} bytes={size} request={request_id}"
        )
        self._reply(204 if route.service == "iothub" else 201)

    # -- authorization ---------------------------------------------------------------
    def _authorize_sb(self, route: Route) -> None:
        cfg: Config = self.server.cfg
        keys = cfg.namespace_keys()
        if not keys:
            raise AuthError("UnknownKeyName",
                            "this endpoint has no Event Hubs/Service Bus key configured "
                            "(--key or AZURE_ENDPOINT_KEY)")
        info = verify_sas(
            self.headers.get("Authorization"),
            resource=route.resource,
            now=cfg.now(),
            keys_by_name=keys,
            require_key_name=True,
            unknown_name_message="no shared access policy named {skn!r} on this namespace",
        )
        if route.action in revocation.MANAGE_ACTIONS and not cfg.has_manage(info["skn"]):
            raise AuthError("Unauthorized",
                            f"'Manage' claim(s) are required for this operation; policy "
                            f"{info['skn']!r} has Send/Listen rights only (Manage: "
                            f"{cfg.manage_policy!r})")
        if (route.action == "send" and route.publisher is not None
                and self.store.publisher_revoked(route.entity, route.publisher)):
            # (short: a device keeps the first 128 bytes of an error body)
            raise AuthError("PublisherRevoked",
                            f"publisher {route.publisher!r} of event hub {route.entity!r} is revoked")

    def _device_key(self, identity: str):
        """A device's SigningKey: from the flags/environment, else one DPS assigned."""
        return device_key(self.cfg, self.store, identity)

    def _authorize_iot(self, route: Route) -> None:
        authorize_iot(self.server.cfg, self.store, self.headers.get("Authorization"),
                      route.resource, route.identity, route.device_id)

    def _check_entity(self, route: Route) -> None:
        cfg: Config = self.server.cfg
        if route.service == "iothub":
            return
        kind = route.kind
        if kind == "unknown":
            raise BadRequest(404, "MessagingEntityNotFound",
                             f"entity {route.entity!r} does not exist in this namespace")
        if kind != "eventhub":
            if route.publisher is not None or route.partition_id is not None:
                raise BadRequest(404, "NotFound",
                                 "publishers/partitions exist only on event hubs, not on a "
                                 f"{kind}")
        if route.partition_id is not None:
            pid = route.partition_id
            if not (pid.isascii() and pid.isdigit() and int(pid) < cfg.partitions):
                raise BadRequest(400, "BadRequest",
                                 f"partition id {pid!r} is not in 0..{cfg.partitions - 1}")

    # -- payload parsing ---------------------------------------------------------------
    def _events(self, route: Route, body: bytes) -> list:
        media, has_params = _media_type(self.headers.get("Content-Type"))
        if route.service == "iothub":
            if media == IOT_BATCH_TYPE:
                return self._iot_batch(route, body)
            return [self._iot_single(route, body)]
        if media == SB_BATCH_TYPE:
            if has_params:
                note(f"warning: batch Content-Type with parameters "
                     f"({self.headers.get('Content-Type')!r}); Azure documents it without")
            return self._sb_batch(route, body)
        return [self._sb_single(route, body)]

    def _sb_single(self, route: Route, body: bytes) -> EventRow:
        props = {}
        for name, value in self.headers.items():
            low = name.lower()
            if low in STANDARD_HEADERS or low.startswith("x-ms-"):
                continue
            props[name] = _header_text(value)
        broker = {}
        raw = self.headers.get("BrokerProperties")
        if raw is not None:
            try:
                broker = json.loads(_header_text(raw))
            except json.JSONDecodeError as e:
                raise BadRequest(400, "BadRequest", f"BrokerProperties is not valid JSON: {e}")
            if not isinstance(broker, dict):
                raise BadRequest(400, "BadRequest", "BrokerProperties must be a JSON object")
        ctype = self.headers.get("Content-Type")
        if ctype is not None and "ContentType" not in broker:
            broker["ContentType"] = ctype
        return EventRow(route.service, route.entity, route.publisher, route.partition_id,
                        self._partition_key(broker, "BrokerProperties"), None, body, props, broker)

    @staticmethod
    def _partition_key(broker: dict, where: str) -> Optional[str]:
        pk = broker.get("PartitionKey")
        if pk is not None and not isinstance(pk, str):
            raise BadRequest(400, "BadRequest", f"{where}.PartitionKey must be a string")
        return pk

    @staticmethod
    def _json_array(body: bytes, what: str) -> list:
        try:
            items = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadRequest(400, "BadRequest", f"{what} batch is not UTF-8") from None
        except json.JSONDecodeError as e:
            raise BadRequest(400, "BadRequest", f"{what} batch is not valid JSON: {e}") from None
        if not isinstance(items, list):
            raise BadRequest(400, "BadRequest", f"{what} batch must be a JSON array")
        if not items:
            raise BadRequest(400, "BadRequest", f"{what} batch is empty")
        return items

    def _sb_batch(self, route: Route, body: bytes) -> list:
        rows = []
        for i, item in enumerate(self._json_array(body, "Service Bus")):
            if not isinstance(item, dict):
                raise BadRequest(400, "BadRequest", f"batch element {i} is not a JSON object")
            text = item.get("Body")
            if not isinstance(text, str):
                raise BadRequest(400, "BadRequest", f"batch element {i}: Body must be a JSON string")
            props = item.get("UserProperties", {})
            broker = item.get("BrokerProperties", {})
            if props is None:
                props = {}
            if broker is None:
                broker = {}
            if not isinstance(props, dict) or not isinstance(broker, dict):
                raise BadRequest(400, "BadRequest",
                                 f"batch element {i}: UserProperties/BrokerProperties must be objects")
            rows.append(EventRow(route.service, route.entity, route.publisher, route.partition_id,
                                 self._partition_key(broker, f"element {i} BrokerProperties"),
                                 None, text.encode("utf-8"), props, broker))
        return rows

    def _iot_system(self, route: Route, system: dict) -> dict:
        system["iothub-connection-device-id"] = route.device_id
        if route.module_id:
            system["iothub-connection-module-id"] = route.module_id
        return system

    def _iot_single(self, route: Route, body: bytes) -> EventRow:
        props, system = {}, {}
        for name, value in self.headers.items():
            low = name.lower()
            if low.startswith(IOT_APP_PREFIX):
                props[name[len(IOT_APP_PREFIX):]] = _header_text(value)
            elif low in IOT_SYSTEM_HEADERS:
                system[low] = _header_text(value)
        return EventRow("iothub", route.entity, None, None, None, route.device_id, body, props,
                        self._iot_system(route, system))

    def _iot_batch(self, route: Route, body: bytes) -> list:
        rows = []
        for i, item in enumerate(self._json_array(body, "IoT Hub")):
            if not isinstance(item, dict) or not isinstance(item.get("body"), str):
                raise BadRequest(400, "BadRequest",
                                 f"batch element {i} must be an object with a base64 'body' string")
            try:
                payload = base64.b64decode(item["body"], validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest(400, "BadRequest", f"batch element {i}: body is not valid base64") from None
            raw_props = item.get("properties") or {}
            if not isinstance(raw_props, dict):
                raise BadRequest(400, "BadRequest", f"batch element {i}: properties must be an object")
            props, system = {}, {}
            for name, value in raw_props.items():
                low = str(name).lower()
                if low.startswith(IOT_APP_PREFIX):
                    props[name[len(IOT_APP_PREFIX):]] = value
                elif low.startswith("iothub-"):
                    system[low] = value
                else:
                    props[name] = value
            rows.append(EventRow("iothub", route.entity, None, None, None, route.device_id,
                                 payload, props, self._iot_system(route, system)))
        return rows
