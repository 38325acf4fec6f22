"""Signing keys: create, persist as a private JWK Set, rotate, and publish the public halves (RFC 7517)."""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm

from labserver.control.randomness import Randomness
from labserver.storage.files import check_own, check_unread, write_private

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    jwk: dict  # private JWK, with the lab's created/retired bookkeeping members
    created_at: float
    retired_at: float | None

    # Parsed once: PyJWK turns a JWK into a key object, which is not free for RSA.
    @cached_property
    def signing_key(self):
        return PyJWK(self._bare(self.jwk), algorithm=self.alg).key

    @cached_property
    def verifying_key(self):
        return PyJWK(self.public_jwk(), algorithm=self.alg).key if self.alg != "HS256" else self.signing_key

    def public_jwk(self) -> dict | None:
        """The JWK to publish, or None for an HMAC secret (it must never leave the server)."""
        if self.alg == "HS256":
            return None
        public = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}[self.alg].to_jwk(
            self.signing_key.public_key(), as_dict=True)
        return {**_without_key_ops(public), "kid": self.kid, "alg": self.alg, "use": "sig"}

    @staticmethod
    def _bare(jwk: dict) -> dict:
        return {k: v for k, v in jwk.items() if not k.startswith("lab_")}


def _without_key_ops(jwk: dict) -> dict:
    """Drop ``key_ops`` (PyJWT adds it to RSA keys): with ``use`` beside it, RFC 7517 §4.3 says SHOULD NOT."""
    return {k: v for k, v in jwk.items() if k != "key_ops"}


def generate(alg: str, randomness: Randomness, now: float) -> SigningKey:
    """Make a new key for the algorithm; with seeded randomness HS256/ES256/EdDSA keys are reproducible."""
    if alg == "HS256":
        jwk = HMACAlgorithm.to_jwk(randomness.bytes(32), as_dict=True)  # 256 bits: RFC 7518 §3.2
    elif alg == "RS256":
        # RSA key generation cannot be seeded: RS256 keys differ on every fresh store.
        jwk = RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048), as_dict=True)
    elif alg == "ES256":
        scalar = int.from_bytes(randomness.bytes(32), "big") % (_P256_ORDER - 1) + 1
        jwk = ECAlgorithm.to_jwk(ec.derive_private_key(scalar, ec.SECP256R1()), as_dict=True)
    elif alg == "EdDSA":
        jwk = OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.from_private_bytes(randomness.bytes(32)),
                                  as_dict=True)
    else:
        raise ValueError(f"unsupported algorithm {alg}")
    kid = randomness.token(8)
    jwk = {**_without_key_ops(jwk), "kid": kid, "alg": alg, "use": "sig", "lab_created_at": now, "lab_retired_at": None}
    return SigningKey(kid, alg, jwk, now, None)


WORDLIST = Path(__file__).resolve().parents[1] / "data" / "weak-secrets.txt"  # labserver/data


def weak_key(randomness: Randomness, now: float) -> SigningKey:
    """An HS256 key whose secret is a common password from the course's wordlist (lab flaw "weak-secret")."""
    words = WORDLIST.read_text().split("\n")[:-1]
    # DELIBERATELY VULNERABLE (lab flaw "weak-secret"): a secret someone might choose, found in any wordlist.
    # The fix is generate() above: 32 bytes from a secure random generator (RFC 7518 §3.2, RFC 8725 §3.5).
    secret = words[int.from_bytes(randomness.bytes(4), "big") % len(words)].encode()
    kid = randomness.token(8)
    jwk = {**HMACAlgorithm.to_jwk(secret, as_dict=True), "kid": kid, "alg": "HS256", "use": "sig"}
    return SigningKey(kid, "HS256", jwk, now, None)


def unpublished_key(now: float) -> SigningKey:
    """An RS256 key that is never published, for lab flaw "alg-confusion-hidden-key" (the key to recover).

    Its public exponent is 3, not the usual 65537: rebuilding the modulus from two signatures then takes
    well under a second instead of about forty (the gcd works on numbers of 3 x 2048 bits, not 65537 x 2048).
    The method is the same for either exponent. PKCS#1 v1.5 padding keeps e = 3 signatures safe to make.
    """
    jwk = RSAAlgorithm.to_jwk(rsa.generate_private_key(3, 2048), as_dict=True)
    # Shaped like every other kid, so that in a black-box challenge the header names no flaw; it is never in the
    # JWK Set (that a learner may notice). os.urandom: seeded randomness stays untouched.
    kid = base64.urlsafe_b64encode(os.urandom(8)).rstrip(b"=").decode()
    jwk = {**_without_key_ops(jwk), "kid": kid, "alg": "RS256", "use": "sig"}
    return SigningKey(kid, "RS256", jwk, now, None)


class KeyRing:
    """The active signing key plus retired keys kept until the tokens they signed have expired.

    Persisted to a JWK Set file when given a path, so two servers can share their keys (not their store).
    """

    def __init__(self, alg: str, path: str | None, randomness: Randomness, keep_for: float, now: float) -> None:
        self.alg = alg
        self._path = Path(path) if path else None
        self._random = randomness
        self._keep_for = keep_for
        self._lock = threading.RLock()
        self._mtime = None
        self._keys: list[SigningKey] = []
        self._weak: SigningKey | None = None
        self._unpublished: SigningKey | None = None
        if self._path:
            check_own(self._path, "keys file")  # a planted key would let its planter sign admin tokens
        if self._path and self._path.exists():
            check_unread(self._path, "keys file")
            self._load()
        if not any(k.alg == alg and k.retired_at is None for k in self._keys):
            self._keys.append(generate(alg, randomness, now))
            self._save()

    @property
    def active(self) -> SigningKey:
        """The key to sign with now; re-read first if a replica sharing the file rotated (one stat call)."""
        self._reload_if_changed()
        return next(k for k in reversed(self._keys) if k.alg == self.alg and k.retired_at is None)

    def weak(self, now: float) -> SigningKey:
        """The wordlist key of lab flaw "weak-secret", made on first use (so other labs' randomness is untouched)."""
        with self._lock:
            if self._weak is None:
                self._weak = weak_key(self._random, now)
            return self._weak

    def unpublished(self, now: float) -> SigningKey:
        """The key of lab flaw "alg-confusion-hidden-key": made on first use, kept out of the JWK Set."""
        with self._lock:
            if self._unpublished is None:
                self._unpublished = unpublished_key(now)
            return self._unpublished

    def hmac_secrets(self, now: float) -> dict[str, bytes]:
        """The raw secrets of the usable HS256 keys by kid, for the lab flaws' key files and key table."""
        return {k.kid: k.signing_key for k in self._usable(now) if k.alg == "HS256"}

    def find(self, kid: str, now: float) -> SigningKey | None:
        """Return the key with this kid if it may still verify tokens; reload if another server rotated."""
        # A replica sharing the key file must see a rotation at once, a dropped key most of all: one stat().
        self._reload_if_changed()
        return self._find(kid, now)

    def _find(self, kid: str, now: float) -> SigningKey | None:
        return next((k for k in self._usable(now) if k.kid == kid), None)

    def _usable(self, now: float) -> list[SigningKey]:
        return [k for k in self._keys if k.alg == self.alg
                and (k.retired_at is None or now < k.retired_at + self._keep_for)]

    def jwks(self, now: float) -> dict:
        """The public JWK Set (RFC 7517 §5): empty for HS256, whose key is a shared secret."""
        self._reload_if_changed()
        return {"keys": [jwk for k in self._usable(now) if (jwk := k.public_jwk()) is not None]}

    def rotate(self, now: float) -> SigningKey:
        """Sign with a new key from now on; keep the old one for verification until its tokens expire."""
        with self._lock:
            if self._path and self._changed_on_disk():  # build on a replica's rotation, never undo it
                self._load()
            old = self.active
            retired = SigningKey(old.kid, old.alg, {**old.jwk, "lab_retired_at": now}, old.created_at, now)
            self._keys = [retired if k is old else k for k in self._usable(now)]
            self._keys.append(generate(self.alg, self._random, now))
            self._save()
            return self.active

    def rotate_now(self, now: float) -> tuple[SigningKey, list[str]]:
        """After a leak: sign with a new key and drop every old one at once, so no token signed before passes.

        Returns the new key and the kids dropped.
        """
        with self._lock:
            if self._path and self._changed_on_disk():  # build on a replica's rotation, never undo it
                self._load()
            dropped = [k.kid for k in self._usable(now)]
            self._keys = [generate(self.alg, self._random, now)]
            self._weak = None  # lab flaw "weak-secret": a cracked word goes too (a new one is drawn if still on)
            self._unpublished = None  # and a recovered key
            self._save()
            return self.active, dropped

    def _reload_if_changed(self) -> bool:
        """Re-read the file if another server replaced it; return whether it did."""
        if not self._path or not self._changed_on_disk():
            return False
        with self._lock:
            if self._changed_on_disk():
                self._load()
        return True

    def _changed_on_disk(self) -> bool:
        # Every save is a rename of a new file: a new inode, whatever the clock's resolution.
        try:
            return _signature(os.stat(self._path)) != self._mtime
        except OSError:
            return False

    def _load(self) -> None:
        # Stat first: if the file is replaced while we read, the next check sees a change and reads again.
        signature = _signature(os.stat(self._path))
        data = json.loads(self._path.read_text())
        self._keys = [SigningKey(j["kid"], j["alg"], j, j.get("lab_created_at", 0), j.get("lab_retired_at"))
                      for j in data.get("keys", [])]
        self._mtime = signature

    def _save(self) -> None:
        if not self._path:
            return
        # Private keys: readable by the owner only, written via an exclusive temporary file (labserver.storage.files).
        write_private(self._path, json.dumps({"keys": [k.jwk for k in self._keys]}, indent=2))
        self._mtime = _signature(os.stat(self._path))


def _signature(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_ino, st.st_mtime_ns, st.st_size
