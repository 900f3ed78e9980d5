# The cc3200 port's `ssl` module (ports/cc3200/mods/modussl.c) for the WiPy
# twin under qemu: wrap_socket checks what the WiPy's network processor
# needs (TLS 1.2 asked for explicitly, a CA file when verifying) and returns
# the scripted socket. `wrapped` records each call's arguments.

CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2
PROTOCOL_TLSv1 = 3
PROTOCOL_TLSv1_1 = 4
PROTOCOL_TLSv1_2 = 5

wrapped = []


def wrap_socket(sock, keyfile=None, certfile=None, server_side=False, cert_reqs=CERT_NONE,
                ssl_version=PROTOCOL_TLSv1, ca_certs=None):
    if ssl_version != PROTOCOL_TLSv1_2:
        raise OSError("Azure refuses TLS before 1.2")  # what the service would do
    if cert_reqs == CERT_REQUIRED and not ca_certs:
        raise OSError(-1)
    wrapped.append((cert_reqs, ca_certs, ssl_version))
    return sock
