"""Connection strings as copied from the Azure portal, parsed once per
client: `Name=value` pairs split at `;`, each at its first `=` (base64 keys
end in `=`). The credential is a key (`SharedAccessKeyName=`/
`SharedAccessKey=`: the device signs its own tokens) or a token made
elsewhere (`SharedAccessSignature=`, as the Azure SDKs take it: sent as
given, never re-encoded). The one implementation, for every board: it runs once, so the
package imports it only while parsing and drops it afterwards (its code
would otherwise sit in a small board's heap for nothing). Host names are
checked by the native request framer's own rule."""

from _azure import frame_head

_E = "connection string: "
_HEX = b"0123456789abcdefABCDEF"
_NAMES = ("Endpoint", "HostName", "DeviceId", "ModuleId", "EntityPath", "SharedAccessKeyName",
          "SharedAccessKey", "SharedAccessSignature")


def _check_host(host):
    # ValueError "invalid host name: ..." unless the framer would take it.
    frame_head("GET", "/", host, None)


def _endpoint_host(e):
    # sb://<namespace>/ -> <namespace>
    return e[5:-1] if e.endswith("/") else e[5:]


def parse_connection_string(s, need_credential=True):
    if not isinstance(s, str):
        raise TypeError("s must be str")
    if len(s.encode()) > 4096:
        raise ValueError("connection string too long: the limit is 4096 bytes")
    d = {}
    for seg in s.split(";"):
        if not seg.strip():
            continue
        i = seg.find("=")
        if i <= 0:
            raise ValueError(_E + "every part must be Name=value")
        name = seg[:i]
        for n in _NAMES:  # names are case-insensitive, as the Azure SDKs read them
            if n.lower() == name.lower():
                name = n
        if name in d:
            raise ValueError(_E + "a Name= appears twice")
        d[name] = seg[i + 1:]
    if not d:
        raise ValueError("connection string is empty")
    if "Endpoint" in d:
        e = d["Endpoint"]
        try:
            if not e.startswith("sb://"):
                raise ValueError
            _check_host(_endpoint_host(e))
        except ValueError:
            raise ValueError(_E + "Endpoint must look like sb://<namespace>.servicebus.windows.net/")
    elif "HostName" in d:
        _check_host(d["HostName"])
    else:
        raise ValueError(_E + "Endpoint= or HostName= is missing")
    sas = d.get("SharedAccessSignature")
    if sas is not None:
        if "SharedAccessKey" in d:
            raise ValueError(_E + "give SharedAccessKey= or SharedAccessSignature=, not both")
        token_info(sas)  # ValueError unless it is a token
    elif need_credential:
        if "Endpoint" in d and not d.get("SharedAccessKeyName"):
            raise ValueError(_E + "SharedAccessKeyName= is missing (or give SharedAccessSignature=)")
        if "HostName" in d and not d.get("DeviceId") and not d.get("SharedAccessKeyName"):
            raise ValueError(_E + "DeviceId= (or SharedAccessKeyName=) is missing")
        if not d.get("SharedAccessKey"):
            raise ValueError(_E + "SharedAccessKey= is missing (or give SharedAccessSignature=)")
    return d


def _unquote(s):
    # %XX in either case (token generators write %2f as often as %2F).
    b = s.encode()
    if b"%" not in b:
        return s
    out = bytearray()
    i = 0
    while i < len(b):
        h = b[i + 1:i + 3]
        if b[i] == 37 and len(h) == 2 and h[0] in _HEX and h[1] in _HEX:
            out.append(int(h, 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    try:
        return str(out, "utf-8")
    except (UnicodeError, ValueError):
        raise ValueError("SAS token: sr= is not percent-encoded UTF-8")


def token_info(token):
    """(expiry, decoded sr) of `SharedAccessSignature sr=..&sig=..&se=..[&skn=..]`;
    ValueError if it is not one. The expiry is read by the client's own
    check (azure.client._expiry), which also takes the token's type and bytes."""
    from .client import _expiry

    se = _expiry(token)
    sr = None
    for f in token[22:].split("&"):
        if f.startswith("sr="):
            sr = f[3:]
    if not sr or "sig=" not in token:
        raise ValueError("SAS token must have sr=, sig= and se=")
    return se, _unquote(sr)


def _segments(sr):
    # The decoded resource URI's path names, lower-case, without the scheme:
    # "https://NS/Hub/publishers/p/messages" -> ["ns", "hub", "publishers", "p", "messages"]
    i = sr.find("://")
    return [x for x in sr[i + 3 if i >= 0 else 0:].split("/") if x]


def token_publisher(token):
    """The Event Hubs publisher a token is scoped to (.../publishers/<name>), or None."""
    seg = _segments(token_info(token)[1])
    if len(seg) > 3 and seg[2].lower() == "publishers":
        return seg[3]
    return None


def client_args(kind, conn_str, kw):
    """The client's positional arguments for a connection string: kind 0
    Event Hubs, 1 Service Bus, 2 IoT Hub. Takes the kind's own keywords out
    of kw (the rest are the client's options). A token, from the string's
    SharedAccessSignature= or the token= keyword (which wins), goes to the
    client as kw["token"]; the key is then neither needed nor kept."""
    token = kw.get("token")
    cs = parse_connection_string(conn_str, token is None)
    if token is None:
        token = cs.get("SharedAccessSignature")
    if token is not None:
        kw["token"] = token
        key = None, None
    if kind == 2:
        if "HostName" not in cs:
            raise ValueError("not an IoT Hub connection string (no HostName=)")
        host = cs["HostName"]
        device_id = kw.pop("device_id", None)
        device = cs.get("DeviceId") or device_id
        module = cs.get("ModuleId")
        if not device and token is not None:
            # A device token names its device: {hub}/devices/{id}[/modules/{m}]
            seg = _segments(token_info(token)[1])
            if len(seg) > 2 and seg[1] == "devices":
                device = seg[2]
                if len(seg) > 4 and seg[3] == "modules":
                    module = module or seg[4]
        if not device:
            raise ValueError("connection string has no DeviceId: pass device_id=")
        audience = "%s/devices/%s" % (host, device)
        path = ("devices", device, "messages", "events")
        if module:
            audience += "/modules/" + module
            path = ("devices", device, "modules", module, "messages", "events")
        # A hub-level policy key (SharedAccessKeyName=) signs with skn; a device key without.
        kw["iot"] = True
        if token is None:
            key = cs["SharedAccessKey"], cs.get("SharedAccessKeyName")
        return (host, path, audience) + key + (True,)
    name = "an Event Hubs" if kind == 0 else "a Service Bus"
    if "Endpoint" not in cs:
        raise ValueError("not %s connection string (no Endpoint=)" % name)
    host = _endpoint_host(cs["Endpoint"])
    if token is None:
        key = cs["SharedAccessKey"], cs["SharedAccessKeyName"]
    if kind == 0:
        hub = kw.pop("event_hub", None) or cs.get("EntityPath")
        publisher, partition_id = kw.pop("publisher", None), kw.pop("partition_id", None)
        if not hub:
            raise ValueError("connection string has no EntityPath: pass event_hub=")
        audience = "https://%s/%s" % (host, hub)
        if token is not None:
            # A publisher token implies its publisher; another one could only be refused.
            scoped = token_publisher(token)
            if scoped is not None:
                if publisher is not None and publisher != scoped:
                    raise ValueError("publisher=%r contradicts the token, which is for publisher %r"
                                     % (publisher, scoped))
                if partition_id is not None:
                    raise ValueError("the token is for publisher %r: it cannot send to a partition" % scoped)
                publisher = scoped
        if publisher is not None and partition_id is not None:
            raise ValueError("pass publisher or partition_id, not both")
        if publisher is not None:
            # The token is signed for this publisher only.
            audience += "/publishers/" + publisher
            path = (hub, "publishers", publisher, "messages")
        elif partition_id is not None:
            path = (hub, "partitions", partition_id, "messages")
        else:
            path = (hub, "messages")
    else:
        queue, topic = kw.pop("queue_name", None), kw.pop("topic_name", None)
        entity = queue or topic or cs.get("EntityPath")
        if not entity:
            raise ValueError("connection string has no EntityPath: pass queue_name= or topic_name=")
        audience, path = "https://%s/%s" % (host, entity), (entity, "messages")
    return (host, path, audience) + key + (False,)
