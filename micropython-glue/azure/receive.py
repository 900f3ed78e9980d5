"""Receiving: IoT Hub cloud-to-device and Service Bus peek-lock over HTTPS
(docs: README "Cloud-to-device" and "Service Bus receive"). Imported by the
clients' receive/complete/... methods on first use: a device that only
sends never holds this code.

Every request goes through the client's one request core (`_request`: the
native head framer, the token, the connection, the retry policy), and each
operation here is a generator over it that the client's driver runs
(`c._run`: blocking, or a coroutine in azure.aio); the
answer is read by a Response that keeps only the headers named here and at
most `client.receive_max` body bytes (a longer body raises, never cut).
"""

import json

from .client import SendError
from .response import Response


class LockLostError(SendError):
    """complete/reject/abandon refused because the message's lock expired,
    was settled already or is unknown (IoT Hub 412 or 404, Service Bus
    404). Settle it no more: it comes back with its delivery count raised
    (or, when `retried` is True, an earlier attempt whose answer was lost
    may have settled it)."""

    retried = False


class Message:
    """A received message (IoT Hub cloud-to-device or Service Bus): `body`
    (bytes), `properties` (dict, names lowercase), `message_id`,
    `correlation_id`, `lock_token`, `content_type`, `delivery_count`,
    `sequence_number`, `location` (Service Bus: the path it settles on)."""

    body = b""
    properties = None
    message_id = correlation_id = lock_token = content_type = None
    delivery_count = sequence_number = location = None

    def __repr__(self):
        return "<Message %s, %d bytes>" % (self.message_id, len(self.body))


_IOT_QUERY = "api-version=2021-04-12"
_SB_QUERY = "api-version=2014-01"
_IOT_KEEP = (b"etag", b"iothub-", b"contenttype", b"contentencoding")
_SB_KEEP = (b"brokerproperties", b"location", b"content-type")
# Service Bus sends each custom property as a header of its own; these are
# not properties (the framing ones never reach the kept headers). The reader
# keeps at most response.MAX_KEPT headers per message.
_SB_NOT_PROPS = (b"content-length", b"transfer-encoding", b"connection", b"retry-after", b"date",
                 b"server", b"strict-transport-security") + _SB_KEEP


def _receive(c, method, path, query, every):
    # One receive request through the client's request core: None when
    # nothing is waiting (204), else (a Message with its body, the kept
    # headers, the status). `every`: Service Bus, whose custom properties
    # are headers of any name. The reader is allocated once per client (its
    # body buffer is receive_max bytes) and reused: repeated receives leave
    # nothing behind to fragment the heap.
    r = getattr(c, "_rx", None)
    if r is None or r.body_cap != c.receive_max:
        c._rx = r = Response(_SB_KEEP if every else _IOT_KEEP, c.receive_max,
                             keep_all_but=_SB_NOT_PROPS if every else None)
    status = yield from c._request(method, path, b"", query=query, resp=r)
    if status == 204:
        return None
    if r.body_cut:
        raise ValueError("message body longer than receive_max=%d bytes: pass receive_max= to the "
                         "client (up to 1048576); the message stays locked and comes back"
                         % c.receive_max)
    m = Message()
    m.body = bytes(r.body)
    return m, r.headers, status


def _bad(status, what):
    return SendError(status, "malformed answer: " + what)


def _printable(s):
    # A lock token or path goes back into a request line: printable ASCII,
    # no spaces, no quotes (the framer would refuse or encode anything else).
    for ch in s:
        if not 33 <= ord(ch) <= 126 or ch == '"':
            return False
    return len(s) > 0


def _int(v):
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.isdigit():
        return int(v)
    return None


def loads(b):
    """json.loads, also on a port without floats (the WiPy), where numbers
    with a fraction or an exponent are read as their integer part."""
    try:
        return json.loads(b)
    except ValueError:
        pass
    if isinstance(b, str):
        b = b.encode()
    out = bytearray()
    quoted = esc = skip = False
    prev = 0
    for ch in b:
        if quoted:
            if esc:
                esc = False
            elif ch == 92:  # backslash
                esc = True
            elif ch == 34:
                quoted = False
        elif skip:
            if 48 <= ch <= 57 or ch in b"eE+-":
                continue
            skip = False
        elif ch == 34:
            quoted = True
        elif (ch == 46 or ch == 101 or ch == 69) and 48 <= prev <= 57:  # . e E after a digit
            skip = True
            prev = ch
            continue
        out.append(ch)
        prev = ch
    return json.loads(bytes(out))  # ValueError if it is not JSON at all


def _settled(c, method, path, query, lost):
    # The status of the 2xx answer, or LockLostError for the lock-lost statuses.
    st = c.stats
    n0 = st["requests"] + st["connects"] + (c._sock is None)
    try:
        return (yield from c._request(method, path, b"", query=query))
    except SendError as e:
        if e.status not in lost:
            raise
        # Sent more than once (a connection or an answer lost on the way):
        # an earlier attempt may have settled the message.
        retried = st["requests"] + st["connects"] - n0 > 1
        e = LockLostError(e.status, "lock lost (%s): %s" % (
            "an earlier attempt whose answer was lost may have settled it" if retried
            else "expired, already settled or unknown", e.text))
        e.retried = retried
        raise e


# -- IoT Hub cloud-to-device ------------------------------------------------------------


def _iot_path(c):
    if len(c._path) != 4:
        raise ValueError("cloud-to-device messages go to devices, not modules")
    return ("devices", c._path[1], "messages", "deviceBound")


def iot_receive(c):
    return c._run(_iot_receive(c, _iot_path(c)))


def _iot_receive(c, path):
    got = yield from _receive(c, "GET", path, _IOT_QUERY, False)
    if got is None:
        return None
    m, h, status = got
    etag = h.get("etag")
    if etag is None:
        raise _bad(status, "a message without an ETag (its lock token)")
    if len(etag) > 1 and etag[0] == '"' and etag[-1] == '"':
        etag = etag[1:-1]
    if not _printable(etag):
        raise _bad(status, "ETag %r cannot be a lock token" % etag)
    m.lock_token = etag
    m.message_id = h.get("iothub-messageid")
    m.correlation_id = h.get("iothub-correlationid")
    m.content_type = h.get("contenttype")
    m.delivery_count = _int(h.get("iothub-deliverycount"))
    m.sequence_number = _int(h.get("iothub-sequencenumber"))
    props = {}
    for k in h:
        if k.startswith("iothub-app-"):
            props[k[11:]] = h[k]
    m.properties = props
    return m


def iot_settle(c, msg, how):
    # how: 0 complete, 1 reject (dead-letter), 2 abandon
    if not isinstance(msg, Message) or msg.lock_token is None or msg.location is not None:
        raise ValueError("not a cloud-to-device message received by IoTHubClient.receive()")
    path = _iot_path(c) + (msg.lock_token,)
    if how == 2:
        return c._run(_settled(c, "POST", path + ("abandon",), _IOT_QUERY, (404, 412)))
    return c._run(_settled(c, "DELETE", path, _IOT_QUERY + "&reject" if how else _IOT_QUERY, (404, 412)))


# -- Service Bus ------------------------------------------------------------------------


def _value(v):
    # Custom property values come JSON-encoded: "text" quoted, numbers and
    # booleans bare. Strings unquoted; integers as int; true/false as bool;
    # anything else (2.5, null) as its text.
    if len(v) > 1 and v[0] == '"' and v[-1] == '"':
        try:
            s = json.loads(v)
            if isinstance(s, str):
                return s
        except ValueError:
            pass
        return v
    if v == "true" or v == "false":
        return v == "true"
    n = v[1:] if v[:1] == "-" else v
    if n.isdigit() and len(n) < 19:
        return int(v)
    return v


def _sb_entity(c):
    if c.subscription_name:
        return (c._path[0], "subscriptions", c.subscription_name, "messages", "head")
    return (c._path[0], "messages", "head")


def sb_receive(c, timeout, delete):
    if not isinstance(timeout, int) or not 0 <= timeout < c._timeout:
        raise ValueError("timeout must be an int from 0 to less than the client's timeout (%d s)"
                         % c._timeout)
    return c._run(_sb_receive(c, timeout, delete))


def _sb_receive(c, timeout, delete):
    got = yield from _receive(c, "DELETE" if delete else "POST", _sb_entity(c),
                              "timeout=%d&%s" % (timeout, _SB_QUERY), True)
    if got is None:
        return None
    m, h, status = got
    bp = h.get("brokerproperties")
    if bp is None:
        raise _bad(status, "a message without BrokerProperties")
    try:
        b = loads(bp)
    except ValueError:
        b = None
    if not isinstance(b, dict):
        raise _bad(status, "BrokerProperties is not a JSON object: %s" % bp[:64])
    m.message_id = b.get("MessageId")
    m.correlation_id = b.get("CorrelationId")
    m.sequence_number = _int(b.get("SequenceNumber"))
    m.delivery_count = _int(b.get("DeliveryCount"))
    m.content_type = h.get("content-type")
    if not delete:
        lock = b.get("LockToken")
        if not isinstance(lock, str) or not _printable(lock):
            raise _bad(status, "a peek-locked message without a valid LockToken")
        m.lock_token = lock
        loc = h.get("location")
        if loc is not None:
            i = loc.find("://")
            if i >= 0:
                j = loc.find("/", i + 3)
                loc = loc[j:] if j > 0 else ""
            if not loc.startswith("/") or not _printable(loc):
                raise _bad(status, "Location %r is not a message path" % loc[:64])
            m.location = loc
        elif m.sequence_number is not None:
            m.location = _sb_entity(c)[:-1] + (str(m.sequence_number), lock)
        else:
            raise _bad(status, "a peek-locked message without Location or SequenceNumber")
    props = {}
    for k in h:
        if k not in ("brokerproperties", "location", "content-type"):
            props[k] = _value(h[k])
    m.properties = props
    return m


def sb_settle(c, msg, method):
    if not isinstance(msg, Message) or msg.location is None:
        raise ValueError("not a peek-locked message received by ServiceBusClient.receive()"
                         " (delete=True messages are settled already)")
    return c._run(_settled(c, method, msg.location, _SB_QUERY, (404,)))
