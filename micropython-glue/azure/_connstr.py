"""Connection strings as copied from the Azure portal, parsed once per
client: `Name=value` pairs split at `;`, each at its first `=` (base64 keys
end in `=`). The credential is a key (`SharedAccessKeyName=`/
`SharedAccessKey=`: the device signs its own tokens) or a token made
elsewhere (`SharedAccessSignature=`, as the Azure SDKs take it: sent as
given, never re-encoded). The one implementation, for every board: it runs once, so the
package imports it only while parsing and drops it afterwards (its code
would otherwise sit in a small board's heap for nothing). Host names are
checked by the native request framer's own rule. The clients' options are
checked here too, once, when a client is made (`options`)."""

from _azure import backoff_ms, frame_head

from . import _transient

_E = "connection string: "
_NAMES = {n.lower(): n for n in ("Endpoint", "HostName", "DeviceId", "ModuleId", "EntityPath",
                                  "SharedAccessKeyName", "SharedAccessKey", "SharedAccessSignature")}


def _check_host(host):
    # ValueError "invalid host name: ..." unless the framer would take it.
    frame_head("GET", "/", host, None)


def _endpoint_host(e):
    # sb://<namespace>/ -> <namespace>
    return e[5:-1] if e.endswith("/") else e[5:]


def _pairs(s):
    # Name=value pairs (names case-insensitive, as the Azure SDKs read them).
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
        name = _NAMES.get(seg[:i].lower(), seg[:i])
        if name in d:
            raise ValueError(_E + "a Name= appears twice")
        d[name] = seg[i + 1:]
    if not d:
        raise ValueError("connection string is empty")
    return d


def _credential(d):
    # A key (name and key; an IoT Hub device key without name) or a token.
    sas = d.get("SharedAccessSignature")
    if sas is not None:
        if "SharedAccessKey" in d:
            raise ValueError(_E + "give SharedAccessKey= or SharedAccessSignature=, not both")
        _transient("_token", "token_info", sas)  # ValueError unless it is a token
        return
    if "Endpoint" in d and not d.get("SharedAccessKeyName"):
        raise ValueError(_E + "SharedAccessKeyName= is missing (or give SharedAccessSignature=)")
    if "HostName" in d and not d.get("DeviceId") and not d.get("SharedAccessKeyName"):
        raise ValueError(_E + "DeviceId= (or SharedAccessKeyName=) is missing")
    if not d.get("SharedAccessKey"):
        raise ValueError(_E + "SharedAccessKey= is missing (or give SharedAccessSignature=)")


def parse_connection_string(s, need_credential=True):
    d = _pairs(s)
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
    if need_credential:
        _credential(d)
    return d


def client_args(kind, conn_str, kw):
    """The client's positional arguments for a connection string: kind 0
    Event Hubs, 1 Service Bus, 2 IoT Hub. Takes the kind's own keywords out
    of kw (the rest are the client's options). A token, from the string's
    SharedAccessSignature= or the token= keyword (which wins), goes to the
    client as kw["token"]; the key is then neither needed nor kept."""
    token = kw.get("token")
    cs = parse_connection_string(conn_str, False)
    sas = cs.get("SharedAccessSignature")
    # The credential checked: the key's parts, a token beside a key, a token
    # that token= overrides. A token used is checked by scope() below (one
    # load of azure/_token.py, not two).
    if token is None and sas is None or sas is not None and (token is not None or "SharedAccessKey" in cs):
        _credential(cs)
    if token is None:
        token = sas
    if token is not None:
        kw["token"] = token
        key = None, None
        # What the token is for: (publisher, device, module) (azure/_token.py).
        scope = _transient("_token", "scope", token)
    if kind == 2:
        if "HostName" not in cs:
            raise ValueError("not an IoT Hub connection string (no HostName=)")
        host = cs["HostName"]
        device_id = kw.pop("device_id", None)
        device = cs.get("DeviceId") or device_id
        module = cs.get("ModuleId")
        if not device and token is not None:
            # A device token names its device (and module).
            device, module = scope[1], module or scope[2]
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
            scoped = scope[0]
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


def split_endpoint(endpoint, default_host, default_port=443):
    if endpoint is None:
        return default_host, default_port
    if not isinstance(endpoint, str):
        raise TypeError("endpoint must be a str 'host:port'")
    # No str.rpartition: the WiPy's firmware (core features) lacks it.
    i = endpoint.rfind(":")
    host, port = (endpoint, default_port) if i < 0 else (endpoint[:i], endpoint[i + 1:])
    try:
        port = int(port)
    except ValueError:
        port = 0
    # Refused here, not retried as a connection failure on every send.
    if not host or not 0 < port < 65536:
        raise ValueError("endpoint must be 'host:port'")
    return host, port


def options(endpoint, host, max_size, token_ttl, max_retries, receive_max, base_ms, cap_ms, port=443,
            timeout=None):
    """The clients' options checked (HTTPS and MQTT; types here, max_size's
    range by the native framer when an HTTPS client checks its request);
    returns where to connect, (host, port): `port` when the endpoint names
    none (8883 for MQTT)."""
    for v in (max_size, token_ttl, max_retries):
        if not isinstance(v, int):
            raise TypeError("max_size, token_ttl and max_retries must be ints")
    if timeout is not None and (not isinstance(timeout, int) or timeout < 1):
        raise ValueError("timeout must be a whole number of seconds, at least 1")
    if token_ttl < 1:
        raise ValueError("token_ttl must be a positive number of seconds")
    if max_retries < 0:
        raise ValueError("max_retries must not be negative")
    backoff_ms(0, 0, None, base_ms, cap_ms)  # types and range
    if not isinstance(receive_max, int) or not 0 < receive_max <= 1048576:
        raise ValueError("receive_max must be an int in 1..1048576")
    return split_endpoint(endpoint, host, port)


def make(cls, kind, conn_str, kw):
    # The client made while this module is loaded: its options check
    # (options(), from the client's __init__) needs no second load, and the
    # module's code is freed once, after the client is made.
    return cls(*client_args(kind, conn_str, kw), **kw)
