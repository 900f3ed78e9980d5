"""SAS tokens given to a client instead of a key (made on a PC, fetched from
the application's server): checked and read, never re-encoded or re-signed.
Loaded only while a token is handed over (azure.parse_connection_string,
from_connection_string, set_token) and dropped afterwards, like
azure/_connstr.py: a device pays no heap for it while sending."""

_HEX = b"0123456789abcdefABCDEF"


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
    TypeError/ValueError unless it is one that could go out as a header.
    (Also the clients' check of a token given to set_token.)"""
    if not isinstance(token, str):
        raise TypeError("token must be a str")
    if not token.startswith("SharedAccessSignature ") or "\r" in token or "\n" in token:
        raise ValueError("token must look like 'SharedAccessSignature sr=...&sig=...&se=...'")
    se = sr = None
    for f in token[22:].split("&"):
        if f.startswith("se=") and f[3:].isdigit():
            se = int(f[3:])
        elif f.startswith("sr="):
            sr = f[3:]
    if not se:
        raise ValueError("SAS token has no se= (expiry in Unix seconds)")
    if not sr or "sig=" not in token:
        raise ValueError("SAS token must have sr=, sig= and se=")
    return se, _unquote(sr)


def expired(se, now):
    # The client's error for a given token past its expiry (raised before any request).
    from .client import SendError

    return SendError(401, "SAS token expired at %d (Unix time; %d s ago by the device clock); nothing "
                     "was sent: give the client a new one with set_token()" % (se, now - se))


def _segments(sr):
    # The decoded resource URI's path names, lower-case, without the scheme:
    # "https://NS/Hub/publishers/p/messages" -> ["ns", "hub", "publishers", "p", "messages"]
    i = sr.find("://")
    return [x for x in sr[i + 3 if i >= 0 else 0:].split("/") if x]


def scope(token):
    """(publisher, device, module) the token is for: an Event Hubs publisher
    (https://{ns}/{hub}/publishers/{name}[/messages]), an IoT Hub device
    ({hub}/devices/{id}[/modules/{m}]); None where it names none."""
    seg = _segments(token_info(token)[1])
    pub = dev = mod = None
    if len(seg) > 3 and seg[2].lower() == "publishers":
        pub = seg[3]
    if len(seg) > 2 and seg[1] == "devices":
        dev = seg[2]
        if len(seg) > 4 and seg[3] == "modules":
            mod = seg[4]
    return pub, dev, mod
