"""Event Hubs publisher revocation, as the REST API documents it
(api-version 2014-01; learn.microsoft.com/rest/api/eventhub/revoke-publisher,
resume-publisher, get-revoked-publishers):

* ``PUT    /{hub}/revokedpublishers/{publisher}`` revokes   -> 201 (an Atom
  entry with the RevokedPublisherDescription); 409 if already revoked
* ``DELETE /{hub}/revokedpublishers/{publisher}`` restores  -> 200, empty;
  404 if it is not revoked
* ``GET    /{hub}/revokedpublishers``             lists     -> 200, an Atom feed

These are management calls: the token must be signed by a policy with
Manage rights (``--manage-policy``, RootManageSharedAccessKey by default);
a Send policy's token gets 401, as on Azure.  A revoked publisher's sends
(``POST /{hub}/publishers/{publisher}/messages``, single or batch) get 401
``PublisherRevoked``; every other publisher goes on.  The list lives in the
database (table ``revoked_publishers``), so the ``revoke-publisher`` /
``restore-publisher`` / ``revoked-publishers`` subcommands work on the file
a running server uses."""

from __future__ import annotations

import datetime as _dt
import xml.etree.ElementTree as ET
from typing import Optional
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr as _quoteattr

from .common import BadRequest, Route
from .config import Config

ACTIONS = {
    "revoked-publisher": {"PUT": "_do_revoke_publisher", "DELETE": "_do_restore_publisher"},
    "revoked-publishers": {"GET": "_do_list_revoked_publishers"},
}
# Actions that need a token with Manage rights.
MANAGE_ACTIONS = frozenset(ACTIONS)

ATOM = "http://www.w3.org/2005/Atom"
SB_NS = "http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"
ENTRY_TYPE = "application/atom+xml;type=entry;charset=utf-8"
FEED_TYPE = "application/atom+xml;type=feed;charset=utf-8"


def route(cfg: Config, segs: list) -> Optional[Route]:
    """``/{hub}/revokedpublishers`` and ``/{hub}/revokedpublishers/{publisher}``
    (the segment name in any case, as Azure's examples write RevokedPublishers)."""
    if len(segs) not in (2, 3) or segs[1].lower() != "revokedpublishers":
        return None
    resource = f"https://{cfg.namespace_host}/" + "/".join(segs)
    kind = cfg.entity_service(segs[0]) or "unknown"
    if len(segs) == 2:
        return Route("eventhub", kind, segs[0], resource, action="revoked-publishers")
    return Route("eventhub", kind, segs[0], resource, action="revoked-publisher",
                 publisher=segs[2])


def _stamp(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _description(name: str) -> str:
    return (f'<content type="application/xml"><RevokedPublisherDescription xmlns="{SB_NS}" '
            f'xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Name>{_xml_escape(name)}</Name>'
            f"</RevokedPublisherDescription></content>")


def _entry(base: str, name: str, ts: float, root: bool) -> str:
    ns = f' xmlns="{ATOM}"' if root else ""
    href = f"{base}/{name}"
    return (f"<entry{ns}><id>{_xml_escape(href)}</id><title type=\"text\">{_xml_escape(name)}</title>"
            f"<updated>{_stamp(ts)}</updated><link rel=\"self\" href={_quoteattr(href)}/>"
            f"{_description(name)}</entry>")


def entry_xml(base: str, name: str, ts: float) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?>' + _entry(base, name, ts, True)).encode("utf-8")


def feed_xml(base: str, rows: list, now: float) -> bytes:
    """rows: [(name, revoked_at)]."""
    entries = "".join(_entry(base, name, ts, False) for name, ts in rows)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="{ATOM}">'
            f'<title type="text">RevokedPublishers</title><id>{_xml_escape(base)}</id>'
            f"<updated>{_stamp(now)}</updated><link rel=\"self\" href={_quoteattr(base)}/>"
            f"{entries}</feed>").encode("utf-8")


def body_name(body: bytes) -> Optional[str]:
    """The <Name> of a PUT's RevokedPublisherDescription entry (None: empty
    body, or no Name).  BadRequest if the body is not such XML."""
    if not body.strip():
        return None
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise BadRequest(400, "BadRequest", "the request body must not carry a DTD")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise BadRequest(400, "BadRequest", f"the request body is not XML: {e}") from None
    desc = root if root.tag == f"{{{SB_NS}}}RevokedPublisherDescription" else root.find(
        f"{{{ATOM}}}content/{{{SB_NS}}}RevokedPublisherDescription")
    if desc is None:
        raise BadRequest(400, "BadRequest",
                         "the request body must be an Atom entry with a RevokedPublisherDescription")
    name = desc.find(f"{{{SB_NS}}}Name")
    return None if name is None or name.text is None else name.text.strip()


class RevocationRoutes:
    """Handler methods for the revokedpublishers routes."""

    def _revocation_target(self, route: Route) -> str:
        if route.kind != "eventhub":
            raise BadRequest(404, "MessagingEntityNotFound",
                             f"no event hub named {route.entity!r} in this namespace "
                             "(publishers are revoked on event hubs only)")
        return f"https://{self.cfg.namespace_host}/{route.entity.lower()}/revokedpublishers"

    def _do_revoke_publisher(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        base = self._revocation_target(route)
        if too_large:
            raise BadRequest(413, "MessageSizeExceeded", "the request body is too large")
        named = body_name(body)
        if named is not None and named != route.publisher:
            raise BadRequest(400, "BadRequest",
                             f"the body names publisher {named!r}, the URI {route.publisher!r}")
        now = self.cfg.now()
        if not self.store.revoke_publisher(route.entity, route.publisher, now):
            raise BadRequest(409, "Conflict",
                             f"publisher {route.publisher!r} of event hub {route.entity!r} is "
                             "already revoked")
        self.out.line(f"revoked publisher hub={route.entity.lower()} publisher={route.publisher}")
        self._reply(201, entry_xml(base, route.publisher, now), [("Content-Type", ENTRY_TYPE)])

    def _do_restore_publisher(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        self._revocation_target(route)
        if not self.store.restore_publisher(route.entity, route.publisher):
            raise BadRequest(404, "NotFound",
                             f"publisher {route.publisher!r} of event hub {route.entity!r} is not "
                             "revoked")
        self.out.line(f"restored publisher hub={route.entity.lower()} publisher={route.publisher}")
        self._reply(200, b"")

    def _do_list_revoked_publishers(self, route: Route, body: bytes, size: int,
                                    too_large: bool) -> None:
        base = self._revocation_target(route)
        rows = [(name, ts) for _hub, name, ts in self.store.revoked_publishers(route.entity)]
        self._reply(200, feed_xml(base, rows, self.cfg.now()), [("Content-Type", FEED_TYPE)])
