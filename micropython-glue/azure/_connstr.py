"""Connection-string parsing in Python, for firmware built without the
native parser (the WiPy: UPY_AZURE_CONNSTR=0). Same rules, results and
messages as src/connstr.rs; the unix build tests them against each other."""

_E = "connection string: "


_HOST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.:_"


def _valid_host(h):
    return h != "" and all(c in _HOST for c in h)


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
        host = e[5:] if e.startswith("sb://") else ""
        if host.endswith("/"):
            host = host[:-1]
        if not _valid_host(host):
            raise ValueError(_E + "Endpoint must look like sb://<namespace>.servicebus.windows.net/")
        if not d.get("SharedAccessKeyName"):
            raise ValueError(_E + "SharedAccessKeyName= is missing")
    elif "HostName" in d:
        if not _valid_host(d["HostName"]):
            raise ValueError("invalid host name: use letters, digits, - and . with an optional :port")
        if not d.get("DeviceId") and not d.get("SharedAccessKeyName"):
            raise ValueError(_E + "DeviceId= (or SharedAccessKeyName=) is missing")
    else:
        raise ValueError(_E + "Endpoint= or HostName= is missing")
    if not d.get("SharedAccessKey"):
        raise ValueError(_E + "SharedAccessKey= is missing")
    return d
