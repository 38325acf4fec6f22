"""Capstone task (b): a resource server's verify(token, now, jwks, issuer, audience), against the attack lab.

Each behaviour feeds the learner's function tokens from a fresh RS256 lab: genuine ones it must accept, and
forged or broken ones built with the attack lab's own tools (``coursekit.labtools.attacks``, ``coursekit.exercises.ex06``) it
must refuse. ``now`` is the lab clock's time; ``jwks`` is the lab's published JWK Set. A refusal is any
exception; accepting means returning the claims. The visible cases are one or two per behaviour; the hidden
cases are the rest of the battery.
"""

from __future__ import annotations

import contextlib
import importlib

import jwt

from coursekit.exercises.ex09.tokenlab import ALGORITHM, TokenLab, call
from coursekit.kit.behaviours import Behaviour, GradedByBehaviour
from coursekit.kit.exercise import ANSWERS_PACKAGE, Incorrect, require_function
from coursekit.labtools.attacks import b64url_json, hs256_by_hand
from coursekit.labtools.verifier_probes import (LEEWAY_LIMIT, RETURNED_NOTHING, TYP_IS_A_MEDIA_TYPE, TYP_SPELLINGS,
                                                algorithms_given_to_pyjwt, allow_list_fault, allows_none,
                                                attacker_jwk, attacker_key, claim_probes, refused_by_pyjwt_clock,
                                                returned_nothing)

__all__ = ["ResourceServerVerifier"]

# The course's leeway rule: coursekit.labtools.verifier_probes.LEEWAY_LIMIT.
EXPIRY_RULE = ("compare exp with now (the lab clock), exp required: expired when now >= exp + leeway, and the "
               f"course allows a leeway of at most {LEEWAY_LIMIT} s. PyJWT's own check reads your computer's clock, "
               "years before the lab's 2030")

def _refuses(verify, lab: TokenLab, cases: list[tuple[str, str, float | None]], why: str) -> None:
    """Every (what it is, token, now or None) must be refused; else say which and why."""
    for label, token, now, *advice in cases:
        try:
            result = call(verify, lab, token, now)
        except Exception:  # noqa: BLE001 - a refusal, whatever it raises
            continue
        if returned_nothing(result):
            raise Incorrect("your verifier: " + RETURNED_NOTHING.format(value=result, what=label))
        raise Incorrect(f"your verifier accepted {label}: {advice[0] if advice else why}")


def _near_misses(lab: TokenLab, topic: str, hidden: bool) -> list:
    """The shared near misses of this topic (coursekit.labtools.verifier_probes), graded with the hidden cases:
    (what it is, token, None, advice)."""
    if not hidden:
        return []
    return [(what, token, None, advice) for kind, what, token, advice in claim_probes(
        lab.signed, lab.payload, lab.lab.settings.issuer_id, lab.lab.settings.audience) if kind == topic]


def _verify(verify):
    return require_function(verify, "verify")


@contextlib.contextmanager
def _hidden(behaviour: str, lab: TokenLab, hidden: bool):
    """The hidden cases of a behaviour (``coursekit.answers.ex09``), while they are needed; none when not graded."""
    if not hidden:
        yield []
        return
    try:
        answers = importlib.import_module(f"{ANSWERS_PACKAGE}.ex09")
    except ModuleNotFoundError:
        raise Incorrect("the hidden cases are not part of this copy of the course") from None
    with answers.verifier_hidden_cases(behaviour, lab) as cases:
        yield cases


def _checks_signatures(verify, lab: TokenLab, behaviour: str) -> None:
    """A behaviour about claims or accepting is earned only by a verifier that checks signatures at all."""
    forged = jwt.encode(lab.payload, attacker_key(), algorithm=ALGORITHM,
                        headers={"kid": lab.header["kid"], "typ": "at+jwt"})
    try:
        result = call(verify, lab, forged)
    except Exception:  # noqa: BLE001 - refused, as it must be
        return
    if returned_nothing(result):
        raise Incorrect("your verifier: " + RETURNED_NOTHING.format(
            value=result, what="alice's claims signed by a key that is not the lab's"))
    raise Incorrect(f"your verifier accepted alice's claims signed by a key that is not the lab's (under the lab's "
                    f"kid): it does not check the signature, so {behaviour} means nothing yet. Verify with the "
                    "lab's key from the JWK Set (jwt.decode with the key and algorithms=['RS256'])")


def _genuine(verify, hidden: bool) -> None:
    lab = TokenLab()
    with _hidden("genuine", lab, hidden) as groups:  # (the lab they come from, its cases): a rotation has its own
        _checks_signatures(verify, lab, "accepting genuine tokens")
        _accepts(verify, lab, [("alice's genuine token", lab.alice, None, "alice")])
        for other_lab, cases in groups:
            _accepts(verify, other_lab, cases)


def _accepts(verify, lab: TokenLab, cases: list[tuple[str, str, float | None, str]], why: str = "") -> None:
    """Every (what it is, token, now or None, username) must be accepted, its claims returned."""
    for label, token, now, username in cases:
        try:
            verified = call(verify, lab, token, now)
        except Exception as error:  # noqa: BLE001 - any refusal of a genuine token is the mistake
            hint = (" PyJWT compared iat or exp with your computer's clock, but the lab lives in 2030: judge time "
                    "by now, with 'verify_exp' and 'verify_iat' off in options" if refused_by_pyjwt_clock(error)
                    else f" A token is valid while now < exp: expired only when now >= exp + leeway, the leeway (at "
                    f"most {LEEWAY_LIMIT} s) added to exp, never taken from it" if now is not None and isinstance(
                        error, (jwt.ImmatureSignatureError, jwt.ExpiredSignatureError)) else "")
            raise Incorrect(f"your verifier refused {label}: {type(error).__name__}: {error}.{hint or why}") from None
        if not isinstance(verified, dict) or verified.get("username") != username:
            raise Incorrect(f"verify should return the claims as a dict; for {label}, claims['username'] == "
                            f"'{username}', but it returned {verified!r:.80}")


def _refused_with_hidden(behaviour: str, verify, lab: TokenLab, cases: list, hidden: bool, why: str,
                         earned_by: str = "", near_misses: str = "") -> None:
    """Every case, visible and hidden, must be refused; ``earned_by`` names a behaviour that also needs the
    verifier to check signatures at all (after the hidden cases are found, so a missing copy says so first)."""
    with _hidden(behaviour, lab, hidden) as more:
        if earned_by:
            _checks_signatures(verify, lab, earned_by)
        _refuses(verify, lab, cases + more + (_near_misses(lab, near_misses, hidden) if near_misses else []), why)


def _alg_none(verify, hidden: bool) -> None:
    lab = TokenLab()
    cases = [('a token with alg "none" and no signature',
              f"{b64url_json({**lab.header, 'alg': 'none'})}.{b64url_json(lab.admin)}.", None)]
    with algorithms_given_to_pyjwt() as seen:
        _refused_with_hidden("alg-none", verify, lab, cases, hidden,
                             "alg none means unsigned. Pin the algorithm: algorithms=['RS256'] (RFC 8725 §3.1)")
    # Only none is this behaviour's business: a list that allows HS256 too loses the algorithm behaviour.
    if allows_none(seen):
        allowed = next(algs for _alg, algs in seen if isinstance(algs, list) and
                       any(str(a).lower() == "none" for a in algs))
        raise Incorrect(f"your verifier let PyJWT accept {sorted({a for a in allowed if str(a).lower() == 'none'})} "
                        f"(its allow-list was {allowed!r}): any refusal was PyJWT's, not "
                        "yours. Pin algorithms=['RS256'] (RFC 8725 §3.1)")


def _pinned_algorithm(verify, hidden: bool) -> None:
    lab = TokenLab()
    cases = [("an HS256 token keyed with the lab's public key (PEM)",
              hs256_by_hand({**lab.header, "alg": "HS256"}, lab.admin, lab.pem()), None)]
    with algorithms_given_to_pyjwt() as seen:
        with contextlib.suppress(Exception):  # alice's genuine token: what the allow-list is when nothing is wrong
            call(verify, lab, lab.alice)
        _refused_with_hidden("algorithm", verify, lab, cases, hidden,
                             "the token chose its algorithm. Pin algorithms=['RS256'] (RFC 8725 §3.1)")
    # A refusal counts only if the verifier pinned the algorithm, not if PyJWT refused for it.
    fault = allow_list_fault(seen, ALGORITHM)
    if fault is not None:
        raise Incorrect(f"your verifier {fault}")


def _key_source(verify, hidden: bool) -> None:
    lab = TokenLab()
    earned_by = "taking keys from the JWK Set"
    cases = [("a token signed with the key its own jwk header carries",
              jwt.encode(lab.admin, attacker_key(), algorithm=ALGORITHM,
                         headers={"kid": "from-jwk", "typ": "at+jwt", "jwk": attacker_jwk("from-jwk")}), None)]
    _refused_with_hidden("keys", verify, lab, cases, hidden,
                         "take keys only from the lab's JWK Set, by kid (RFC 8725 §3.10)", earned_by)


def _expiry(verify, hidden: bool) -> None:
    lab = TokenLab()
    earned_by = "judging expiry"
    cases = [(f"alice's token {LEEWAY_LIMIT} s after its exp by the lab clock", lab.alice,
              lab.payload["exp"] + LEEWAY_LIMIT)]
    _refused_with_hidden("expiry", verify, lab, cases, hidden, EXPIRY_RULE, earned_by)


def _audience(verify, hidden: bool) -> None:
    lab = TokenLab()
    earned_by = "checking the audience"
    cases = [("a token for another audience ('billing-api')", lab.signed({**lab.payload, "aud": "billing-api"}), None)]
    _refused_with_hidden("audience", verify, lab, cases, hidden, "a token meant for another service must not "
                         "open this one: pass audience=audience and require aud (RFC 8725 §3.9)", earned_by,
                         near_misses="audience")


def _issuer(verify, hidden: bool) -> None:
    lab = TokenLab()
    earned_by = "checking the issuer"
    cases = [("a token from another issuer", lab.signed({**lab.payload, "iss": "https://staging.jwt-course.test"}),
              None)]
    _refused_with_hidden("issuer", verify, lab, cases, hidden, "pass issuer=issuer and require iss (RFC 8725 §3.8)",
                         earned_by, near_misses="issuer")


def _typ(verify, hidden: bool) -> None:
    lab = TokenLab()
    earned_by = "checking typ"
    cases = [('a token with typ "JWT" (not an access token)', lab.signed(lab.payload, typ="JWT"), None)]
    _refused_with_hidden("typ", verify, lab, cases, hidden, "an access token says typ at+jwt (RFC 9068 §4, "
                         "RFC 8725 §3.11): check the header's typ", earned_by, near_misses="typ")
    # typ is a media type (RFC 7515 §4.1.9): compared without case, "application/" may be left out.
    _accepts(verify, lab, [(f'a genuine token whose header says typ "{typ}"', lab.signed(lab.payload, typ=typ),
                            None, "alice") for typ in reversed(TYP_SPELLINGS)], why=f" {TYP_IS_A_MEDIA_TYPE}")


def _format(verify, hidden: bool) -> None:
    lab = TokenLab()
    head, _body, signature = lab.alice.split(".")
    cases = [("alice's token with roles changed to admin after signing",
              f"{head}.{b64url_json(lab.admin)}.{signature}", None)]
    _refused_with_hidden("format", verify, lab, cases, hidden, "verify the signature over the segments exactly "
                         "as they are; RFC 7515 §2 segments have no '=' padding")


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
        "refuse when now >= claims['exp'] + leeway (at most 60 s). Type: the header's typ is a media type: "
        "typ.lower().removeprefix('application/') must be 'at+jwt'.",
        "Format: refuse a token containing '=' before anything else; PyJWT would accept padded base64url.",
    ]
