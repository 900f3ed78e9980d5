"""TLS connections on ports with the `tls` module (mbedTLS: unix, the Pico
W, ESP32, STM32...), for azure/transport.py, which imports this module only
there: the WiPy, whose TLS runs in its network processor, never holds it.
The asyncio clients (azure/aio_http.py, azure/aio_mqtt.py) make their
context and name their handshake failures here too."""

import socket

from .transport import TLSError


def context(tls, ca_certs, verify):
    """The client's TLS context: the server verified against ca_certs (a PEM
    or DER file; the system's bundle by default) unless verify is False."""
    ca_certs = ca_certs or "/etc/ssl/certs/ca-certificates.crt"
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    if verify:
        try:
            with open(ca_certs, "rb") as f:
                ca = f.read()
        except OSError:
            raise TLSError("cannot read ca_certs %r: pass ca_certs= (a PEM or DER CA file)" % ca_certs)
        ctx.verify_mode = tls.CERT_REQUIRED
        ctx.load_verify_locations(ca)
    else:
        ctx.verify_mode = tls.CERT_NONE
    return ctx


def handshake_error(e, host, port, ca_certs, server_hostname):
    # mbedTLS reports a failed verification as ValueError (with its reason)
    # or, for a name mismatch, as a reset connection.
    return TLSError(
        "TLS handshake with %s:%d failed (%s): the server certificate is not "
        "signed by a CA in %s or is not valid for %s"
        % (host, port, str(e).strip() or type(e).__name__, ca_certs or "the system's CAs", server_hostname)
    )


def nodelay(sock):
    # TCP_NODELAY (IPPROTO_TCP 6, option 1; the unix port has no names for
    # them): a request written as head + body would otherwise wait for the
    # server's delayed ACK, ~40 ms per send.
    try:
        sock.setsockopt(6, 1, 1)
    except (OSError, TypeError, AttributeError):
        pass


def connect(tls, addr, host, port, server_hostname, ca_certs, verify, timeout):
    ctx = context(tls, ca_certs, verify)
    sock = socket.socket()
    nodelay(sock)
    try:
        sock.settimeout(timeout)
        sock.connect(addr)
    except OSError:
        sock.close()
        raise
    try:
        return ctx.wrap_socket(sock, server_hostname=server_hostname)
    except (OSError, ValueError) as e:
        sock.close()
        raise handshake_error(e, host, port, ca_certs, server_hostname)
