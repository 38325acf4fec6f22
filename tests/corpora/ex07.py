"""Lesson 07: minting with a leaked key, when the old key may go, recovering a client after an emergency rotation."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jwt
import requests

from coursekit.exercises.ex07 import q1, q2, q3
from coursekit.labtools.client import bearer, claims, log_in
from corpora import right, wrong

# --- q1 ---------------------------------------------------------------------------------------------------------


def _copy_a_genuine_token(lab, leaked, username, roles):
    """Take a genuine token's claims as the template, change who and what, new jti and times from the lab."""
    template = claims(log_in(lab, "alice")["access_token"])
    now = int(lab.clock.now())
    minted = {**template, "username": username, "roles": roles, "jti": uuid.uuid4().hex, "iat": now,
              "exp": now + 600}
    return jwt.encode(minted, jwt.PyJWK(leaked).key, algorithm="HS256",
                      headers={"typ": "application/at+jwt", "kid": leaked["kid"]})


def _mint(lab, leaked, username, roles, *, now=None, secret=None, typ="at+jwt", aud=True):
    now = int(lab.clock.now() if now is None else now)
    minted = {"iss": lab.settings.issuer_id, "sub": "0", "iat": now, "exp": now + 1800,
              "jti": uuid.uuid4().hex, "client_id": "jwt-course", "username": username, "roles": roles}
    if aud:
        minted["aud"] = lab.settings.audience
    headers = {"kid": leaked["kid"], **({"typ": typ} if typ else {})}
    return jwt.encode(minted, secret or jwt.PyJWK(leaked).key, algorithm="HS256", headers=headers)


def _copies_a_genuine_jti(lab, leaked, username, roles):
    """A genuine token's claims whole, its jti too: the lab recorded that jti when it issued the token."""
    template = claims(log_in(lab, "alice")["access_token"])
    return jwt.encode({**template, "username": username, "roles": roles}, jwt.PyJWK(leaked).key,
                      algorithm="HS256", headers={"typ": "at+jwt", "kid": leaked["kid"]})


def _computer_clock(lab, leaked, username, roles):
    return _mint(lab, leaked, username, roles, now=time.time())


def _k_as_secret(lab, leaked, username, roles):
    return _mint(lab, leaked, username, roles, secret=leaked["k"].encode() * 2)


def _no_typ(lab, leaked, username, roles):
    return _mint(lab, leaked, username, roles, typ=None)


def _no_audience(lab, leaked, username, roles):
    return _mint(lab, leaked, username, roles, aud=False)


# --- q3 ---------------------------------------------------------------------------------------------------------

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _urllib_client(lab, tokens):
    def me(access_token):
        request = urllib.request.Request(lab.url + "/api/me", headers={"Authorization": f"Bearer {access_token}"})
        try:
            return _NO_PROXY.open(request, timeout=10)
        except urllib.error.HTTPError as refused:
            return refused

    r = me(tokens["access_token"])
    if r.status == 401:
        form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        with _NO_PROXY.open(lab.url + "/oauth/token", data=form.encode(), timeout=10) as answer:
            tokens = json.load(answer)
        r = me(tokens["access_token"])
    return r, tokens


def _session_client(lab, tokens):
    with requests.Session() as http:
        http.trust_env = False
        r = http.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
        if r.status_code != 401:
            return r, tokens
        tokens = http.post(lab.url + "/oauth/token", timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
        return http.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10), tokens


def _retries_with_the_old_token_forever(lab, tokens):
    r, new = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10), tokens
    while r.status_code == 401:  # the new token is never used, so the retry is refused too
        new = requests.post(lab.url + "/oauth/token", timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": new["refresh_token"]}).json()
        r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
    return r, new


def _refreshes_while_refused(lab, tokens):
    """Uses each new token, but refreshes again for as long as the lab says 401: a loop when new ones are refused."""
    r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
    while r.status_code == 401:
        tokens = requests.post(lab.url + "/oauth/token", timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
        r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
    return r, tokens


def _refreshes_twice(lab, tokens):
    """Gives a refused new token one more refresh."""
    r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
    for _attempt in range(2):
        if r.status_code != 401:
            break
        tokens = requests.post(lab.url + "/oauth/token", timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
        r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
    return r, tokens


def _swallows_errors_and_spins(lab, tokens):
    while True:
        try:
            r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
            if r.status_code == 200:
                return r, tokens
            requests.post(lab.url + "/oauth/token", timeout=10, data={
                "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()["access_token"]
        except Exception:  # noqa: BLE001, S112 - the mistake under test
            continue


def _password_login(lab, tokens):
    r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
    if r.status_code == 401:
        tokens = log_in(lab, "alice")
        r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
    return r, tokens


CASES = [
    right(q1, "a genuine token's claims as template, typ application/at+jwt", _copy_a_genuine_token),
    wrong(q1, "times from the computer's clock", _computer_clock, says=("token has expired", "lab.clock.now()")),
    wrong(q1, "the k member as the secret", _k_as_secret, says=("signature is invalid", "jwt.PyJWK(leaked).key")),
    wrong(q1, "no typ", _no_typ, says=("token type must be at+jwt", "RFC 9068 §2.1")),
    wrong(q1, "no audience", _no_audience, says=("401 (token has no aud claim)", "every claim a genuine token has: aud too")),
    wrong(q1, "copies a genuine token's jti", _copies_a_genuine_jti,
          says=("the jti of a genuine token the lab issued", "Give each token a jti of its own, a new random one")),
    right(q2, "the reference time", "10:01:00"),
    right(q2, "the reference time without seconds", "10:01"),
    wrong(q2, "sixty seconds", "10:00:60", says=("'HH:MM:SS' (or 'HH:MM')", "seconds 00 to 59", "not '10:00:60'")),
    wrong(q2, "sixty-one minutes", "09:61:00", says=("minutes and seconds 00 to 59", "not '09:61:00'")),
    wrong(q2, "letters", "ab:cd:ef", says=("give the lab time as text, 'HH:MM:SS'", "not 'ab:cd:ef'")),
    wrong(q2, "forgets the leeway", "10:00:00", says=("at 10:00:00 alice's token from 09:30 still works",
                                                      "60 s of leeway")),
    wrong(q2, "a second too late", "10:01:01", says="it can go earlier than you say"),
    wrong(q2, "at the rotation", "09:30:00", says="emergency rotation"),
    right(q3, "urllib, no proxies", _urllib_client),
    right(q3, "a requests session", _session_client),
    wrong(q3, "retries with the old token forever", _retries_with_the_old_token_forever,
          says="after the emergency rotation, call_api kept asking the token endpoint, more than 10 times: a loop"),
    wrong(q3, "swallows every error and spins", _swallows_errors_and_spins,
          says=("kept asking the token endpoint", "It was stopped")),
    wrong(q3, "logs in with the password", _password_login, says="logged in with alice's password"),
    wrong(q3, "refreshes for as long as the lab says 401", _refreshes_while_refused,
          says="when the lab refused the refreshed access token too, call_api kept asking the token endpoint, "
               "more than 10 times: a loop"),
    wrong(q3, "refreshes a refused new token once more", _refreshes_twice,
          says=("when the lab refused the refreshed access token too, your client refreshed 2 times",
                "refresh once, retry once")),
]
