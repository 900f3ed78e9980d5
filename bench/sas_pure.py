# The SAS token algorithm in pure MicroPython: the baseline that _azure.sas_token
# is compared with (bench/RESULTS.md, benchmark 1 and 2).
#
# PyPI's micropython-hmac (3.4.2.post3, the newest there) cannot run on
# MicroPython 1.25: it imports `warnings` (not built in) and reads
# `digest_size` and calls `.copy()` on the hash object, which the built-in
# hashlib does not have (AttributeError). The HMAC below is therefore written
# here, computing RFC 2104 the way micropython-lib's current hmac module does
# over the built-in hashlib: two hash objects, the key zero-padded to the
# 64-byte block (hashed first when longer), the pads made by XOR-ing it byte
# by byte in a generator, inner digest fed to the outer hash. Percent-encoding
# (urllib.parse.quote(s, safe="")) and base64 (binascii) as a script would do
# them; the encoder uses a 256-entry table built once at import, so each token
# pays only for the lookups.
#
# Runs unchanged on the unix build and on the qemu Cortex-M4 firmware.
import binascii
import hashlib


class HMAC:
    block_size = 64

    def __init__(self, key, msg=None, digestmod=hashlib.sha256):
        if not isinstance(key, (bytes, bytearray)):
            raise TypeError("key: expected bytes/bytearray")
        self._make = digestmod
        self._inner = digestmod()
        self._outer = digestmod()
        bs = self.block_size
        if len(key) > bs:
            key = digestmod(key).digest()
        key = key + bytes(bs - len(key))
        self._inner.update(bytes(x ^ 0x36 for x in key))
        self._outer.update(bytes(x ^ 0x5C for x in key))
        if msg is not None:
            self.update(msg)

    def update(self, msg):
        self._inner.update(msg)

    def digest(self):
        # The built-in hash objects cannot be copied: digest() finalises.
        h = self._outer
        h.update(self._inner.digest())
        return h.digest()


def new(key, msg=None, digestmod=hashlib.sha256):
    return HMAC(key, msg, digestmod)


_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
_QUOTED = [chr(b) if b in _SAFE else "%%%02X" % b for b in range(256)]


def quote(s):
    # urllib.parse.quote(s, safe=""): UTF-8, every byte but the unreserved as %XX.
    if isinstance(s, str):
        s = s.encode()
    q = _QUOTED
    return "".join([q[b] for b in s])


def sas_token(uri, key, key_name, expiry):
    # Event Hubs / Service Bus form: the key text is the HMAC key.
    sr = quote(uri)
    se = str(expiry)
    mac = new(key.encode(), (sr + "\n" + se).encode(), hashlib.sha256).digest()
    sig = binascii.b2a_base64(mac)[:-1]  # drop the newline
    token = "SharedAccessSignature sr=" + sr + "&sig=" + quote(sig) + "&se=" + se
    if key_name:
        token += "&skn=" + quote(key_name)
    return token
