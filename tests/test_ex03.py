"""Exercises of notebook 03: every reference solution passes, and typical mistakes fail with a useful message."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
import requests

from coursekit.exercises.ex03 import RFC7515_A1, q1, q2, q3
from coursekit.kit.exercise import ____, Status
from coursekit.labtools.lab import start_lab, stop_lab
from coursekit.pictures.tokenview import decode_segment
from exercise_helpers import incorrect, solution_names

ALICE = {"grant_type": "password", "username": "alice", "password": "alice-password"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def solve(exercise, **names) -> dict:
    """Run the exercise's reference solution with the notebook's imports and the given names; return what it defined."""
    return solution_names(exercise, base64=base64, hashlib=hashlib, hmac=hmac, json=json, jwt=jwt, **names)


def login(server, form=ALICE) -> str:
    response = server.http.post(server.url + "/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def parts(token: str) -> tuple[dict, dict]:
    header_b64, payload_b64, _ = token.split(".")
    return json.loads(decode_segment(header_b64)), json.loads(decode_segment(payload_b64))


@pytest.fixture(scope="module")
def hs():
    yield start_lab("test-ex03-hs")
    stop_lab("test-ex03-hs")


@pytest.fixture(scope="module")
def alice(hs):
    """Alice's HS256 token from the lab, with its header and payload, as the notebook has them."""
    token = login(hs)
    header, payload = parts(token)
    return token, header, payload


# --- q1: decode the payload -----------------------------------------------------------------------

LOCAL_TOKEN = jwt.encode({"sub": "alice", "roles": ["user"], "exp": 1894008600}, "k" * 32, algorithm="HS256")


def test_q1_reference_solution_decodes_the_lab_token_and_fresh_ones(alice):
    token = alice[0]
    assert q1.evaluate(solve(q1)["decode_payload"], token).status is Status.CORRECT


def test_q1_forgetting_the_padding_is_explained():
    def decode_payload(token):
        return json.loads(base64.urlsafe_b64decode(token.split(".")[1]))

    incorrect(q1.evaluate(decode_payload, LOCAL_TOKEN), "Incorrect padding", "'=' * (-len(segment) % 4)")


def test_q1_the_standard_alphabet_is_caught_by_a_payload_with_dash_and_underscore():
    def decode_payload(token):
        segment = token.split(".")[1]
        return json.loads(base64.b64decode(segment + "=" * (-len(segment) % 4)))

    incorrect(q1.evaluate(decode_payload, LOCAL_TOKEN), "urlsafe_b64decode", "'-' and '_'")


def test_q1_decoding_the_header_instead_is_explained():
    def decode_payload(token):
        return json.loads(decode_segment(token.split(".")[0]))

    incorrect(q1.evaluate(decode_payload, LOCAL_TOKEN), "that is the header", "middle one")


@pytest.mark.parametrize("result, fragment", [
    (lambda token: decode_segment(token.split(".")[1]), "returns bytes"),
    (lambda token: decode_segment(token.split(".")[1]).decode(), "JSON text as a str"),
    (lambda token: token.split(".")[1], "still base64url"),
])
def test_q1_returning_bytes_or_text_instead_of_a_dict_is_explained(result, fragment):
    incorrect(q1.evaluate(result, LOCAL_TOKEN), fragment, "json.loads")


def test_q1_a_function_still_holding_blanks_is_not_answered_yet():
    def decode_payload(token):
        segment = ____
        return segment

    outcome = q1.evaluate(decode_payload, LOCAL_TOKEN)
    assert outcome.status is Status.NOT_ANSWERED
    assert "q1.hint()" in outcome.message


def test_q1_a_value_instead_of_a_function_is_explained():
    incorrect(q1.evaluate({"sub": "alice"}, LOCAL_TOKEN), "pass your function itself")


# --- q2: compute the signature --------------------------------------------------------------------

def test_q2_the_rfc_7515_a1_constants_give_the_rfc_signature():
    signing_input = f"{b64url(RFC7515_A1['header'])}.{b64url(RFC7515_A1['payload'])}"
    assert signing_input == (
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ")
    mac = hmac.new(decode_segment(RFC7515_A1["k"]), signing_input.encode(), hashlib.sha256).digest()
    assert b64url(mac) == RFC7515_A1["signature"] == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def test_q2_reference_solution_matches_hmac_and_the_rfc():
    outcome = q2.evaluate(solve(q2)["sign"])
    assert outcome.status is Status.CORRECT
    assert "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" in outcome.message


def _mac(signing_input, key, digestmod=hashlib.sha256):
    return hmac.new(key, signing_input, digestmod).digest()


@pytest.mark.parametrize("sign, fragments", [
    (lambda si, key: _mac(si, key).hex(), ["hex digest"]),
    (lambda si, key: base64.urlsafe_b64encode(_mac(si, key)).decode(), ["'=' padding"]),
    (lambda si, key: base64.b64encode(_mac(si, key)).rstrip(b"=").decode(), ["standard base64 alphabet"]),
    (lambda si, key: b64url(_mac(key, si)), ["swaps the key and the message"]),
    (lambda si, key: base64.urlsafe_b64encode(_mac(si, key)).rstrip(b"="), ["returns bytes", "decode"]),
    (lambda si, key: _mac(si, key), ["32 raw HMAC bytes"]),
    (lambda si, key: b64url(hashlib.sha256(key + si).digest()), ["plain SHA-256 hash"]),
    (lambda si, key: b64url(_mac(si, key, hashlib.sha1)), ["20 bytes", "hashlib.sha256"]),
    (lambda si, key: b64url(_mac(si.decode().encode(), key.encode())), ["AttributeError", "bytes already"]),
])
def test_q2_typical_mistakes_are_explained(sign, fragments):
    incorrect(q2.evaluate(sign), *fragments)


def test_q2_a_function_still_holding_blanks_is_not_answered_yet():
    def sign(signing_input, key):
        mac = hmac.new(key, signing_input, hashlib.sha256).digest()
        return ____ if mac else None

    assert q2.evaluate(sign).status is Status.NOT_ANSWERED


# --- q3: verify a token properly, at the lab's time ----------------------------------------------
# Each wrong verifier below is one a learner could plausibly write; the check runs it against a lab server
# of its own (coursekit.labtools.lab.fresh_lab) and must name what is wrong.

PYJWT_TIME_CHECKS_OFF = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
REQUIRE = {"require": ["iss", "sub", "aud", "exp", "iat", "jti"]}


def _key(token, jwks_url):
    return jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)


def _times(claims, now):
    """The reference's time checks against the lab's now."""
    if now >= claims["exp"]:
        raise jwt.ExpiredSignatureError("token has expired")
    if "nbf" in claims and now < claims["nbf"]:
        raise jwt.ImmatureSignatureError("token is not valid yet")
    if now < claims["iat"]:
        raise jwt.ImmatureSignatureError("token was issued in the future")
    return claims


def _typ(token):
    if str(jwt.get_unverified_header(token).get("typ", "")).lower().removeprefix("application/") != "at+jwt":
        raise jwt.InvalidTokenError("token type must be at+jwt")


def test_q3_reference_solution_is_correct():
    outcome = q3.evaluate(solve(q3)["verify"])
    assert outcome.status is Status.CORRECT, outcome.text
    assert "refused 26 bad ones" in outcome.message


def test_q3_a_hand_written_equivalent_with_a_plain_key_object_is_correct_too():
    def verify(token, jwks_url, issuer, now):
        keys = jwt.PyJWKSet.from_json(requests.get(jwks_url, timeout=10).text)
        key = keys[jwt.get_unverified_header(token)["kid"]].key          # the bare RSA public key
        _typ(token)
        claims = jwt.decode(token, key, algorithms=["RS256"], audience="lab-api", issuer=issuer,
                            options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        return _times(claims, now)

    assert q3.evaluate(verify).status is Status.CORRECT


def test_q3_a_token_chosen_algorithm_is_caught_even_though_pyjwt_refuses_it_on_its_own():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        claims = jwt.decode(token, _key(token, jwks_url), algorithms=[jwt.get_unverified_header(token)["alg"]],
                            audience="lab-api", issuer=issuer, options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        return _times(claims, now)

    incorrect(q3.evaluate(verify), "algorithms=['none']", "the token chose its own algorithm",
              "algorithms=['RS256']", "RFC 8725 §3.1", "06-attacks-and-defences.ipynb")


def test_q3_a_token_chosen_algorithm_with_a_bare_key_is_caught():
    def verify(token, jwks_url, issuer, now):
        alg = jwt.get_unverified_header(token)["alg"]
        if alg == "none":
            raise jwt.InvalidAlgorithmError("no unsigned tokens")    # a learner who blocked only the famous one
        _typ(token)
        claims = jwt.decode(token, _key(token, jwks_url).key, algorithms=[alg], audience="lab-api",
                            issuer=issuer, options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        return _times(claims, now)

    incorrect(q3.evaluate(verify), "algorithms=['RS512']", "the token chose its own algorithm",
              "not yours")


def test_q3_a_hand_rolled_verifier_that_accepts_alg_none_is_caught():
    def verify(token, jwks_url, issuer, now):
        if jwt.get_unverified_header(token)["alg"] == "none":   # a hand-rolled verifier's classic hole
            return _times(json.loads(decode_segment(token.split(".")[1])), now)
        _typ(token)
        claims = jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                            issuer=issuer, options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        return _times(claims, now)

    incorrect(q3.evaluate(verify), "accepted an unsigned token (alg: none)", "'algorithm must be RS256'",
              "algorithms=['RS256']")


def test_q3_switching_the_time_checks_off_accepts_an_expired_token_at_the_labs_time():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        return jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                          issuer=issuer, options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})

    incorrect(q3.evaluate(verify), "at now = 10:30:00, an hour after its exp (09:30:00)",
              "401 'token has expired'", "compare exp with now")


def test_q3_keeping_pyjwts_time_checks_on_is_explained_as_the_computers_clock():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        return jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                          issuer=issuer, options=REQUIRE)

    incorrect(q3.evaluate(verify), "rejected alice's valid token at now = 09:00:00",
              "The token is not yet valid (iat)", "this computer's clock")


def test_q3_a_leeway_as_wide_as_the_gap_between_the_clocks_is_caught():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        return jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                          issuer=issuer, options=REQUIRE, leeway=abs(now - time.time()) + 60)

    incorrect(q3.evaluate(verify), "an hour after its exp", "a leeway widens both ways")


def _with_leeway(leeway):
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        claims = jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                            issuer=issuer, options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        if now >= claims["exp"] + leeway or now < claims["iat"] - leeway or now < claims.get("nbf", now) - leeway:
            raise jwt.InvalidTokenError("out of its time")
        return claims
    return verify


@pytest.mark.parametrize("leeway", [1, 60])
def test_q3_a_leeway_within_the_courses_limit_is_correct(leeway):
    """The course's rule: up to 60 s of leeway, expired from now >= exp + leeway; accepting at exp is within it."""
    assert q3.evaluate(_with_leeway(leeway)).status is Status.CORRECT


def test_q3_a_leeway_past_the_courses_limit_is_caught_at_exp_plus_60():
    incorrect(q3.evaluate(_with_leeway(61)), "at now = 09:31:00, 60 s after its exp", "401 'token has expired'",
              "now >= exp + leeway", "at most 60 s")


def test_q3_typ_compared_exactly_refuses_a_valid_spelling():
    def verify(token, jwks_url, issuer, now):
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":
            raise jwt.InvalidTokenError("token type must be at+jwt")
        return _with_leeway(0)(token, jwks_url, issuer, now)

    incorrect(q3.evaluate(verify), 'rejected alice\'s valid token written with typ "AT+JWT"', "RFC 7515 §4.1.9")


def test_q3_checking_exp_alone_is_caught_by_a_token_not_valid_yet():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        claims = jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                            issuer=issuer, options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        if now >= claims["exp"]:
            raise jwt.ExpiredSignatureError("token has expired")
        return claims

    incorrect(q3.evaluate(verify), "not valid before 09:10:00 (nbf)", "401 'token is not valid yet'")


def test_q3_ignoring_iat_is_caught_by_a_token_issued_in_the_future():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        claims = jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                            issuer=issuer, options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        if now >= claims["exp"] or now < claims.get("nbf", now):
            raise jwt.InvalidTokenError("out of its time")
        return claims

    incorrect(q3.evaluate(verify), "issued at 09:10:00 (iat)", "401 'token was issued in the future'")


def test_q3_skipping_the_audience_check_is_caught():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        claims = jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], issuer=issuer,
                            options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF, "verify_aud": False})
        return _times(claims, now)

    incorrect(q3.evaluate(verify), "another audience", "401 'token is meant for another audience'",
              "audience='lab-api'")


def test_q3_forgetting_the_audience_argument_is_explained():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        claims = jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], issuer=issuer,
                            options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        return _times(claims, now)

    incorrect(q3.evaluate(verify), "rejected alice's valid token", "InvalidAudienceError", "audience='lab-api'")


def test_q3_skipping_the_issuer_check_is_caught():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        claims = jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                            options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        return _times(claims, now)

    incorrect(q3.evaluate(verify), "from another issuer", "401 'token is from another issuer'", "issuer=issuer")


def test_q3_an_issuer_copied_from_the_notebooks_lab_is_explained():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        claims = jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                            issuer="https://rs256.jwt-course.test", options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        return _times(claims, now)

    incorrect(q3.evaluate(verify), "InvalidIssuerError", "an issuer of its own")


def test_q3_trusting_a_key_carried_in_the_jwk_header_is_named_and_points_to_lesson_06():
    def verify(token, jwks_url, issuer, now):
        header = jwt.get_unverified_header(token)
        key = jwt.PyJWK(header["jwk"]) if "jwk" in header else _key(token, jwks_url)
        _typ(token)
        claims = jwt.decode(token, key, algorithms=["RS256"], audience="lab-api", issuer=issuer,
                            options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        return _times(claims, now)

    incorrect(q3.evaluate(verify), "stranger's RSA key", "the `jwk` header attack", "401 'signature is invalid'",
              "from the server's JWK Set", "06-attacks-and-defences.ipynb")


def test_q3_skipping_the_signature_check_is_caught():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        claims = jwt.decode(token, audience="lab-api", issuer=issuer,
                            options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF, "verify_signature": False})
        return _times(claims, now)

    incorrect(q3.evaluate(verify), "changed after signing", "401 'signature is invalid'", "verify_signature")


def test_q3_skipping_the_typ_check_is_caught():
    def verify(token, jwks_url, issuer, now):
        claims = jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                            issuer=issuer, options={**REQUIRE, **PYJWT_TIME_CHECKS_OFF})
        return _times(claims, now)

    incorrect(q3.evaluate(verify), "typ is JWT", "401 'token type must be at+jwt'", "decode_complete")


def test_q3_not_requiring_exp_is_caught_by_a_token_that_would_never_expire():
    def verify(token, jwks_url, issuer, now):
        _typ(token)
        claims = jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                            issuer=issuer, options=PYJWT_TIME_CHECKS_OFF)
        if "exp" in claims and now >= claims["exp"]:
            raise jwt.ExpiredSignatureError("token has expired")
        if now < claims.get("iat", now) or now < claims.get("nbf", now):
            raise jwt.ImmatureSignatureError("not yet")
        return claims

    incorrect(q3.evaluate(verify), "no exp claim", "401 'token has no exp claim'", "'require'")


def test_q3_the_old_two_argument_shape_is_explained():
    def verify(token, jwks_url):
        return jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api")

    incorrect(q3.evaluate(verify), "verify(token, jwks_url, issuer, now)")


def test_q3_returning_something_else_than_the_claims_is_explained():
    reference = solve(q3)["verify"]

    def verify(token, jwks_url, issuer, now):
        reference(token, jwks_url, issuer, now)
        return True

    incorrect(q3.evaluate(verify), "returned bool")


def test_q3_a_function_still_holding_blanks_is_not_answered_yet():
    def verify(token, jwks_url, issuer, now):
        key = ____
        return key

    assert q3.evaluate(verify).status is Status.NOT_ANSWERED


def test_q3_the_check_leaves_pyjwt_as_it_found_it():
    before = jwt.api_jws.PyJWS._verify_signature
    q3.evaluate(solve(q3)["verify"])
    assert jwt.api_jws.PyJWS._verify_signature is before


def test_an_answer_that_never_returns_is_stopped_and_reported_within_the_checks_limit(monkeypatch):
    """Every check runs under Exercise.time_limit: a loop in the answer is stopped, and the next check works."""
    monkeypatch.setattr(type(q1), "time_limit", 1)

    def decode_payload(token):
        while True:
            pass

    outcome = q1.evaluate(decode_payload, LOCAL_TOKEN)
    assert outcome.text == ("✘ Incorrect: checking your answer did not return within 1 s (a loop, or a lock that is "
                            "never released?): it was stopped")
    assert q1.evaluate(solve(q1)["decode_payload"], LOCAL_TOKEN).status is Status.CORRECT
