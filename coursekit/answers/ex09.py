"""The capstone's reference solutions (``SOLUTIONS``, by class name) and its hidden cases.

Kept apart from the checks (``coursekit.exercises.ex09``) so that a classroom build can leave them out: a
graded run adds these cases to the visible ones, behaviour by behaviour.
"""

from __future__ import annotations

import contextlib

import jwt

import labserver
from coursekit.exercises.ex09.tokenlab import ALGORITHM, TokenLab
from coursekit.labtools.attacks import (b64url_json, certificate_pem, hs256_by_hand, self_signed_certificate,
                                        serve_jwks, serve_text, x5c_of)
from coursekit.labtools.client import claims, log_in
from coursekit.labtools.lab import COURSE_START
from coursekit.kit.grading.secret_cases import drawn
from coursekit.labtools.verifier_probes import attacker_jwk, attacker_key



def client_hidden_cases() -> dict:
    """The client's hidden run: another user, more calls, more expiries, more racing callers, and two steps more
    (a refresh after recovering from a revocation; a second call after giving up).

    The numbers are drawn (``coursekit.kit.grading.secret_cases``): from the course folder's secret while a class is
    graded, so that a client tuned to this public file's cases meets others. The visible run's values are in
    coursekit.exercises.ex09.client.VISIBLE.
    """
    rng = drawn("ex09.q1")
    return {"user": rng.choice(["bob", "admin"]), "calls": rng.randint(2, 4), "expiries": rng.randint(5, 9),
            "callers": rng.randint(3, 5), "after_recovery": True, "second_try": True}

SOLUTIONS = {
    "ResilientClient": """
        class TokenClient:
            \"\"\"A first-party client of the lab API: logs in once, refreshes with rotation, one refresh at a time.\"\"\"

            def __init__(self, base_url: str, username: str, password: str):
                self.base_url, self.username, self.password = base_url, username, password
                self.http = requests.Session()
                self.http.trust_env = False  # loopback: no proxies or CA bundles from the environment
                self.lock = threading.Lock()
                self.access_token = self.refresh_token = None

            def get(self, path: str) -> requests.Response:
                token = self.access_token or self._renew(None)
                r = self.http.get(self.base_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
                if r.status_code == 401:  # expired (or revoked): renew once and retry once
                    token = self._renew(token)
                    r = self.http.get(self.base_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
                return r

            def _renew(self, stale):
                \"\"\"A fresh access token: refresh (one caller at a time), else log in again; at most one of each.\"\"\"
                with self.lock:
                    if self.access_token != stale:  # another caller renewed it while we waited
                        return self.access_token
                    if self.refresh_token:
                        r = self._token(grant_type="refresh_token", refresh_token=self.refresh_token)
                        if r.status_code == 200:
                            return self._keep(r.json())
                    r = self._token(grant_type="password", username=self.username, password=self.password)
                    r.raise_for_status()  # a refused password: give up, do not loop
                    return self._keep(r.json())

            def _token(self, **form) -> requests.Response:
                return self.http.post(self.base_url + "/oauth/token", data=form, timeout=10)

            def _keep(self, answer: dict) -> str:
                self.access_token, self.refresh_token = answer["access_token"], answer["refresh_token"]
                return self.access_token
    """,
    "ResourceServerVerifier": """
        def verify(token: str, now: float, jwks: dict, issuer: str, audience: str) -> dict:
            \"\"\"The claims of a genuine access token of this lab; raise for anything else.\"\"\"
            if "=" in token:  # RFC 7515 §2: no padding; PyJWT would accept a padded segment
                raise jwt.DecodeError("token is malformed")
            header = jwt.get_unverified_header(token)
            typ = str(header.get("typ", "")).lower()  # a media type (RFC 7515 §4.1.9): any case, prefix optional
            if typ.removeprefix("application/") != "at+jwt":  # RFC 9068 §4: an access token, not any JWT
                raise jwt.InvalidTokenError("not an access token")
            key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]  # only the server's own keys (KeyError otherwise)
            verified = jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=issuer,
                                  options={"require": ["exp", "iss", "aud"],
                                           "verify_exp": False, "verify_iat": False})  # the lab clock, below
            if now >= verified["exp"]:
                raise jwt.ExpiredSignatureError("expired by the lab clock")
            return verified
    """,
}


@contextlib.contextmanager
def verifier_hidden_cases(behaviour: str, lab: TokenLab):
    """The hidden cases of one verifier behaviour, valid while the ``with`` block runs (some need a server).

    For "genuine": groups of (the lab they come from, [(label, token, now or None, username)]); for every other
    behaviour: [(label, token, now or None)] that must be refused.
    """
    if behaviour == "genuine":
        admin = log_in(lab.lab, "admin")["access_token"]
        # A key rotation on a lab of its own: lab resets keep keys, and other checks share fresh_lab's.
        with labserver.start(algorithm=ALGORITHM, frozen_at=COURSE_START,
                             issuer="https://rotating.jwt-course.test") as server:
            rotating = TokenLab(server)
            server.rotate_keys()  # a new signing key; the old one stays published, its tokens still good
            newer = log_in(server, "bob")["access_token"]
            yield [(lab, [("admin's genuine token one second before it expires", admin, claims(admin)["exp"] - 1,
                           "admin")]),
                   (rotating, [("bob's token signed with the new key after a key rotation", newer, None, "bob"),
                               ("alice's token signed with the old key after a key rotation", rotating.alice, None,
                                "alice")])]
        return
    if behaviour == "keys":
        certificate = self_signed_certificate(attacker_key())
        with serve_jwks({"keys": [attacker_jwk("from-jku")]}) as jku, \
                serve_text(certificate_pem(certificate), "/attacker.pem") as x5u:
            yield _key_cases(lab, jku, x5u, certificate)
        return
    yield _REFUSED[behaviour](lab)


def _other_casings(word: str, count: int, label: str) -> list[str]:
    """``count`` spellings of word in other letter cases, drawn for this course folder."""
    rng, found = drawn(label), set()
    while len(found) < count:
        spelling = "".join(ch.upper() if rng.random() < 0.5 else ch for ch in word)
        if spelling != word:
            found.add(spelling)
    return sorted(found)


def _alg_none(lab: TokenLab) -> list:
    signature = lab.alice.split(".")[2]
    return [(f'a token with alg "{alg}" and no signature',
             f"{b64url_json({**lab.header, 'alg': alg})}.{b64url_json(lab.admin)}.", None)
            for alg in _other_casings("none", 3, "ex09.q2.alg-none")] + [
        ('a token with alg "none" that kept a signature',
         f"{b64url_json({**lab.header, 'alg': 'none'})}.{b64url_json(lab.admin)}.{signature}", None)]


def _algorithm(lab: TokenLab) -> list:
    return [("a token signed with PS256 by the lab's own key", lab.signed(lab.admin, alg="PS256"), None),
            ("an HS256 token keyed with the JWK's modulus text",
             hs256_by_hand({**lab.header, "alg": "HS256"}, lab.admin, lab.jwks()["keys"][0]["n"].encode()), None)]


def _key_cases(lab: TokenLab, jku: str, x5u: str, certificate) -> list:
    mine = attacker_key()
    return [("a token signed by another key under the lab's kid",
             jwt.encode(lab.admin, mine, algorithm=ALGORITHM, headers={"kid": lab.header["kid"], "typ": "at+jwt"}),
             None),
            ("a token whose kid climbs to /dev/null (an empty HMAC secret)",
             hs256_by_hand({**lab.header, "alg": "HS256", "kid": "../../../../../dev/null"}, lab.admin, b""), None),
            ("a token whose kid is SQL that selects the attacker's secret",
             hs256_by_hand({**lab.header, "alg": "HS256", "kid": "x' UNION SELECT 'my-secret' --"}, lab.admin,
                           b"my-secret"), None),
            ("a token signed with a common word from the wordlist",
             hs256_by_hand({**lab.header, "alg": "HS256"}, lab.admin, b"secret"), None),
            ("a token whose jku header points to the attacker's JWK Set",
             jwt.encode(lab.admin, mine, algorithm=ALGORITHM,
                        headers={"kid": "from-jku", "typ": "at+jwt", "jku": jku}), None),
            ("a token signed with the key of the certificate its own x5c header carries",
             jwt.encode(lab.admin, mine, algorithm=ALGORITHM,
                        headers={"kid": "from-x5c", "typ": "at+jwt", "x5c": x5c_of(certificate)}), None),
            ("a token whose x5u header points to the attacker's certificate",
             jwt.encode(lab.admin, mine, algorithm=ALGORITHM,
                        headers={"kid": "from-x5u", "typ": "at+jwt", "x5u": x5u}), None)]


def _expiry(lab: TokenLab) -> list:
    exp = lab.payload["exp"]
    no_exp = {k: v for k, v in lab.payload.items() if k != "exp"}
    hours = drawn("ex09.q2.expiry").randint(2, 24 * 30)
    return [("alice's token two minutes after it expired", lab.alice, exp + 120),
            ("a token without exp, signed with the lab's key", lab.signed(no_exp), None),
            (f"alice's token {hours} hours after it expired", lab.alice, exp + hours * 3600)]


def _audience(lab: TokenLab) -> list:
    others = drawn("ex09.q2.audience").sample(["billing-api", "reports", "admin-api", "mobile", "partner-api",
                                               "metrics", "search"], 2)
    return [("a token without aud", lab.signed({k: v for k, v in lab.payload.items() if k != "aud"}), None),
            (f"a token for {others}", lab.signed({**lab.payload, "aud": others}), None)]


def _issuer(lab: TokenLab) -> list:
    other = f"https://{drawn('ex09.q2.issuer').choice(['staging', 'sso', 'auth-eu', 'legacy', 'test'])}.jwt-course.test"
    return [("a token without iss", lab.signed({k: v for k, v in lab.payload.items() if k != "iss"}), None),
            (f"a token from {other}", lab.signed({**lab.payload, "iss": other}), None)]


def _typ(lab: TokenLab) -> list:
    return [("a token without typ", jwt.encode(lab.payload, lab.own_key, algorithm=ALGORITHM,
                                                headers={"kid": lab.header["kid"], "typ": None}), None),
            ('a token with typ "id+jwt"', lab.signed(lab.payload, typ="id+jwt"), None)]


def _format(lab: TokenLab) -> list:
    signature = lab.alice.split(".")[2]
    return [("alice's token with '=' padding added to its signature", f"{lab.alice}{'=' * (-len(signature) % 4)}",
             None),
            ("alice's token with a fourth segment", f"{lab.alice}.{signature}", None)]


_REFUSED = {"alg-none": _alg_none, "algorithm": _algorithm, "expiry": _expiry, "audience": _audience,
            "issuer": _issuer, "typ": _typ, "format": _format}
