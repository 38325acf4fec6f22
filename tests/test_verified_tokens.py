"""Remembered signature checks: bounded, and never a reason to accept a token the server would refuse.

The server verifies a token presented again from memory (labserver.tokens.verified). These tests present the
same token over and over, so that it *is* remembered, and then change what the server must decide on
every request: the lab clock, the denylist, the key ring.
"""

from __future__ import annotations

import jwt
import pytest

from conftest import Auth, make_client
from helpers import b64url_json, bearer, claims_of
from labserver.control.settings import Settings
from labserver.launch.cli import parser, settings_from, to_argv
from labserver.tokens.verified import VerifiedTokens

SECRET = b"k" * 32
OPTIONS = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}


def token_for(n: int) -> str:
    return jwt.encode({"n": n}, SECRET, algorithm="HS256")


def decode(cache: VerifiedTokens, token: str, key=SECRET, **kwargs) -> dict:
    kwargs.setdefault("options", dict(OPTIONS))
    return cache.decode(token, key, algorithms=["HS256"], **kwargs)


def me(client, token: str):
    return client.get("/api/me", headers=bearer(token))


def assert_refused(r, description: str) -> None:
    assert r.status_code == 401, r.text
    assert r.json() == {"error": "invalid_token", "error_description": description}


# --- the cache on its own ------------------------------------------------------------------------


def test_it_remembers_at_most_size_tokens_and_forgets_the_least_recently_used_first():
    cache = VerifiedTokens(size=3)
    tokens = [token_for(n) for n in range(5)]
    for token in tokens[:3]:
        decode(cache, token)
    decode(cache, tokens[0])        # used again: now the most recent
    decode(cache, tokens[3])        # evicts tokens[1], the least recently used
    decode(cache, tokens[4])        # evicts tokens[2]

    assert len(cache) == 3
    hits = cache.hits
    decode(cache, tokens[0])
    assert cache.hits == hits + 1
    decode(cache, tokens[1])
    assert cache.hits == hits + 1   # forgotten: verified again


def test_a_remembered_token_is_verified_again_with_another_key_object_and_refused_if_it_does_not_fit():
    cache = VerifiedTokens()
    token = token_for(1)
    assert decode(cache, token) == {"n": 1}

    with pytest.raises(jwt.InvalidSignatureError):
        decode(cache, token, key=b"another key from another ring...")


def test_a_remembered_token_is_verified_again_when_the_decode_arguments_differ():
    cache = VerifiedTokens()
    token = jwt.encode({"aud": "lab-api"}, SECRET, algorithm="HS256")
    decode(cache, token, audience="lab-api")

    with pytest.raises(jwt.InvalidAudienceError):
        decode(cache, token, audience="another-api")


def test_a_failed_check_is_never_remembered():
    cache = VerifiedTokens()
    forged = token_for(1)[:-4] + "AAAA"
    for _ in range(2):
        with pytest.raises(jwt.InvalidTokenError):
            decode(cache, forged)
    assert (len(cache), cache.hits, cache.misses) == (0, 0, 2)


def test_a_decode_that_checks_times_itself_is_never_remembered():
    # PyJWT's exp check reads the wall clock: the same call can give another answer a second later.
    cache = VerifiedTokens()
    token = token_for(1)
    for _ in range(2):
        cache.decode(token, SECRET, algorithms=["HS256"])
    assert (len(cache), cache.hits) == (0, 0)


def test_a_decode_that_skips_the_signature_is_never_remembered_nor_answered_from_memory():
    cache = VerifiedTokens()
    forged = token_for(1)[:-4] + "AAAA"
    unchecked = dict(OPTIONS, verify_signature=False)
    assert decode(cache, forged, options=unchecked) == {"n": 1}
    assert len(cache) == 0
    with pytest.raises(jwt.InvalidSignatureError):
        decode(cache, forged)


def test_the_claims_handed_out_are_copies():
    cache = VerifiedTokens()
    token = token_for(1)
    decode(cache, token)["n"] = 666
    assert decode(cache, token) == {"n": 1}


def test_clear_forgets_everything_and_size_zero_remembers_nothing():
    cache = VerifiedTokens()
    decode(cache, token_for(1))
    cache.clear()
    assert len(cache) == 0
    off = VerifiedTokens(size=0)
    decode(off, token_for(1))
    decode(off, token_for(1))
    assert (len(off), off.hits) == (0, 0)


# --- the server: every per-request decision still made on every request ----------------------------


def test_a_remembered_token_is_refused_once_the_lab_clock_passes_its_exp():
    client = make_client()
    lab = client.app.state.lab
    token = Auth(client).token()["access_token"]
    for _ in range(3):
        assert me(client, token).status_code == 200
    assert lab.tokens._verified.hits >= 2  # it was remembered

    lab.clock.advance(1800)

    assert_refused(me(client, token), "token has expired")


def test_a_remembered_token_is_refused_once_its_login_is_revoked_with_the_denylist_on():
    client = make_client(denylist=True)
    tokens = Auth(client).token()
    for _ in range(3):
        assert me(client, tokens["access_token"]).status_code == 200

    r = client.post("/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": "jwt-course"})
    assert r.status_code == 200, r.text

    assert_refused(me(client, tokens["access_token"]), "token has been revoked")


def test_a_remembered_token_signed_by_a_retired_key_is_refused_once_the_key_may_no_longer_verify():
    client = make_client()
    lab = client.app.state.lab
    token = Auth(client).token()["access_token"]
    for _ in range(3):
        assert me(client, token).status_code == 200

    client.post("/lab/keys/rotate")
    lab.clock.advance(1799)
    assert me(client, token).status_code == 200  # retired, still verifying its tokens for one lifetime
    lab.clock.advance(1)

    # The key ring is asked first, on every request: the retired key no longer verifies anything.
    assert_refused(me(client, token), "unknown key id")


def test_a_forged_token_is_refused_even_while_the_genuine_one_is_remembered():
    client = make_client()
    token = Auth(client).token()["access_token"]
    for _ in range(3):
        assert me(client, token).status_code == 200

    head, _payload, signature = token.split(".")
    tampered = f"{head}.{b64url_json({**claims_of(token), 'roles': ['admin']})}.{signature}"

    assert_refused(me(client, tampered), "signature is invalid")


def test_forget_verified_makes_the_server_verify_a_remembered_token_from_scratch():
    client = make_client()
    lab = client.app.state.lab
    token = Auth(client).token()["access_token"]
    me(client, token)
    me(client, token)
    misses = lab.tokens._verified.misses

    lab.tokens.forget_verified()
    assert me(client, token).status_code == 200

    assert lab.tokens._verified.misses == misses + 1


def test_remember_tokens_is_a_setting_and_an_option_and_zero_verifies_every_request_in_full():
    settings = settings_from(parser().parse_args(["--remember-tokens", "0"]))
    assert settings.remember_tokens == 0 and to_argv(settings) == ["--remember-tokens", "0"]
    with pytest.raises(ValueError, match="remember_tokens cannot be negative"):
        Settings(remember_tokens=-1)

    client = make_client(remember_tokens=0)
    token = Auth(client).token()["access_token"]
    for _ in range(3):
        assert me(client, token).status_code == 200
    verified = client.app.state.lab.tokens._verified
    assert (len(verified), verified.hits) == (0, 0)
