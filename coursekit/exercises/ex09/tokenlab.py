"""The capstone verifier's test bench: a fresh RS256 lab, alice's genuine token, and the means to sign what a
careless issuer or a thief would. Shared by the visible cases (``verifier``) and the hidden ones
(``coursekit.answers.ex09``)."""

from __future__ import annotations

import jwt
from cryptography.hazmat.primitives import serialization

from coursekit.labtools.client import claims, http_session, log_in
from coursekit.labtools.lab import fresh_lab
from coursekit.labtools.verifier_probes import lab_private_key
from labserver import LabServer

__all__ = ["ALGORITHM", "TokenLab", "call"]

ALGORITHM = "RS256"


class TokenLab:
    """A fresh RS256 lab, alice's genuine token, and the means to sign what a careless issuer or a thief would."""

    def __init__(self, lab: LabServer | None = None) -> None:
        self.lab = lab or fresh_lab(algorithm=ALGORITHM)
        self.alice = log_in(self.lab, "alice")["access_token"]
        self.header = jwt.get_unverified_header(self.alice)
        self.payload = claims(self.alice)
        self.admin = {**self.payload, "roles": ["admin"]}
        self.own_key = lab_private_key(self.lab, self.header["kid"])
        self.now = self.lab.clock.now()
        self._jwks: dict | None = None

    def jwks(self) -> dict:
        """The lab's JWK Set, fetched at the first use (after any key rotation a case makes) and kept."""
        if self._jwks is None:
            self._jwks = http_session().get(self.lab.url + "/.well-known/jwks.json", timeout=10).json()
        return self._jwks

    def signed(self, payload: dict, **header) -> str:
        """Signed with the lab's own key: only what the verifier must check besides the signature is wrong."""
        fields = {"kid": self.header["kid"], "typ": "at+jwt", **header}
        return jwt.encode(payload, self.own_key, algorithm=fields.pop("alg", ALGORITHM), headers=fields)

    def pem(self) -> bytes:
        return self.own_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)


def call(verify, lab: TokenLab, token: str, now: float | None = None):
    return verify(token, lab.now if now is None else now, lab.jwks(), lab.lab.settings.issuer_id,
                  lab.lab.settings.audience)
