"""TLS connections for the clients, on whichever TLS API the port has.

- Ports with `tls` (unix, most ports since 1.23): `tls.SSLContext`, mbedTLS.
- The WiPy (cc3200): `ssl.wrap_socket` on an IPPROTO_SEC socket; TLS runs in
  the CC3200's network processor, which needs TLS 1.2 asked for explicitly
  (its default is TLS 1.0, which Azure no longer accepts).
Certificate verification is on unless the caller passes
`insecure_disable_tls_verification=True`.
"""

import socket

try:
    import tls
except ImportError:
    tls = None

# Where the CA certificates are found when the caller gives no ca_certs.
DEFAULT_CA_CERTS = "/etc/ssl/certs/ca-certificates.crt" if tls else "/flash/cert/ca.pem"


class TLSError(OSError):
    """The TLS handshake failed: most often a certificate that ca_certs does not trust."""


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def connect(host, port, server_hostname, ca_certs=None, verify=True, timeout=30):
    """Opens a TLS connection to host:port, verified for server_hostname."""
    ca_certs = ca_certs or DEFAULT_CA_CERTS
    addr = socket.getaddrinfo(host, port)[0][-1]
    if tls is None:
        return _connect_cc3200(addr, ca_certs, verify, timeout)
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    if verify:
        try:
            ca = _read(ca_certs)
        except OSError:
            raise TLSError("cannot read ca_certs %r: pass ca_certs= (a PEM or DER CA file)" % ca_certs)
        ctx.verify_mode = tls.CERT_REQUIRED
        ctx.load_verify_locations(ca)
    else:
        ctx.verify_mode = tls.CERT_NONE
    sock = socket.socket()
    try:
        # TCP_NODELAY (IPPROTO_TCP 6, option 1; the unix port has no names
        # for them): a request written as head + body would otherwise wait
        # for the server's delayed ACK, ~40 ms per send.
        sock.setsockopt(6, 1, 1)
    except (OSError, TypeError):
        pass
    try:
        sock.settimeout(timeout)
        sock.connect(addr)
    except OSError:
        sock.close()
        raise
    try:
        return ctx.wrap_socket(sock, server_hostname=server_hostname)
    except (OSError, ValueError) as e:
        # mbedTLS reports a failed verification as ValueError (with its
        # reason) or, for a name mismatch, as a reset connection.
        sock.close()
        raise TLSError(
            "TLS handshake with %s:%d failed (%s): the server certificate is not "
            "signed by a CA in %s or is not valid for %s"
            % (host, port, str(e).strip() or type(e).__name__, ca_certs, server_hostname)
        )


def _connect_cc3200(addr, ca_certs, verify, timeout):
    import ssl

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC)
    try:
        if verify:
            ss = ssl.wrap_socket(sock, cert_reqs=ssl.CERT_REQUIRED, ca_certs=ca_certs,
                                 ssl_version=ssl.PROTOCOL_TLSv1_2)
        else:
            ss = ssl.wrap_socket(sock, cert_reqs=ssl.CERT_NONE, ssl_version=ssl.PROTOCOL_TLSv1_2)
        ss.settimeout(timeout)
        ss.connect(addr)
        return ss
    except OSError as e:
        sock.close()
        # The network processor connects and shakes hands in one call. A
        # network error (ECONNREFUSED 111, ETIMEDOUT 110, EHOSTUNREACH 113,
        # ...) is retried by the client like any connection failure; the
        # SimpleLink security errors (-45x: untrusted or unreadable CA,
        # wrong name) are not, and say what to fix.
        code = e.args[0] if e.args else None
        if isinstance(code, int) and 0 < abs(code) < 200:
            raise
        raise TLSError("TLS connection failed (%s): check %s holds the server's root CA (DER)" % (e, ca_certs))
