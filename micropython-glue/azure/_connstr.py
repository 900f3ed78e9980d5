"""Connection strings as copied from the Azure portal, parsed once per
client: `Name=value` pairs split at `;`, each at its first `=` (base64 keys
end in `=`). The one implementation, for every board: it runs once, so the
package imports it only while parsing and drops it afterwards (its code
would otherwise sit in a small board's heap for nothing). Host names are
checked by the native request framer's own rule."""

from _azure import frame_head

_E = "connection string: "


def _check_host(host):
    # ValueError "invalid host name: ..." unless the framer would take it.
    frame_head("GET", "/", host, None)


def _endpoint_host(e):
    # sb://<namespace>/ -> <namespace>
    return e[5:-1] if e.endswith("/") else e[5:]


def parse_connection_string(s):
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
        if not d.get("SharedAccessKeyName"):
            raise ValueError(_E + "SharedAccessKeyName= is missing")
    elif "HostName" in d:
        _check_host(d["HostName"])
        if not d.get("DeviceId") and not d.get("SharedAccessKeyName"):
            raise ValueError(_E + "DeviceId= (or SharedAccessKeyName=) is missing")
    else:
        raise ValueError(_E + "Endpoint= or HostName= is missing")
    if not d.get("SharedAccessKey"):
        raise ValueError(_E + "SharedAccessKey= is missing")
    return d


def client_args(kind, conn_str, kw):
    """The client's positional arguments for a connection string: kind 0
    Event Hubs, 1 Service Bus, 2 IoT Hub. Takes the kind's own keywords out
    of kw (the rest are the client's options)."""
    cs = parse_connection_string(conn_str)
    if kind == 2:
        if "HostName" not in cs:
            raise ValueError("not an IoT Hub connection string (no HostName=)")
        host = cs["HostName"]
        device_id = kw.pop("device_id", None)
        device = cs.get("DeviceId") or device_id
        if not device:
            raise ValueError("connection string has no DeviceId: pass device_id=")
        module = cs.get("ModuleId")
        audience = "%s/devices/%s" % (host, device)
        path = ("devices", device, "messages", "events")
        if module:
            audience += "/modules/" + module
            path = ("devices", device, "modules", module, "messages", "events")
        # A hub-level policy key (SharedAccessKeyName=) signs with skn; a device key without.
        kw["iot"] = True
        return host, path, audience, cs["SharedAccessKey"], cs.get("SharedAccessKeyName"), True
    name = "an Event Hubs" if kind == 0 else "a Service Bus"
    if "Endpoint" not in cs:
        raise ValueError("not %s connection string (no Endpoint=)" % name)
    host = _endpoint_host(cs["Endpoint"])
    key = cs["SharedAccessKey"], cs["SharedAccessKeyName"], False
    if kind == 0:
        hub = kw.pop("event_hub", None) or cs.get("EntityPath")
        publisher, partition_id = kw.pop("publisher", None), kw.pop("partition_id", None)
        if not hub:
            raise ValueError("connection string has no EntityPath: pass event_hub=")
        audience = "https://%s/%s" % (host, hub)
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
    return (host, path, audience) + key
