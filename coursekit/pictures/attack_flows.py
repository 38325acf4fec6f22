"""Flows of the attacks that are more than one token: which key goes where in algorithm confusion, the jku
fetch, a certificate the token carries (x5c) or points to (x5u), rebuilding an unpublished key, two tabs
racing with one refresh token.

Each is a Mermaid sequence diagram (JupyterLab 4 draws them offline). Every arrow and note says in words
who does what and with which key; nothing is told by colour alone: the attacker's steps are prefixed
"ATTACKER", and Mermaid's default theme draws them in black on light boxes.

    algorithm_confusion()      # displays the diagram; its text form is the Mermaid source
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Diagram", "algorithm_confusion", "certificate_in_token", "jku_fetch", "key_recovery", "refresh_race"]


@dataclass(frozen=True)
class Diagram:
    """A Mermaid sequence diagram: participants (alias, label) and the lines that follow them."""

    title: str
    participants: tuple[tuple[str, str], ...]
    lines: tuple[str, ...]

    def mermaid(self) -> str:
        head = ["sequenceDiagram", f"    title {self.title}"]
        head += [f"    participant {alias} as {label}" for alias, label in self.participants]
        return "\n".join(head + [f"    {line}" for line in self.lines])

    def __repr__(self) -> str:
        return self.mermaid()

    def _repr_markdown_(self) -> str:
        return f"```mermaid\n{self.mermaid()}\n```"


def algorithm_confusion() -> Diagram:
    """The server's public key, meant for RS256 verification, becomes the HMAC secret of a forged HS256 token."""
    return Diagram("Algorithm confusion: which key goes where", (("A", "Attacker"), ("S", "Server")), (
        "S->>A: GET /.well-known/jwks.json: the PUBLIC key (anyone may read it)",
        "Note over A: ATTACKER writes the public key as PEM bytes",
        "Note over A: ATTACKER signs admin claims with HS256, HMAC secret = those PEM bytes",
        "A->>S: token with alg HS256",
        "Note over S: secure: alg is pinned to RS256, so HS256 is refused",
        "Note over S: flawed: HS256 verified with HMAC, secret = its own PUBLIC key as PEM: signature matches",
        "S-->>A: 200 admin",
    ))


def jku_fetch() -> Diagram:
    """The token names the URL of its own key; the flawed server fetches it and believes it."""
    return Diagram("jku: the token says where its key is", (
        ("A", "Attacker"), ("K", "Attacker's key server"), ("S", "Server")), (
        "Note over A: ATTACKER makes a key pair and publishes the public half as a JWK Set",
        "A->>K: serve a JWK Set holding my public key",
        "Note over A: ATTACKER signs admin claims with the PRIVATE half, header jku = the key server's URL",
        "A->>S: token with jku",
        "Note over S: secure: keys come only from the server's own jwks_uri, so jku is ignored",
        "S->>K: flawed: GET the jku URL",
        "K-->>S: the attacker's public key",
        "Note over S: flawed: verifies with the attacker's key: signature matches",
        "S-->>A: 200 admin",
    ))


def certificate_in_token() -> Diagram:
    """The token carries its certificate (x5c) or names where it is (x5u); the flawed server takes the
    certificate's key without asking who signed the certificate."""
    return Diagram("x5c and x5u: the token brings its own certificate", (
        ("A", "Attacker"), ("K", "Attacker's web server"), ("S", "Server")), (
        "Note over A: ATTACKER makes a key pair and a certificate for it, signed by the same key (self-signed)",
        "Note over A: ATTACKER signs admin claims with the PRIVATE key",
        "A->>S: x5c: token carrying the certificate in its header",
        "A->>K: x5u: or serve the certificate as PEM",
        "A->>S: x5u: token naming the certificate's URL",
        "S->>K: flawed x5u only: GET the x5u URL",
        "K-->>S: the attacker's certificate",
        "Note over S: flawed: uses the certificate's key as it is, never chained to a trusted root",
        "Note over S: secure: keys come only from the server's own jwks_uri, so x5c and x5u are ignored",
        "Note over S: or chains the certificate to a configured root: a self-signed one fails there",
        "S-->>A: flawed: 200 admin. Secure: 401 invalid_token",
    ))


def key_recovery() -> Diagram:
    """Two signatures of an unpublished RSA key give its modulus; then the confusion works as before."""
    return Diagram("Rebuilding a key the server never published", (("A", "Attacker"), ("S", "Server")), (
        "S-->>A: token 1, RS256, signature s1 (an ordinary login)",
        "S-->>A: token 2, RS256, signature s2 (another login)",
        "Note over A: ATTACKER: for each, m = the RSASSA-PKCS1-v1_5 padding of SHA-256(header.payload)",
        "Note over A: ATTACKER: s^e = m mod n, so n divides s1^e - m1 and s2^e - m2",
        "Note over A: ATTACKER: n = gcd(s1^e - m1, s2^e - m2) with small factors removed",
        "Note over A: ATTACKER: public key (n, e) as PEM = the HMAC secret, as in algorithm confusion",
        "A->>S: token with alg HS256",
        "Note over S: flawed: HS256 with its own public key: signature matches. Secure: RS256 pinned, refused",
        "S-->>A: 200 admin",
    ))


def refresh_race(grace: bool = False) -> Diagram:
    """Two tabs refresh with the same token at once: reuse detection revokes the login, or a grace period lets
    the second pass (``grace=True``)."""
    second = ("S-->>T2: new tokens too: within the grace period, a reuse is not a theft (audited)" if grace else
              "S-->>T2: 400 invalid_grant: already used, so the whole login (family) is revoked")
    after = ("Note over T1,T2: both tabs go on, and so would a thief inside the window" if grace else
             "Note over T1,T2: tab 1's new refresh token dies with the family: log in again")
    return Diagram("Two tabs, one refresh token" + (" (with a grace period)" if grace else ""), (
        ("T1", "Tab 1"), ("T2", "Tab 2"), ("S", "Server")), (
        "Note over T1,T2: both tabs hold refresh token R1, and both access tokens expire",
        "T1->>S: refresh with R1",
        "T2->>S: refresh with R1, a moment later",
        "S-->>T1: new access token and R2 (R1 is now used)",
        second,
        after,
    ))
