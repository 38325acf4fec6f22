"""Notebook 06's exercises: every reference solution passes on a fresh flawed lab, and the attacks and verifiers a
learner would plausibly get wrong are answered with what went wrong."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

from coursekit.exercises import ex06
from coursekit.labtools.attacks import b64url, hs256_by_hand, wordlist
from coursekit.labtools.client import claims
from coursekit.kit.exercise import Status, ____
from coursekit.pictures.tokenview import decode_segment
from exercise_helpers import incorrect, reference

NAMES = dict(hashlib=hashlib, hmac=hmac, json=json, jwt=jwt, serialization=serialization, RSAAlgorithm=RSAAlgorithm,
             b64url=b64url, hs256_by_hand=hs256_by_hand, wordlist=wordlist, claims=claims,
             decode_segment=decode_segment, secrets=secrets)


def solution(exercise):
    return reference(exercise, **NAMES)


def admin(token: str) -> dict:
    return {**claims(token), "roles": ["admin"]}


# --- the reference solutions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("exercise, flaw, refused", [
    (ex06.q1, "weak-secret", "401 (unknown key id)"),
    (ex06.q2, "kid-sql", "401 (unknown key id)"),
    (ex06.q3, "alg-confusion", "401 (algorithm must be RS256)"),
])
def test_each_forge_solution_opens_the_admin_route_and_fails_once_the_flaw_is_off(exercise, flaw, refused):
    outcome = exercise.evaluate(solution(exercise))
    assert outcome.status is Status.CORRECT, outcome.text
    assert f"200 from /api/admin on a fresh lab with {flaw} on" in outcome.message
    assert f"the same token gets {refused}" in outcome.message


def test_the_verifier_solution_refuses_the_battery_and_accepts_genuine_tokens():
    outcome = ex06.q4.evaluate(solution(ex06.q4))
    assert outcome.status is Status.CORRECT, outcome.text
    assert "RFC 8725" in outcome.message


@pytest.mark.parametrize("exercise", [ex06.q1, ex06.q2, ex06.q3, ex06.q4])
def test_blanks_are_not_answered_yet(exercise):
    def answer(token, *more):
        return ____

    assert exercise.evaluate(answer).status is Status.NOT_ANSWERED


# --- q1: crack and forge ----------------------------------------------------------------------------------------

def test_q1_the_token_unchanged_is_not_an_admin_token():
    incorrect(ex06.q1.evaluate(lambda token: token), "roles ['user']", "needs \"roles\": [\"admin\"]")


def test_q1_a_secret_guessed_or_taken_from_another_lab_is_refused():
    def forge(token):
        return hs256_by_hand(jwt.get_unverified_header(token), admin(token), b"a word from another lab")

    incorrect(ex06.q1.evaluate(forge), "answered 401 (signature is invalid)", "every lab picks its own word")


def test_q1_a_made_up_kid_is_refused():
    secret_of = solution(ex06.q1)

    def forge(token):
        forged = secret_of(token)
        head = {**jwt.get_unverified_header(forged), "kid": "my-kid"}
        return hs256_by_hand(head, claims(forged), b"x")

    incorrect(ex06.q1.evaluate(forge), "401 (unknown key id)", "keep the kid")


def test_q1_returning_bytes_or_calling_the_function_is_explained():
    incorrect(ex06.q1.evaluate(lambda token: token.encode()), "as a str, not bytes")
    incorrect(ex06.q1.evaluate("eyJ..."), "pass your function itself")


# --- q2: SQL injection in kid ---------------------------------------------------------------------------------

SECRET = bytes(range(32))
BLOB = f"X'{SECRET.hex()}'"


@pytest.mark.parametrize("kid, secret, message", [
    (f"x' UNION SELECT {BLOB}", SECRET, "end with --"),                        # the closing quote breaks the SQL
    (f"x' UNION SELECT {BLOB} --", SECRET[::-1], "not the one you signed with"),  # signed with other bytes
    (f"x' UNION SELECT {BLOB} --", SECRET.hex().encode(), "bytes.fromhex"),     # signed with the hex text
])
def test_q2_injections_that_do_not_return_your_secret(kid, secret, message):
    def forge(token):
        return hs256_by_hand({"alg": "HS256", "typ": "at+jwt", "kid": kid}, admin(token), secret)

    incorrect(ex06.q2.evaluate(forge), "with the flaw kid-sql on, /api/admin answered 401", message)


@pytest.mark.parametrize("kid, secret, says", [
    ("x' UNION SELECT 'attacker-secret' --", b"attacker-secret", "selects text (15 characters)"),
    ("x' UNION SELECT X'00ff' --", b"\x00\xff", "selects a secret of 2 bytes"),
])
def test_q2_the_demos_text_secret_or_a_short_blob_is_not_the_step_asked_for(kid, secret, says):
    def forge(token):
        return hs256_by_hand({"alg": "HS256", "typ": "at+jwt", "kid": kid}, admin(token), secret)

    incorrect(ex06.q2.evaluate(forge), says, "secrets.token_bytes(32)")


def test_q3_the_first_key_of_a_rotated_jwk_set_is_not_the_one_the_server_uses():
    def forge(token, jwks):
        header = {**jwt.get_unverified_header(token), "alg": "HS256"}
        return hs256_by_hand(header, admin(token), pem_of(jwks))  # keys[0], as in the demo

    incorrect(ex06.q3.evaluate(forge), "401 (signature is invalid)", "this lab has rotated, its JWK Set has 2 keys",
              "the first is not that one")


# --- q3: algorithm confusion ------------------------------------------------------------------------------------

def pem_of(jwks, kid=None):
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid) if kid else jwks["keys"][0]
    return RSAAlgorithm.from_jwk(jwk).public_bytes(serialization.Encoding.PEM,
                                                                serialization.PublicFormat.SubjectPublicKeyInfo)


def test_q3_pyjwt_refusing_the_pem_key_is_explained():
    def forge(token, jwks):
        kid = jwt.get_unverified_header(token)["kid"]
        return jwt.encode(admin(token), pem_of(jwks), algorithm="HS256", headers={"kid": kid, "typ": "at+jwt"})

    incorrect(ex06.q3.evaluate(forge), "PyJWT refused", "sign by hand")


def test_q3_keeping_rs256_in_the_header_is_refused():
    def forge(token, jwks):
        header = jwt.get_unverified_header(token)
        return hs256_by_hand(header, admin(token), pem_of(jwks, header["kid"]))

    incorrect(ex06.q3.evaluate(forge), "header says alg 'RS256'", "the confusion needs HS256")


def test_q3_the_pem_without_its_final_newline_is_another_secret():
    def forge(token, jwks):
        header = {**jwt.get_unverified_header(token), "alg": "HS256"}
        return hs256_by_hand(header, admin(token), pem_of(jwks, header["kid"]).strip())

    incorrect(ex06.q3.evaluate(forge), "401 (signature is invalid)", "with its final newline")


# --- q4: the verifier -------------------------------------------------------------------------------------------

LAB_CLOCK = {"verify_exp": False, "verify_iat": False}


def jwks_of(lab):
    return jwt.PyJWKSet.from_dict(lab.http.get(lab.url + "/.well-known/jwks.json").json())


def checks_exp(verified, lab):
    if lab.clock.now() >= verified["exp"]:
        raise jwt.ExpiredSignatureError("expired")
    return verified


def test_q4_taking_the_algorithm_from_the_token_with_a_raw_key_accepts_ps256():
    def verify(token, lab):
        header = jwt.get_unverified_header(token)
        key = jwks_of(lab)[header["kid"]].key
        return checks_exp(jwt.decode(token, key, algorithms=[header["alg"]], audience="lab-api",
                                     issuer=lab.settings.issuer_id, options=LAB_CLOCK), lab)

    incorrect(ex06.q4.evaluate(verify), "accepted a token signed with PS256 by the lab's own key",
              "the token chose its own algorithm")


def test_q4_taking_the_algorithm_from_the_token_is_caught_even_when_pyjwt_refuses_for_it():
    def verify(token, lab):
        header = jwt.get_unverified_header(token)
        return checks_exp(jwt.decode(token, jwks_of(lab)[header["kid"]], algorithms=[header["alg"]],
                                     audience="lab-api", issuer=lab.settings.issuer_id, options=LAB_CLOCK), lab)

    incorrect(ex06.q4.evaluate(verify), "algorithms=['PS256'] for a token whose header says alg 'PS256'",
              "any refusal was PyJWT's key check", "algorithms=['RS256']")


def test_q4_trusting_pyjwts_clock_accepts_a_token_expired_by_the_lab_clock():
    def verify(token, lab):
        key = jwks_of(lab)[jwt.get_unverified_header(token)["kid"]]
        return jwt.decode(token, key, algorithms=["RS256"], audience="lab-api", issuer=lab.settings.issuer_id,
                          options={"verify_iat": False})

    incorrect(ex06.q4.evaluate(verify), "accepted alice's genuine token 60 s after its exp by the lab clock",
              "lab.clock.now()")


def test_q4_skipping_the_audience_accepts_a_token_for_another_service():
    def verify(token, lab):
        key = jwks_of(lab)[jwt.get_unverified_header(token)["kid"]]
        return checks_exp(jwt.decode(token, key, algorithms=["RS256"], issuer=lab.settings.issuer_id,
                                     options={**LAB_CLOCK, "verify_aud": False}), lab)

    incorrect(ex06.q4.evaluate(verify), "accepted a token for another audience ('billing-api')",
              "audience='lab-api'")


def test_q4_trusting_a_key_from_the_header_accepts_the_attackers_token():
    def verify(token, lab):
        header = jwt.get_unverified_header(token)
        key = jwt.PyJWK(header["jwk"]) if "jwk" in header else jwks_of(lab)[header["kid"]]
        return checks_exp(jwt.decode(token, key, algorithms=["RS256"], audience="lab-api",
                                     issuer=lab.settings.issuer_id, options=LAB_CLOCK), lab)

    incorrect(ex06.q4.evaluate(verify), "accepted a token signed with the key its own jwk header carries",
              "take keys only from the lab's JWK Set")


def test_q4_a_verifier_that_refuses_everything_is_not_a_verifier():
    def verify(token, lab):
        raise jwt.InvalidTokenError("no")

    incorrect(ex06.q4.evaluate(verify), "refused alice's genuine token: InvalidTokenError: no")


def test_q4_pyjwts_wall_clock_iat_check_is_explained():
    def verify(token, lab):
        key = jwks_of(lab)[jwt.get_unverified_header(token)["kid"]]
        return jwt.decode(token, key, algorithms=["RS256"], audience="lab-api", issuer=lab.settings.issuer_id)

    incorrect(ex06.q4.evaluate(verify), "the lab lives in 2030", "'verify_iat': False")
