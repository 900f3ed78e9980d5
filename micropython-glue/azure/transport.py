"""TLS connections for the clients, on whichever TLS API the port has.

- Ports with `tls` (unix, most ports since 1.23): `tls.SSLContext`, mbedTLS
  (azure/_mbedtls.py, imported only there).
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


class TLSError(OSError):
    """The TLS handshake failed: most often a certificate that ca_certs does not trust."""


def connect(host, port, server_hostname, ca_certs=None, verify=True, timeout=30):
    """Opens a TLS connection to host:port, verified for server_hostname."""
    addr = socket.getaddrinfo(host, port)[0][-1]
    if tls:
        from ._mbedtls import connect

        return connect(tls, addr, host, port, server_hostname, ca_certs or "/etc/ssl/certs/ca-certificates.crt",
                       verify, timeout)
    ca_certs = ca_certs or "/flash/cert/ca.pem"
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
