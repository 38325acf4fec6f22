"""A local certificate authority and a server certificate for the lab, made with ``cryptography``.

    pki = make_local_pki()                       # files: ca.pem, server.pem, server.key
    lab = start_lab("tls", tls=pki)              # the lab server over HTTPS
    requests.get(lab.url + "/api/hello", verify=pki.ca)   # verified against the course CA

What a public CA does for a real site, this module does for 127.0.0.1: the CA signs a certificate that names
the server (subjectAltName ``localhost`` and ``IP:127.0.0.1``), may be used only to authenticate a TLS server
(extendedKeyUsage serverAuth) and lives one day. A client trusts the server because it trusts the CA file
it is given (``verify=pki.ca``), never because it switched checking off. The CA's private key is thrown
away once the server certificate is signed: nobody, not even this course, can sign another one with it.
"""

from __future__ import annotations

import atexit
import datetime
import ipaddress
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labserver.storage.files import write_private

__all__ = ["LocalPKI", "make_local_pki", "describe_certificate", "tls_facts"]

# Short validity: a lab certificate that leaks is useless tomorrow.
VALIDITY = datetime.timedelta(days=1)
# Tolerate a client clock a little behind ours.
BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class LocalPKI:
    """Paths of the CA certificate (what clients trust) and of the server's certificate and private key."""

    ca: str
    cert: str
    key: str
    # A second server certificate from the same CA for another name only (make_local_pki(misissued_for=...)):
    # what a client that trusts the CA but skips the hostname check accepts from the wrong server.
    misissued: "LocalPKI | None" = None


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JWT course (lab only)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_local_pki(folder: str | Path | None = None, now: datetime.datetime | None = None, *,
                   misissued_for: str | None = None) -> LocalPKI:
    """Create a CA and a server certificate for localhost and 127.0.0.1 in ``folder``; return their paths.

    Without a folder, a temporary one is used and removed when Python exits. ``misissued_for`` adds a second
    server certificate, from the same CA, for that DNS name only (``LocalPKI.misissued``).
    """
    if folder is None:
        folder = tempfile.mkdtemp(prefix="course-pki-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # Certificates are checked against the real clock by every TLS library: the lab clock does not apply.
    now = now or datetime.datetime.now(datetime.timezone.utc)
    not_before, not_after = now - BACKDATE, now + VALIDITY

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("JWT course local CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    pki = _server(folder, "server", ca_key, ca_name, names, "localhost", not_before, not_after)
    write_private(pki.ca, ca_cert.public_bytes(serialization.Encoding.PEM))
    if misissued_for is not None:
        other = _server(folder, "misissued", ca_key, ca_name, [x509.DNSName(misissued_for)], misissued_for,
                        not_before, not_after)
        pki = LocalPKI(pki.ca, pki.cert, pki.key, misissued=other)
    return pki


def _server(folder: Path, stem: str, ca_key, ca_name: x509.Name, names: list, common_name: str,
            not_before: datetime.datetime, not_after: datetime.datetime) -> LocalPKI:
    """Issue a server certificate for ``names`` from the CA; write it and its key as ``stem``.pem and .key."""
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        # Browsers and Python's ssl match the host against subjectAltName only, never the common name.
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = LocalPKI(ca=str(folder / "ca.pem"), cert=str(folder / f"{stem}.pem"), key=str(folder / f"{stem}.key"))
    # Each file is new (0600, written beside and renamed over): never an old file's mode kept (a key left
    # world-readable), never written through a symlink someone planted at the name.
    write_private(pki.cert, server_cert.public_bytes(serialization.Encoding.PEM))
    write_private(pki.key, server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    return pki


def describe_certificate(path: str) -> dict:
    """The facts of a certificate a learner should read: who, signed by whom, for which names and uses, how long."""
    cert = x509.load_pem_x509_certificate(Path(path).read_bytes())
    facts = {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
             "valid for": str(cert.not_valid_after_utc - cert.not_valid_before_utc - BACKDATE)}
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        facts["names (SAN)"] = [*san.get_values_for_type(x509.DNSName),
                                *map(str, san.get_values_for_type(x509.IPAddress))]
    except x509.ExtensionNotFound:
        facts["names (SAN)"] = []
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        facts["may be used for"] = [oid._name for oid in eku]
    except x509.ExtensionNotFound:
        pass
    facts["is a CA"] = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    return facts


def tls_facts(url: str, ca: str) -> dict:
    """Connect to an https URL with Python's ssl module, verifying against ``ca``; return what was negotiated."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=ca)  # checks the chain, the dates and the host name
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
            return {"version": tls.version(), "certificate verified": True,
                    "server name checked": parts.hostname,
                    "cipher": tls.cipher()[0]}
