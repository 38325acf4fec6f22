"""Lesson 06's exercises on the unpublished key (q5), the x5c certificate (q6) and the refresh that believes an
expired access token (q7): right answers written several ways are Correct; plausible wrong ones are told why."""

from __future__ import annotations

import base64
import datetime
import json
import math

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from coursekit.exercises import ex06
from coursekit.kit.exercise import Status, ____
from coursekit.labtools.attacks import (b64url, hs256_by_hand, pkcs1_sha256, recover_rsa_modulus,
                                        self_signed_certificate, x5c_of)
from coursekit.labtools.client import claims
from exercise_helpers import incorrect, reference

NAMES = dict(jwt=jwt, json=json, rsa=rsa, serialization=serialization, hs256_by_hand=hs256_by_hand,
             recover_rsa_modulus=recover_rsa_modulus, self_signed_certificate=self_signed_certificate,
             x5c_of=x5c_of, claims=claims)
MINE = rsa.generate_private_key(65537, 2048)
SPKI = (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def admin(token: str) -> dict:
    return {**claims(token), "roles": ["admin"]}


def correct(outcome, *fragments: str) -> None:
    assert outcome.status is Status.CORRECT, outcome.text
    for fragment in fragments:
        assert fragment in outcome.message, outcome.message


def pem_for(tokens, e=3) -> bytes:
    return rsa.RSAPublicNumbers(e, recover_rsa_modulus(tokens, e=3, progress=lambda _: None)).public_key() \
        .public_bytes(*SPKI)


@pytest.mark.parametrize("exercise", [ex06.q5, ex06.q6, ex06.q7])
def test_blanks_are_not_answered_yet(exercise):
    assert exercise.evaluate(lambda *args: ____).status is Status.NOT_ANSWERED


# --- q5: rebuild the unpublished key ------------------------------------------------------------------------------

def by_hand(token1, token2):
    """The gcd written out with pow and math.gcd; the PEM made from a JWK."""
    multiples = []
    for token in (token1, token2):
        head, _, sig = token.rpartition(".")
        raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        multiples.append(pow(int.from_bytes(raw, "big"), 3) - pkcs1_sha256(head.encode(), len(raw)))
    n = math.gcd(*multiples)
    for p in range(2, 1000):
        while n % p == 0:
            n //= p
    jwk = {"kty": "RSA", "n": b64url(n.to_bytes(256, "big")), "e": b64url(b"\x03")}
    pem = RSAAlgorithm.from_jwk(jwk).public_bytes(*SPKI)
    return hs256_by_hand({**jwt.get_unverified_header(token2), "alg": "HS256"}, admin(token2), pem)


@pytest.mark.parametrize("forge", [reference(ex06.q5, **NAMES), by_hand], ids=["reference", "by hand"])
def test_q5_right_answers(forge):
    correct(ex06.q5.evaluate(forge), "200 from /api/admin on a fresh lab with alg-confusion-hidden-key on",
            "the same token gets 401 (algorithm must be RS256)")


@pytest.mark.parametrize("forge, fragments", [
    (lambda t1, t2: t1, ["roles ['user']"]),
    (lambda t1, t2: t1.encode(), ["forge should return the forged token as a str, not bytes"]),
    (lambda t1, t2: jwt.encode(admin(t1), MINE, algorithm="RS256", headers=jwt.get_unverified_header(t1)),
     ["alg 'RS256': the confusion needs HS256"]),
    (lambda t1, t2: hs256_by_hand({**jwt.get_unverified_header(t1), "alg": "HS256"}, admin(t1),
                                  rsa.RSAPublicNumbers(65537, recover_rsa_modulus([t1, t2], e=3, progress=print))
                                  .public_key().public_bytes(*SPKI)),
     ["answered 401 (signature is invalid)", "e = 3"]),
    (lambda t1, t2: hs256_by_hand({**jwt.get_unverified_header(t1), "alg": "HS256"}, admin(t1),
                                  pem_for([t1, t2]).rstrip(b"\n")),
     ["answered 401 (signature is invalid)", "SubjectPublicKeyInfo form"]),
    (lambda t1, t2: hs256_by_hand({"alg": "HS256", "typ": "at+jwt"}, admin(t1), pem_for([t1, t2])),
     ["answered 401 (unknown key id)", "keep the tokens' kid"]),
], ids=["unchanged", "bytes", "rs256 own key", "e 65537", "no final newline", "no kid"])
def test_q5_wrong_answers(forge, fragments):
    incorrect(ex06.q5.evaluate(forge), *fragments)


# --- q6: a certificate in x5c -------------------------------------------------------------------------------------

def with_builder(token):
    """A certificate written out with x509.CertificateBuilder, x5c built with base64 by hand, two certificates."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trust me")])
    start = datetime.datetime(2029, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(MINE.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=30)).sign(MINE, hashes.SHA256()))
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return jwt.encode(admin(token), MINE, algorithm="RS256", headers={"typ": "at+jwt", "x5c": [der, der]})


@pytest.mark.parametrize("forge", [reference(ex06.q6, **NAMES), with_builder], ids=["reference", "builder"])
def test_q6_right_answers(forge):
    correct(ex06.q6.evaluate(forge), "200 from /api/admin on a fresh lab with x5c-header on",
            "the same token gets 401 (unknown key id)")


def signed(x5c, key=MINE, alg="RS256"):
    return lambda token: jwt.encode(admin(token), key, algorithm=alg,
                                    headers={"typ": "at+jwt", "kid": "mine", **({"x5c": x5c} if x5c else {})})


CERT = self_signed_certificate(MINE)
DER = CERT.public_bytes(serialization.Encoding.DER)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize("forge, fragments", [
    (signed(None), ["answered 401 (unknown key id)", "put your certificate in the token's x5c header"]),
    (signed(x5c_of(CERT)[0]), ["(x5c must be a list of base64 certificates)", "not base64url, not PEM"]),
    (signed([CERT.public_bytes(serialization.Encoding.PEM).decode()]),
     ["(x5c holds no readable certificate)", "not base64url, not PEM"]),
    (signed([x5c_of(CERT)[0].replace("+", "-").replace("/", "_") + "-"]), ["(x5c holds no readable certificate)"]),
    (signed(x5c_of(CERT), key=rsa.generate_private_key(65537, 2048)),
     ["answered 401 (signature is invalid)", "sign with the private key of the certificate"]),
    (signed(x5c_of(self_signed_certificate(EC_KEY)), key=EC_KEY, alg="ES256"),
     ["answered 401 (algorithm must be RS256)", "sign with RS256"]),
], ids=["no x5c", "a string", "pem", "base64url", "other key", "ec"])
def test_q6_wrong_answers(forge, fragments):
    incorrect(ex06.q6.evaluate(forge), *fragments)


# --- q7: a refresh for someone else -------------------------------------------------------------------------------

def with_a_session(url, refresh_token, expired):
    session = requests.Session()
    session.trust_env = False
    session.headers["authorization"] = f"bearer {expired}"
    return session.post(f"{url}/oauth/token", data={"refresh_token": refresh_token,
                                                    "grant_type": "refresh_token"}).json()


def with_urllib(url, refresh_token, expired):
    """Another HTTP library: the standard library's, no proxies."""
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token}).encode()
    request = urllib.request.Request(url + "/oauth/token", data=body, headers={"Authorization": "Bearer " + expired})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.load(response)


@pytest.mark.parametrize("renew", [reference(ex06.q7, **NAMES), with_a_session, with_urllib],
                         ids=["reference", "session", "urllib"])
def test_q7_right_answers(renew):
    correct(ex06.q7.evaluate(renew), "bob's refresh token renewed alice's access",
            "with it off, the same request renews bob's")


def plain_refresh(url, refresh_token, expired):
    return requests.post(url + "/oauth/token", data={"grant_type": "refresh_token",
                                                     "refresh_token": refresh_token}).json()


def alice_logs_in(url, refresh_token, expired):
    return requests.post(url + "/oauth/token", data={"grant_type": "password", "username": "alice",
                                                     "password": "alice-password"}).json()


@pytest.mark.parametrize("renew, fragments", [
    (plain_refresh, ["the new access token is bob's", "Authorization: Bearer"]),
    (alice_logs_in, ["did not come from a refresh of bob's refresh token"]),
    (lambda url, refresh_token, expired: plain_refresh(url, refresh_token, expired)["access_token"],
     ["renew should return the token endpoint's JSON"]),
    (lambda url, refresh_token, expired: requests.post(url + "/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "access_token": expired}).json(),
     ["the new access token is bob's", "Authorization: Bearer"]),
    (lambda url, refresh_token, expired: requests.post(url + "/oauth/token", headers={
        "Authorization": "Bearer " + refresh_token}, data={"grant_type": "refresh_token", "refresh_token": expired})
     .json(), ["refused your request: invalid_grant (refresh token is unknown)", "goes in the form as refresh_token"]),
], ids=["no access token", "password", "a string", "access token in the form", "tokens swapped"])
def test_q7_wrong_answers(renew, fragments):
    incorrect(ex06.q7.evaluate(renew), *fragments)
