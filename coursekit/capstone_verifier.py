"""Capstone task (b): a resource server's verify(token, now, jwks, issuer, audience), against the attack lab.

Each behaviour feeds the learner's function tokens from a fresh RS256 lab: genuine ones it must accept, and
forged or broken ones built with the attack lab's own tools (``coursekit.attacks``, ``coursekit.ex06``) it
must refuse. ``now`` is the lab clock's time; ``jwks`` is the lab's published JWK Set. A refusal is any
exception; accepting means returning the claims. The visible cases are one or two per behaviour; the hidden
cases are the rest of the battery.
"""

from __future__ import annotations

import jwt

import labserver
from coursekit.attacks import b64url_json, hs256_by_hand, serve_jwks
from coursekit.capstone import Behaviour, GradedByBehaviour
from coursekit.client import claims, http_session, log_in
from coursekit.ex06 import VerifyAgainstTheBattery, _algorithms_asked, _attacker_key, _server_private_key
from coursekit.exercise import Incorrect, require_function
from coursekit.lab import COURSE_START, fresh_lab
from labserver import LabServer

__all__ = ["ResourceServerVerifier"]

ALGORITHM = "RS256"


class _Lab:
    """A fresh RS256 lab, alice's genuine token, and the means to sign what a careless issuer or a thief would."""

    def __init__(self, lab: LabServer | None = None) -> None:
        self.lab = lab or fresh_lab(algorithm=ALGORITHM)
        self.alice = log_in(self.lab, "alice")["access_token"]
        self.header = jwt.get_unverified_header(self.alice)
        self.payload = claims(self.alice)
        self.admin = {**self.payload, "roles": ["admin"]}
        self.own_key = _server_private_key(self.lab, self.header["kid"])
        self.now = self.lab.clock.now()

    def jwks(self) -> dict:
        return http_session().get(self.lab.url + "/.well-known/jwks.json", timeout=10).json()

    def signed(self, payload: dict, **header) -> str:
        """Signed with the lab's own key: only what the verifier must check besides the signature is wrong."""
        fields = {"kid": self.header["kid"], "typ": "at+jwt", **header}
        return jwt.encode(payload, self.own_key, algorithm=fields.pop("alg", ALGORITHM), headers=fields)

    def pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization
        return self.own_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)


def _call(verify, lab: _Lab, token: str, now: float | None = None):
    return verify(token, lab.now if now is None else now, lab.jwks(), lab.lab.settings.issuer_id,
                  lab.lab.settings.audience)


def _refuses(verify, lab: _Lab, cases: list[tuple[str, str, float | None]], why: str) -> None:
    """Every (what it is, token, now or None) must be refused; else say which and why."""
    for label, token, now in cases:
        try:
            _call(verify, lab, token, now)
        except Exception:  # noqa: BLE001 - a refusal, whatever it raises
            continue
        raise Incorrect(f"your verifier accepted {label}: {why}")


def _verify(verify):
    return require_function(verify, "verify")


def _genuine(verify, hidden: bool) -> None:
    lab = _Lab()
    cases = [("alice's genuine token", lab.alice, None, "alice")]
    _accepts(verify, lab, cases)
    if hidden:
        admin = log_in(lab.lab, "admin")["access_token"]
        _accepts(verify, lab, [("admin's genuine token one second before it expires", admin,
                                claims(admin)["exp"] - 1, "admin")])
        # A key rotation on a lab of its own: lab resets keep keys, and other checks share fresh_lab's.
        with labserver.start(algorithm=ALGORITHM, frozen_at=COURSE_START,
                             issuer="https://rotating.jwt-course.test") as server:
            rotating = _Lab(server)
            server.rotate_keys()  # a new signing key; the old one stays published, its tokens still good
            newer = log_in(server, "bob")["access_token"]
            _accepts(verify, rotating, [
                ("bob's token signed with the new key after a key rotation", newer, None, "bob"),
                ("alice's token signed with the old key after a key rotation", rotating.alice, None, "alice")])


def _accepts(verify, lab: _Lab, cases: list[tuple[str, str, float | None, str]]) -> None:
    """Every (what it is, token, now or None, username) must be accepted, its claims returned."""
    for label, token, now, username in cases:
        try:
            verified = _call(verify, lab, token, now)
        except Exception as error:  # noqa: BLE001 - any refusal of a genuine token is the mistake
            hint = (" PyJWT compared iat or exp with your computer's clock, but the lab lives in 2030: judge time "
                    "by now, with 'verify_exp' and 'verify_iat' off in options" if isinstance(
                        error, (jwt.ImmatureSignatureError, jwt.ExpiredSignatureError)) else "")
            raise Incorrect(f"your verifier refused {label}: {type(error).__name__}: {error}.{hint}") from None
        if not isinstance(verified, dict) or verified.get("username") != username:
            raise Incorrect(f"verify should return the claims as a dict; for {label}, claims['username'] == "
                            f"'{username}', but it returned {verified!r:.80}")


def _alg_none(verify, hidden: bool) -> None:
    lab = _Lab()
    head, body, signature = lab.alice.split(".")
    spellings = ["none", "None", "NONE", "nOnE"] if hidden else ["none"]
    cases = [(f'a token with alg "{alg}" and no signature', f"{b64url_json({**lab.header, 'alg': alg})}."
              f"{b64url_json(lab.admin)}.", None) for alg in spellings]
    if hidden:
        cases.append(('a token with alg "none" that kept a signature',
                      f"{b64url_json({**lab.header, 'alg': 'none'})}.{b64url_json(lab.admin)}.{signature}", None))
    _refuses(verify, lab, cases, "alg none means unsigned. Pin the algorithm: algorithms=['RS256'] (RFC 8725 §3.1)")


def _pinned_algorithm(verify, hidden: bool) -> None:
    lab = _Lab()
    cases = [("an HS256 token keyed with the lab's public key (PEM)",
              hs256_by_hand({**lab.header, "alg": "HS256"}, lab.admin, lab.pem()), None)]
    if hidden:
        cases += [("a token signed with PS256 by the lab's own key", lab.signed(lab.admin, alg="PS256"), None),
                  ("an HS256 token keyed with the JWK's modulus text",
                   hs256_by_hand({**lab.header, "alg": "HS256"}, lab.admin, lab.jwks()["keys"][0]["n"].encode()),
                   None)]
    with _algorithms_asked() as asked:
        _refuses(verify, lab, cases, "the token chose its algorithm. Pin algorithms=['RS256'] (RFC 8725 §3.1)")
    chosen = sorted({alg for algs in asked for alg in algs if alg != ALGORITHM})
    if chosen:
        raise Incorrect(f"your verifier let PyJWT accept {chosen}, taken from the token: any refusal was PyJWT's "
                        "key check, not yours. Pin algorithms=['RS256'] (RFC 8725 §3.1)")


def _key_source(verify, hidden: bool) -> None:
    lab = _Lab()
    mine = _attacker_key()
    jwk = VerifyAgainstTheBattery._attacker_jwk
    cases = [("a token signed with the key its own jwk header carries",
              jwt.encode(lab.admin, mine, algorithm=ALGORITHM,
                         headers={"kid": "from-jwk", "typ": "at+jwt", "jwk": jwk("from-jwk")}), None)]
    if hidden:
        cases += [("a token signed by another key under the lab's kid",
                   jwt.encode(lab.admin, mine, algorithm=ALGORITHM, headers={"kid": lab.header["kid"],
                                                                             "typ": "at+jwt"}), None),
                  ('a token whose kid climbs to /dev/null (an empty HMAC secret)',
                   hs256_by_hand({**lab.header, "alg": "HS256", "kid": "../../../../../dev/null"}, lab.admin, b""),
                   None),
                  ("a token whose kid is SQL that selects the attacker's secret",
                   hs256_by_hand({**lab.header, "alg": "HS256", "kid": "x' UNION SELECT 'my-secret' --"},
                                 lab.admin, b"my-secret"), None),
                  ("a token signed with a common word from the wordlist", hs256_by_hand(
                      {**lab.header, "alg": "HS256"}, lab.admin, b"secret"), None)]
        with serve_jwks({"keys": [jwk("from-jku")]}) as jku:
            cases.append(("a token whose jku header points to the attacker's JWK Set",
                          jwt.encode(lab.admin, mine, algorithm=ALGORITHM,
                                     headers={"kid": "from-jku", "typ": "at+jwt", "jku": jku}), None))
            _refuses(verify, lab, cases, "take keys only from the lab's JWK Set, by kid (RFC 8725 §3.10)")
            return
    _refuses(verify, lab, cases, "take keys only from the lab's JWK Set, by kid (RFC 8725 §3.10)")


def _expiry(verify, hidden: bool) -> None:
    lab = _Lab()
    exp = lab.payload["exp"]
    cases = [("alice's token a minute after it expired by the lab clock", lab.alice, exp + 60)]
    if hidden:
        no_exp = {k: v for k, v in lab.payload.items() if k != "exp"}
        cases += [("alice's token at the very second it expires", lab.alice, exp),
                  ("a token without exp, signed with the lab's key", lab.signed(no_exp), None),
                  ("alice's token a day after it expired", lab.alice, exp + 86400)]
    _refuses(verify, lab, cases, "compare exp with now (the lab clock): expired when now >= exp, and exp is "
             "required. PyJWT's own check reads your computer's clock, years before the lab's 2030")


def _audience(verify, hidden: bool) -> None:
    lab = _Lab()
    cases = [("a token for another audience ('billing-api')", lab.signed({**lab.payload, "aud": "billing-api"}), None)]
    if hidden:
        cases += [("a token without aud", lab.signed({k: v for k, v in lab.payload.items() if k != "aud"}), None),
                  ("a token for ['billing-api', 'reports']",
                   lab.signed({**lab.payload, "aud": ["billing-api", "reports"]}), None)]
    _refuses(verify, lab, cases, "a token meant for another service must not open this one: pass "
             "audience=audience and require aud (RFC 8725 §3.9)")


def _issuer(verify, hidden: bool) -> None:
    lab = _Lab()
    cases = [("a token from another issuer", lab.signed({**lab.payload, "iss": "https://staging.jwt-course.test"}),
              None)]
    if hidden:
        cases += [("a token without iss", lab.signed({k: v for k, v in lab.payload.items() if k != "iss"}), None)]
    _refuses(verify, lab, cases, "pass issuer=issuer and require iss (RFC 8725 §3.8)")


def _typ(verify, hidden: bool) -> None:
    lab = _Lab()
    cases = [('a token with typ "JWT" (not an access token)', lab.signed(lab.payload, typ="JWT"), None)]
    if hidden:
        cases += [("a token without typ", jwt.encode(lab.payload, lab.own_key, algorithm=ALGORITHM,
                                                      headers={"kid": lab.header["kid"], "typ": None}), None),
                  ('a token with typ "id+jwt"', lab.signed(lab.payload, typ="id+jwt"), None)]
    _refuses(verify, lab, cases, "an access token says typ at+jwt (RFC 9068 §4, RFC 8725 §3.11): check the "
             "header's typ")


def _format(verify, hidden: bool) -> None:
    lab = _Lab()
    head, _body, signature = lab.alice.split(".")
    cases = [("alice's token with roles changed to admin after signing",
              f"{head}.{b64url_json(lab.admin)}.{signature}", None)]
    if hidden:
        cases += [("alice's token with '=' padding added to its signature",
                   f"{lab.alice}{'=' * (-len(signature) % 4)}", None),
                  ("alice's token with a fourth segment", f"{lab.alice}.{signature}", None)]
    _refuses(verify, lab, cases, "verify the signature over the segments exactly as they are; RFC 7515 §2 "
             "segments have no '=' padding")


class ResourceServerVerifier(GradedByBehaviour):
    title = "A resource server's verify()"
    behaviours = (
        Behaviour("genuine", "accepts genuine tokens", 2, lambda v, h: _genuine(_verify(v), h)),
        Behaviour("alg-none", "refuses alg none, in any casing", 1, lambda v, h: _alg_none(_verify(v), h)),
        Behaviour("algorithm", "pins the algorithm (no confusion)", 2, lambda v, h: _pinned_algorithm(_verify(v), h)),
        Behaviour("keys", "takes keys only from the JWK Set", 2, lambda v, h: _key_source(_verify(v), h)),
        Behaviour("expiry", "judges expiry by the lab clock", 2, lambda v, h: _expiry(_verify(v), h)),
        Behaviour("audience", "checks the audience", 1, lambda v, h: _audience(_verify(v), h)),
        Behaviour("issuer", "checks the issuer", 1, lambda v, h: _issuer(_verify(v), h)),
        Behaviour("typ", "checks typ at+jwt", 1, lambda v, h: _typ(_verify(v), h)),
        Behaviour("format", "refuses tampered and malformed tokens", 1, lambda v, h: _format(_verify(v), h)),
    )
    _hints = [
        "Three decisions are the server's, never the token's: the algorithm (algorithms=['RS256']), the key "
        "(jwt.PyJWKSet.from_dict(jwks)[kid]) and the claims (audience, issuer, required exp).",
        "Time: pass options={'require': ['exp', 'iss', 'aud'], 'verify_exp': False, 'verify_iat': False} and "
        "refuse when now >= claims['exp']. Type: jwt.get_unverified_header(token)['typ'] must be 'at+jwt'.",
        "Format: refuse a token containing '=' before anything else; PyJWT would accept padded base64url.",
    ]
    _solution = """
        def verify(token: str, now: float, jwks: dict, issuer: str, audience: str) -> dict:
            \"\"\"The claims of a genuine access token of this lab; raise for anything else.\"\"\"
            if "=" in token:  # RFC 7515 §2: no padding; PyJWT would accept a padded segment
                raise jwt.DecodeError("token is malformed")
            header = jwt.get_unverified_header(token)
            if header.get("typ") != "at+jwt":  # RFC 9068 §4: an access token, not any JWT
                raise jwt.InvalidTokenError("not an access token")
            key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]  # only the server's own keys (KeyError otherwise)
            verified = jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=issuer,
                                  options={"require": ["exp", "iss", "aud"],
                                           "verify_exp": False, "verify_iat": False})  # the lab clock, below
            if now >= verified["exp"]:
                raise jwt.ExpiredSignatureError("expired by the lab clock")
            return verified
    """
