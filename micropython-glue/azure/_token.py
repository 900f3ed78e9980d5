"""SAS tokens given to a client instead of a key (made on a PC, fetched from
the application's server): checked and read, never re-encoded or re-signed.
Loaded only while a token is handed over (azure.parse_connection_string,
from_connection_string, set_token) and dropped afterwards, like
azure/_connstr.py: a device pays no heap for its code while sending.

Its names are interned for good when it loads (MicroPython never frees a
name), so it uses the names the rest of the package already has: a few more
would cross a pool step (about 2 KB on the WiPy) for a token-holding device.
"""

_HEX = b"0123456789abcdefABCDEF"


def token_info(s):
    """(se, sr as sent) of `SharedAccessSignature sr=..&sig=..&se=..[&skn=..]`;
    TypeError/ValueError unless it is one that could go out as a header."""
    if not isinstance(s, str):
        raise TypeError("token must be a str")
    if not s.startswith("SharedAccessSignature ") or "\r" in s or "\n" in s:
        raise ValueError("token must look like 'SharedAccessSignature sr=...&sig=...&se=...'")
    d = {}
    for p in s[22:].split("&"):
        i = p.find("=")
        d[p[:i]] = p[i + 1:]
    n = d.get("se", "")
    if not n.isdigit() or not int(n):
        raise ValueError("SAS token has no se= (expiry in Unix seconds)")
    if not d.get("sr") or "sig" not in d:
        raise ValueError("SAS token must have sr=, sig= and se=")
    return int(n), d["sr"]


def scope(s):
    """(publisher, device, module) the token is for: an Event Hubs publisher
    (https://{ns}/{hub}/publishers/{name}[/messages]), an IoT Hub device
    ({hub}/devices/{id}[/modules/{m}]); None where it names none."""
    # sr percent-decoded, %XX in either case (generators write %2f as often as %2F)
    b = token_info(s)[1].encode()
    out = bytearray()
    i = 0
    while i < len(b):
        n = b[i + 1:i + 3]
        if b[i] == 37 and len(n) == 2 and n[0] in _HEX and n[1] in _HEX:
            out.append(int(n, 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    try:
        s = str(out, "utf-8")
    except (UnicodeError, ValueError):
        raise ValueError("SAS token: sr= is not percent-encoded UTF-8")
    # Its path names, without the scheme: https://NS/hub/publishers/p -> NS, hub, publishers, p
    seg = []
    for v in s.split("/"):
        if v and v[-1:] != ":":
            seg.append(v)
    p = device = mod = None
    if len(seg) > 3 and seg[2].lower() == "publishers":
        p = seg[3]
    if len(seg) > 2 and seg[1] == "devices":
        device = seg[2]
        if len(seg) > 4 and seg[3] == "modules":
            mod = seg[4]
    return p, device, mod


def expired(n, now):
    # The clients' error for a given token past its expiry (raised before any request).
    from .client import SendError

    return SendError(401, "SAS token expired at %d (Unix time; %d s ago by the device clock); nothing "
                     "was sent: give the client a new one with set_token()" % (n, now - n))
