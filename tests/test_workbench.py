"""The token workbench's functions: each way to sign round-trips, and the lab refuses or, flawed, accepts it."""

from __future__ import annotations

import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

import labserver
from coursekit.labtools.attacks import certificate_pem, serve_jwks, serve_text, x5c_of
from coursekit.labtools import workbench as wb
from coursekit.pictures.tokenview import decode_segment

START = "2030-01-07T09:00:00Z"
NOW = 1894006800  # START as Unix time
NO_CLOCK = {"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False}


@pytest.fixture(scope="module")
def labs():
    """One lab per kind of key, as lesson 06 has them."""
    started = {alg: labserver.start(algorithm=alg, frozen_at=START, seed=23) for alg in ("HS256", "RS256", "ES256")}
    yield started
    for lab in started.values():
        lab.stop()


def alice(lab) -> str:
    r = lab.http.post(lab.url + "/oauth/token", timeout=10,
                      data={"grant_type": "password", "username": "alice", "password": "alice-password"})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def hs_secret(lab) -> bytes:
    """The HS256 lab's secret, read from its key file (a lab lets you; lesson 03 does the same)."""
    with open(lab.keys_path) as f:
        return decode_segment(json.load(f)["keys"][0]["k"])


def test_read_token_gives_header_claims_and_signature_and_build_puts_them_back(labs):
    token = alice(labs["HS256"])
    parts = wb.read_token(token)
    assert parts.header == {"alg": "HS256", "kid": parts.header["kid"], "typ": "at+jwt"}
    assert parts.claims["username"] == "alice" and parts.claims["roles"] == ["user"]
    assert len(parts.signature) == 32
    assert wb.build(parts.header, parts.claims, wb.keep_signature(token)) == token


@pytest.mark.parametrize("token, message", [
    ("a.b", "expected 3 dot-separated segments (header.payload.signature), found 2"),
    ("e30.bm90IGpzb24.", "the payload is not base64url-encoded JSON"),
    ("WzFd.e30.", "the header is JSON but not an object"),
    ("e30.e30.a", "the signature is not base64url"),
])
def test_read_token_says_what_is_wrong(token, message):
    with pytest.raises(ValueError) as error:
        wb.read_token(token)
    assert str(error.value) == message


def test_lab_secret_round_trips_to_the_labs_own_token_and_the_lab_accepts_it(labs):
    lab = labs["HS256"]
    token = alice(lab)
    parts = wb.read_token(token)
    rebuilt = wb.build(parts.header, parts.claims, wb.signer("lab-secret", lab, secret=hs_secret(lab)))
    assert rebuilt == token  # HMAC is deterministic: the same bytes give the same token
    reply = wb.send(lab, "GET /api/me", rebuilt)
    assert (reply.status, reply.challenge, reply.audit) == (200, {}, [])


@pytest.mark.parametrize("kind, alg", [("rsa", "RS256"), ("ec", "ES256")])
def test_a_generated_key_round_trips_and_its_jwk_verifies(labs, kind, alg):
    parts = wb.read_token(alice(labs["HS256"]))
    how = wb.signer(kind)
    token = wb.build(parts.header, parts.claims, how, embed_jwk=True)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": alg, "kid": how.public_jwk["kid"], "typ": "at+jwt", "jwk": how.public_jwk}
    assert set(how.public_jwk) >= {"kty", "kid", "alg", "use"} and "d" not in how.public_jwk
    public = jwt.PyJWK(how.public_jwk).key
    assert jwt.decode(token, public, algorithms=[alg], options=NO_CLOCK) == parts.claims


def test_alg_none_round_trips_with_an_empty_signature(labs):
    parts = wb.read_token(alice(labs["HS256"]))
    token = wb.build(parts.header, parts.claims, wb.signer("none"))
    assert token.endswith(".")
    assert jwt.get_unverified_header(token)["alg"] == "none"
    assert jwt.decode(token, algorithms=["none"], options={"verify_signature": False}) == parts.claims


def test_the_public_key_as_hmac_secret_is_the_pem_of_the_published_key(labs):
    lab = labs["RS256"]
    token = alice(lab)
    parts = wb.read_token(token)
    published = lab.http.get(lab.url + "/.well-known/jwks.json").json()["keys"][0]
    assert "public-hmac" in wb.choices(lab) and "public-hmac" not in wb.choices(labs["HS256"])
    forged = wb.build(parts.header, parts.claims, wb.signer("public-hmac", lab))
    pem = jwt.PyJWK(published).key.public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input, _, signature = forged.rpartition(".")
    assert decode_segment(signature) == hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert jwt.get_unverified_header(forged) == {"alg": "HS256", "kid": published["kid"], "typ": "at+jwt"}


def test_after_a_rotation_the_public_key_as_hmac_secret_is_the_one_the_tokens_kid_names():
    lab = labserver.start(algorithm="RS256", frozen_at=START, seed=24)
    try:
        before = alice(lab)
        lab.rotate_keys()
        after = alice(lab)
        published = lab.http.get(lab.url + "/.well-known/jwks.json").json()["keys"]
        assert len(published) == 2
        for token in (before, after):
            kid = jwt.get_unverified_header(token)["kid"]
            named = next(key for key in published if key["kid"] == kid)
            pem = jwt.PyJWK(named).key.public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
            parts = wb.read_token(token)
            forged = wb.build(parts.header, {**parts.claims, "roles": ["admin"]}, wb.signer("public-hmac", lab, token))
            signing_input, _, signature = forged.rpartition(".")
            assert jwt.get_unverified_header(forged)["kid"] == kid
            assert decode_segment(signature) == hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
            with lab.flaw("alg-confusion"):
                assert wb.send(lab, "GET /api/admin", forged).status == 200
        assert jwt.get_unverified_header(before)["kid"] != jwt.get_unverified_header(after)["kid"]
    finally:
        lab.stop()


def forge(lab, how: str) -> str:
    """Alice's token with the admin role, signed ``how`` (a generated RSA key travels in the jwk header)."""
    token = alice(lab)
    parts = wb.read_token(token)
    signer = wb.signer(how, lab, token)
    return wb.build(parts.header, {**parts.claims, "roles": ["admin"]}, signer, embed_jwk=how == "rsa")


# (lab, signing choice, the flaw that lets it through, what the secure lab says)
WRONG_KEYS = [
    ("HS256", "keep", "no-signature", "signature is invalid"),
    ("HS256", "none", "alg-none", "algorithm must be HS256"),
    ("RS256", "rsa", "jwk-header", "unknown key id"),
    ("RS256", "public-hmac", "alg-confusion", "algorithm must be RS256"),
    ("ES256", "ec", "jku-header", "unknown key id"),
]


@pytest.mark.parametrize("alg, how, flaw, refusal", WRONG_KEYS)
def test_a_wrong_key_is_refused_by_the_secure_lab_and_accepted_with_the_flaw_on(labs, alg, how, flaw, refusal):
    lab = labs[alg]
    if how == "ec":  # jku: the attacker serves its own JWK Set, the flawed lab fetches it
        signer = wb.signer("ec")
        with serve_jwks({"keys": [signer.public_jwk]}) as url:
            parts = wb.read_token(alice(lab))
            token = wb.build({**parts.header, "jku": url}, {**parts.claims, "roles": ["admin"]}, signer)
            secure = wb.send(lab, "GET /api/admin", token)
            flawed = wb.send(lab, "GET /api/admin", token, flaws=(flaw,))
    else:
        token = forge(lab, how)
        secure = wb.send(lab, "GET /api/admin", token)
        flawed = wb.send(lab, "GET /api/admin", token, flaws=(flaw,))
    assert secure.status == 401
    assert secure.body == {"error": "invalid_token", "error_description": refusal}
    assert secure.challenge == {"realm": "labserver", "error": "invalid_token", "error_description": refusal}
    assert [(e["event"], e["reason"]) for e in secure.audit] == [("verification_failed", refusal)]
    assert (flawed.status, flawed.body) == (200, {"message": "welcome to the admin area", "username": "alice"})
    assert flawed.audit == [] and flawed.accepted and not secure.accepted
    assert str(flawed).startswith(f"GET /api/admin with lab flaw {flaw} on -> 200 (ACCEPTED)")
    assert lab.flaws.enabled() == []  # on for that one request only


@pytest.mark.parametrize("kid, secret, flaw", [
    ("../" * 12 + "dev/null", b"", "kid-path"),
    ("x' UNION SELECT 'attacker-secret' --", b"attacker-secret", "kid-sql"),
])
def test_a_chosen_secret_with_an_edited_kid_gets_in_only_with_the_kid_flaw(labs, kid, secret, flaw):
    lab = labs["HS256"]
    parts = wb.read_token(alice(lab))
    token = wb.build({**parts.header, "kid": kid}, {**parts.claims, "roles": ["admin"]},
                     wb.signer("lab-secret", secret=secret, secret_name="a chosen secret"))
    secure = wb.send(lab, "GET /api/admin", token)
    assert (secure.status, secure.body) == (401, {"error": "invalid_token", "error_description": "unknown key id"})
    flawed = wb.send(lab, "GET /api/admin", token, flaws=(flaw,))
    assert (flawed.status, flawed.body) == (200, {"message": "welcome to the admin area", "username": "alice"})


def test_a_lab_without_lab_controls_still_answers_and_the_reply_says_its_audit_log_is_closed(labs):
    with labserver.start(frozen_at=START, seed=23, lab_controls=False, share_keys_with=labs["HS256"]) as lab:
        token = alice(lab)
        reply = wb.send(lab, "GET /api/me", token[:-4] + "AAAA")
    assert (reply.status, reply.error, reply.audit) == (401, "invalid_token", None)
    assert str(reply).endswith("audit log: not readable on this lab (its lab controls are off)")


def test_routes_are_the_bearer_operations_of_the_openapi_document(labs):
    assert wb.routes(labs["HS256"]) == ["GET /api/me", "GET /api/admin", "GET /admin/users"]


def test_time_claims_are_read_against_the_lab_clock_not_this_computers():
    claims = {"iat": NOW, "nbf": NOW + 60, "exp": NOW + 1800}
    assert [(n.claim, n.text, n.ok) for n in wb.time_notes(claims, NOW)] == [
        ("iat", "2030-01-07T09:00:00Z, issued 0 s ago", True),
        ("nbf", "2030-01-07T09:01:00Z, not valid for another 1 min", False),
        ("exp", "2030-01-07T09:30:00Z, expires in 30 min", True),
    ]
    later = NOW + 3600 + 5 * 60 + 7
    assert [(n.claim, n.text, n.ok) for n in wb.time_notes(claims, later)] == [
        ("iat", "2030-01-07T09:00:00Z, issued 1 h 5 min ago", True),
        ("nbf", "2030-01-07T09:01:00Z, valid since 1 h 4 min ago", True),
        ("exp", "2030-01-07T09:30:00Z, expired 35 min 7 s ago", False),
    ]
    assert [(n.text, n.ok) for n in wb.time_notes({"iat": NOW + 10, "nbf": 10 ** 20, "exp": "soon"}, NOW)] == [
        ("2030-01-07T09:00:10Z, issued in the future (10 s ahead)", False),
        ("100000000000000000000: not a time any calendar holds", False),
        ("not a number: a verifier refuses the token", False),
    ]


def test_a_generated_key_travels_in_a_self_signed_certificate_by_x5c_or_x5u(labs):
    lab = labs["RS256"]
    token = alice(lab)
    parts = wb.read_token(token)
    how = wb.signer("rsa")
    assert how.certificate.issuer == how.certificate.subject  # self-signed: it chains to nothing
    assert how.certificate.public_key().public_numbers() == how.private_key.public_key().public_numbers()
    admin = {**parts.claims, "roles": ["admin"]}
    carried = wb.build(parts.header, admin, how, embed_x5c=True)
    assert jwt.get_unverified_header(carried)["x5c"] == x5c_of(how.certificate)
    assert wb.send(lab, "GET /api/admin", carried).status == 401
    assert wb.send(lab, "GET /api/admin", carried, flaws=("x5c-header",)).status == 200
    with serve_text(certificate_pem(how.certificate), "/cert.pem") as url:
        pointed = wb.build({**parts.header, "x5u": url}, admin, how)
        assert wb.send(lab, "GET /api/admin", pointed).status == 401
        assert wb.send(lab, "GET /api/admin", pointed, flaws=("x5u-header",)).status == 200
    with pytest.raises(ValueError, match="no certificate to embed"):
        wb.build({"typ": "at+jwt"}, {}, wb.signer("none"), embed_x5c=True)


def test_embedding_needs_a_key_with_a_public_half():
    with pytest.raises(ValueError, match="no public key to embed"):
        wb.build({"typ": "at+jwt"}, {}, wb.signer("none"), embed_jwk=True)
    with pytest.raises(ValueError, match="no signing choice 'md5'"):
        wb.signer("md5")


def test_parse_challenge_reads_rfc_6750_parameters():
    assert wb.parse_challenge('Bearer realm="lab", error="invalid_token", error_description="a, b"') == {
        "realm": "lab", "error": "invalid_token", "error_description": "a, b"}
    assert wb.parse_challenge('Basic realm="x"') == {}
    assert wb.parse_challenge("") == {}
