"""The development CA and server certificate (RSA 2048, SHA-256, notBefore
2000-01-01 so boards with an unset clock still accept it), and the server's
TLS context."""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

from .common import DEFAULT_CA_NAME


def make_ssl_context(cert: Path, key: Path, ciphers: Optional[str]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2   # Azure refuses TLS 1.0/1.1 too
    if ciphers:
        ctx.set_ciphers(ciphers)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


@dataclass
class CertFiles:
    dir: Path

    @property
    def ca_pem(self): return self.dir / "ca.pem"
    @property
    def ca_der(self): return self.dir / "ca.der"
    @property
    def ca_key(self): return self.dir / "ca.key"
    @property
    def server_pem(self): return self.dir / "server.pem"
    @property
    def server_key(self): return self.dir / "server.key"


NOT_BEFORE = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)


def _split_names(names: Iterable[str]) -> tuple:
    dns, ips = [], []
    for name in names:
        if not name:
            continue
        try:
            ips.append(ipaddress.ip_address(name))
        except ValueError:
            dns.append(name.lower())
    return sorted(set(dns)), sorted(set(ips), key=str)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def ensure_certs(certs_dir: Path, names: Sequence[str], ca_name: str = DEFAULT_CA_NAME,
                 force: bool = False) -> tuple:
    """Make sure ``certs_dir`` has a CA and a server certificate covering
    ``names``; reuse what is there while valid.  Returns (CertFiles, actions)."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    files = CertFiles(Path(certs_dir))
    files.dir.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.timezone.utc)
    margin = _dt.timedelta(days=7)
    dns, ips = _split_names(names)
    actions = []

    def load_cert(path):
        try:
            return x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            return None

    def load_key(path):
        try:
            return serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError):
            return None

    def same_public_key(cert, key):
        fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)

    # ---- CA
    ca_cert = None if force else load_cert(files.ca_pem)
    ca_key = None if force else load_key(files.ca_key)
    ca_ok = (
        ca_cert is not None and ca_key is not None and same_public_key(ca_cert, ca_key)
        and ca_cert.not_valid_after_utc > now + margin
        and ca_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        and ca_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == ca_name
    )
    if not ca_ok:
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "azure_endpoint (local testing only)"),
            x509.NameAttribute(NameOID.COMMON_NAME, ca_name),
        ])
        ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOT_BEFORE)
            .not_valid_after(now + _dt.timedelta(days=365 * 20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(files.ca_key, ca_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        _write_public(files.ca_pem, ca_cert.public_bytes(serialization.Encoding.PEM))
        actions.append("created CA")
    ca_der = ca_cert.public_bytes(serialization.Encoding.DER)
    if not files.ca_der.exists() or files.ca_der.read_bytes() != ca_der:
        _write_public(files.ca_der, ca_der)
        if ca_ok:
            actions.append("rewrote ca.der")

    # ---- server certificate
    srv_cert = load_cert(files.server_pem) if ca_ok else None
    srv_key = load_key(files.server_key) if ca_ok else None
    srv_ok = False
    if srv_cert is not None and srv_key is not None and same_public_key(srv_cert, srv_key):
        try:
            ca_cert.public_key().verify(srv_cert.signature, srv_cert.tbs_certificate_bytes,
                                        padding.PKCS1v15(), srv_cert.signature_hash_algorithm)
            san = srv_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            have_dns = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
            have_ip = set(san.get_values_for_type(x509.IPAddress))
            srv_ok = (srv_cert.issuer == ca_cert.subject
                      and srv_cert.not_valid_after_utc > now + margin
                      and set(dns) <= have_dns and set(ips) <= have_ip)
        except (InvalidSignature, x509.ExtensionNotFound, ValueError, TypeError):
            srv_ok = False
    if not srv_ok:
        srv_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cn = next((n.lower() for n in names if n and n.lower() in dns), "localhost")
        srv_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_cert.subject)
            .public_key(srv_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOT_BEFORE)
            .not_valid_after(now + _dt.timedelta(days=365 * 10))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in dns] + [x509.IPAddress(i) for i in ips]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(srv_key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(files.server_key, srv_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        _write_public(files.server_pem, srv_cert.public_bytes(serialization.Encoding.PEM))
        actions.append("created server certificate")
    return files, actions
