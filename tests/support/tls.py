"""A private certificate authority for TLS tests: a CA, and a server certificate it signed for
127.0.0.1 and localhost, written as PEM files. Nothing else on the machine trusts the CA, so a
client that verifies against the system store must refuse the server; one given ``ca_file``
must accept it."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the CA certificate: what ca_file names
    cert: Path  # the server's certificate, signed by the CA
    key: Path  # the server's private key


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_tls_files(folder: Path) -> TlsFiles:
    """A CA and a server certificate for 127.0.0.1/localhost in ``folder`` (world-readable:
    Dovecot's and Radicale's processes read them)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("circleback test CA"))
        .issuer_name(_name("circleback test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    for path in (files.ca, files.cert, files.key):
        path.chmod(0o644)  # a throwaway test key; the servers' own users must read it
    return files


def assert_refused_once(read: Callable[[], object], close: Callable[[], None], proxy: Any, account: str) -> None:
    """``read`` fails on the server's certificate after one connection through ``proxy``, in full, as EX_CONFIG."""
    import pytest

    from circleback.connectors.errors import CertificateRefused

    try:
        with pytest.raises(CertificateRefused) as info:
            read()
    finally:
        close()
        proxy.close()
    assert proxy.connections == 1
    assert info.value.exit_code == 78  # EX_CONFIG: run --once exits with it
    assert str(info.value) == (
        f"{account}: the TLS certificate of 127.0.0.1:{proxy.port} did not verify: unable to get local issuer "
        "certificate; if the server's certificate comes from your own CA, set ca_file to that CA's certificate "
        "(PEM); otherwise fix the server's certificate"
    )
