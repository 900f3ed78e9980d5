"""What every client shares, HTTPS and MQTT alike: the errors, the SAS
token (`_Auth`: signed on the device from its key and renewed at 80 % of
its lifetime, or given and sent as given), event bodies and properties,
the endpoint, jitter, and the clock, network and sleep the clients reach
through this module (tests script them here). The HTTPS request core and
the Event Hubs client are azure/https.py; the MQTT session azure/mqtt.py.
An MQTT device never loads the HTTPS code or the response reader.

A device may hold a token instead of the key (`SharedAccessSignature=` in
its connection string, `token=`, `set_token`): it is sent as given, its
expiry (`se`) is checked against the device clock before each request, and
a refusal of it is final (nothing to renew).
"""

import _azure
from micropython import const

import azure.transport as transport  # (a module: tests script its connect)

# The clock, the network and sleeping are reached through these module
# names, so that tests can script them (tests/micropython/client_*.py).
unix_time = _azure.unix_time

# (Every port with sockets has time; a port without sockets has no clients.)
from time import sleep_ms, ticks_ms, ticks_diff


try:
    from os import urandom
except ImportError:  # pragma: no cover
    urandom = None


class SendError(OSError):
    """A send that definitely failed. `status` is the HTTP status (None when the
    connection failed), `text` the service's error text."""

    def __init__(self, status, text):
        super().__init__("%s: %s" % (status if status is not None else "connection", text))
        self.status = status
        self.text = text


class ProvisioningError(SendError):
    """Provisioning failed: `status` is the last HTTP status (None for a
    connection failure), `text` the service's message,
    `registration_status` DPS's verdict ("failed", "disabled", ...) or None.
    (Defined here, not in the provisioning code, which is dropped after use.)"""

    registration_status = None


def _rand32():
    if urandom:
        b = urandom(4)
        return b[0] | b[1] << 8 | b[2] << 16 | (b[3] & 0x3F) << 24
    try:
        import random

        return random.getrandbits(30)
    except ImportError:  # neither: jitter from the clock is still jitter
        return ticks_ms() & 0x3FFFFFFF


def _text(b):
    # An error text from the service, as text (its bytes' repr if not UTF-8).
    try:
        return str(b, "utf-8")
    except (UnicodeError, ValueError):
        return repr(b)


# Property values sent as their str(). bool is no int subclass here; the
# WiPy's firmware has no float at all (the name itself is a NameError).
try:
    _NUMBERS = (int, bool, float)
except NameError:
    _NUMBERS = (int, bool)


def _props(properties):
    # Header values are text: numbers and booleans are sent as their str().
    # Not str() of anything else: None or b"x" would be sent as "None" or "b'x'".
    if properties is None:
        return None
    if not isinstance(properties, dict):
        raise TypeError("properties must be a dict")
    out = properties
    for k, v in properties.items():
        if not isinstance(v, str):
            if not isinstance(v, _NUMBERS):
                raise TypeError("property values must be str, int, float or bool")
            if out is properties:
                out = dict(properties)
            out[k] = str(v)
    return out


def _body(body):
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (bytes, bytearray, memoryview)):
        return body
    raise TypeError("body must be str or bytes")


_CLOCK_SET = const(1577836800)  # 2020-01-01: a clock reading less was never set


def _from_connection_string(cls, kind, conn_str, kw):
    # The client made by azure/_connstr.py from its connection string,
    # loaded for this only (it runs once per client).
    from . import _transient

    return _transient("_connstr", "make", cls, kind, conn_str, kw)


class _Auth:
    """The SAS token of every client (HTTPS and MQTT alike): signed on the
    device from its key and renewed at 80 % of `token_ttl`, or given (made
    elsewhere: sent as given, refused once expired by the device clock,
    never renewed; `set_token` hands over the next one). A client holding a
    given token holds no key."""

    def __init__(self, audience, key, key_name, key_is_base64, token=None, token_ttl=3600):
        if token_ttl < 1:
            raise ValueError("token_ttl must be a positive number of seconds")
        self._audience = audience
        self._key = key
        self._key_name = key_name
        self._key_is_base64 = key_is_base64
        self._token_ttl = token_ttl
        self._token = None
        self._renew_at = 0
        # Unix time the current token expires (None until one is signed).
        self.token_expires = None
        self._given = False
        if token is not None:
            self.set_token(token)

    def set_token(self, token):
        """Use this token (`SharedAccessSignature sr=..&sig=..&se=..`, sent as
        given) from the next request on, e.g. one fetched before the last
        one expires (see `token_expires`)."""
        from . import _transient

        # Checked, and its se= read, by azure/_token.py (loaded for this only).
        self.token_expires = _transient("_token", "token_info", token)[0]
        self._token = token
        self._given = True
        self._key = None  # from now on the device holds no key

    def _current_token(self):
        now = unix_time()
        if self._given:
            # (A clock that was never set reads before 2020, so it never
            # refuses a token made since: the service decides then.)
            if now >= self.token_expires:
                from . import _transient

                raise _transient("_token", "expired", self.token_expires, now)
            return self._token
        if self._token is None or now >= self._renew_at:
            # The client's own policy, before it passes an explicit expiry (which
            # the native signer never second-guesses): refuse an unset clock.
            if now < _CLOCK_SET:
                raise ValueError("clock is not set (it reads before 2020-01-01): set it from NTP first")
            self.token_expires = exp = now + self._token_ttl
            self._token = _azure.sas_token(self._audience, self._key, self._key_name,
                                           expiry=exp, key_is_base64=self._key_is_base64)
            self._renew_at = now + self._token_ttl * 4 // 5
            self.stats["renewals"] += 1
        return self._token
