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
        host = e[5:-1] if e.endswith("/") else e[5:]
        try:
            if not e.startswith("sb://"):
                raise ValueError
            _check_host(host)
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
