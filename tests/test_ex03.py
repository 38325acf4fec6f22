"""Exercises of notebook 03: every reference solution passes, and typical mistakes fail with a useful message."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest

from coursekit.ex03 import RFC7515_A1, q1, q2, q3, q4
from coursekit.exercise import ____, Status
from coursekit.lab import start_lab, stop_lab
from coursekit.tokenview import decode_segment
from exercise_helpers import incorrect, solution_names

LAB_CLOCK = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
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
def rs():
    yield start_lab("test-ex03-rs", algorithm="RS256")
    stop_lab("test-ex03-rs")


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


# --- q3: forge an admin token ---------------------------------------------------------------------

def test_q3_reference_solution_is_rejected_for_its_signature(hs, alice):
    _token, header, payload = alice
    forged = solve(q3, payload=payload, header=header)["forged"]
    outcome = q3.evaluate(forged, hs)
    assert outcome.status is Status.CORRECT, outcome.text
    assert "signature is invalid" in outcome.message


def test_q3_a_tampered_payload_with_the_old_signature_also_counts(hs, alice):
    token, _header, payload = alice
    header_b64, _, signature_b64 = token.split(".")
    tampered = f"{header_b64}.{b64url_json({**payload, 'roles': ['admin']})}.{signature_b64}"
    assert q3.evaluate(tampered, hs).status is Status.CORRECT


def test_q3_alg_none_counts_and_names_the_pinned_algorithm(hs, alice):
    _token, header, payload = alice
    unsigned = f"{b64url_json({**header, 'alg': 'none'})}.{b64url_json({**payload, 'roles': ['admin']})}."
    outcome = q3.evaluate(unsigned, hs)
    assert outcome.status is Status.CORRECT
    assert "RFC 8725" in outcome.message


def test_q3_alices_real_token_does_not_claim_admin(hs, alice):
    incorrect(q3.evaluate(alice[0], hs), '"roles": ["user"]', '"roles": ["admin"]')


def test_q3_a_real_admin_token_is_not_a_forgery(hs):
    admin_token = login(hs, {**ALICE, "username": "admin", "password": "admin-password"})
    incorrect(q3.evaluate(admin_token, hs), "accepted", "genuine")


def test_q3_a_token_rejected_for_another_reason_does_not_count(hs, alice):
    _token, _header, payload = alice
    no_typ = jwt.encode({**payload, "roles": ["admin"]}, "g" * 32, algorithm="HS256")  # typ JWT, no kid
    incorrect(q3.evaluate(no_typ, hs), "token type must be at+jwt", "change only roles")


def test_q3_a_forgery_without_the_required_claims_is_explained(hs, alice):
    _token, header, _payload = alice
    bare = jwt.encode({"roles": ["admin"]}, "g" * 32, algorithm="HS256",
                      headers={"kid": header["kid"], "typ": "at+jwt"})
    incorrect(q3.evaluate(bare, hs), "missing 'iss'", "alice's claims")


def test_q3_bytes_and_malformed_tokens_are_explained(hs, alice):
    incorrect(q3.evaluate(alice[0].encode(), hs), "bytes")
    incorrect(q3.evaluate("abc.def", hs), "3 dot-separated segments")


# --- q4: verify with the public key alone ---------------------------------------------------------

def _key(token, jwks_url):
    return jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)


def test_q4_reference_solution_accepts_the_real_token_and_refuses_the_bad_ones(rs):
    verify = solve(q4, LAB_CLOCK=LAB_CLOCK)["verify"]
    outcome = q4.evaluate(verify, rs)
    assert outcome.status is Status.CORRECT, outcome.text


def test_q4_skipping_the_signature_check_is_caught(rs):
    def verify(token, jwks_url):
        return jwt.decode(token, options={"verify_signature": False})

    incorrect(q4.evaluate(verify, rs), "changed after signing", "verify_signature")


def test_q4_pythons_clock_versus_the_lab_clock_is_explained(rs):
    def verify(token, jwks_url):
        return jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api")

    incorrect(q4.evaluate(verify, rs), "rejected a valid token", "LAB_CLOCK")


def test_q4_a_missing_audience_is_explained(rs):
    def verify(token, jwks_url):
        return jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], options=LAB_CLOCK)

    incorrect(q4.evaluate(verify, rs), "InvalidAudienceError", "audience='lab-api'")


def test_q4_an_unchecked_audience_is_caught(rs):
    def verify(token, jwks_url):
        return jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"],
                          options={**LAB_CLOCK, "verify_aud": False})

    incorrect(q4.evaluate(verify, rs), "another audience", "audience='lab-api'")


def test_q4_accepting_alg_none_is_caught(rs):
    def verify(token, jwks_url):
        if jwt.get_unverified_header(token)["alg"] == "none":  # a hand-rolled verifier's classic hole
            return json.loads(decode_segment(token.split(".")[1]))
        return jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api",
                          options=LAB_CLOCK)

    incorrect(q4.evaluate(verify, rs), "alg: none", "algorithms=['RS256']")


def test_q4_trusting_a_key_carried_in_the_token_is_caught(rs):
    def verify(token, jwks_url):
        header = jwt.get_unverified_header(token)
        key = jwt.PyJWK(header["jwk"]) if "jwk" in header else _key(token, jwks_url)
        return jwt.decode(token, key, algorithms=["RS256"], audience="lab-api", options=LAB_CLOCK)

    incorrect(q4.evaluate(verify, rs), "stranger's RSA key", "JWKS")


def test_q4_returning_something_else_than_the_claims_is_explained(rs):
    def verify(token, jwks_url):
        jwt.decode(token, _key(token, jwks_url), algorithms=["RS256"], audience="lab-api", options=LAB_CLOCK)
        return True

    incorrect(q4.evaluate(verify, rs), "returned bool")


def test_q4_a_function_still_holding_blanks_is_not_answered_yet(rs):
    def verify(token, jwks_url):
        key = ____
        return key

    assert q4.evaluate(verify, rs).status is Status.NOT_ANSWERED
