"""The capstone's grading has teeth: each plausible mistake loses exactly the points of its behaviour.

A reference answer scores full marks, visible and hidden; each wrong answer below is the reference with one
mistake, and must pass every behaviour but the ones named.
"""

from __future__ import annotations

import threading

import jwt
import pytest
import requests

from coursekit.exercises.ex09 import q1, q2
from coursekit.kit.exercise import ____, Status


def _define(exercise, name: str, edit=None):
    source = exercise.solution_source()
    if edit is not None:
        old, new = edit
        assert old in source, old
        source = source.replace(old, new)
    namespace = {"requests": requests, "threading": threading, "jwt": jwt}
    exec(source, namespace)  # noqa: S102 - our own reference solution, edited
    return namespace[name]


def _failed(exercise, answer) -> set[str]:
    """The behaviours that fail, visible or hidden cases."""
    return {b.name for b, wrong in exercise.results(answer) + exercise.results(answer, hidden=True) if wrong}


# --- the verifier ------------------------------------------------------------------------------------

VERIFIER_MISTAKES = {
    "accepts alg none": (
        ('    if "=" in token:', '    if jwt.get_unverified_header(token)["alg"].lower() == "none":\n'
                                 '        return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))\n'
                                 '    if "=" in token:'), {"alg-none"}),
    "skips aud": (('"verify_exp": False,', '"verify_exp": False, "verify_aud": False,'), {"audience"}),
    "trusts PyJWT's clock": (("    if now >= verified[\"exp\"]:\n", "    if False:\n"), {"expiry"}),
    "skips the issuer": (('"verify_exp": False,', '"verify_exp": False, "verify_iss": False,'), {"issuer"}),
    "ignores typ": (('if typ.removeprefix("application/") != "at+jwt":', 'if False:'), {"typ"}),
    "accepts padding": (('if "=" in token:', 'if False:'), {"format"}),
}


def _verifier(edit=None):
    verify = _define(q2, "verify", edit)
    verify.__globals__.update(json=__import__("json"), base64=__import__("base64"))
    return verify


def test_the_reference_verifier_scores_full_marks_visible_and_hidden():
    verify = _verifier()
    assert q2.evaluate(verify).status is Status.CORRECT
    assert _failed(q2, verify) == set()
    assert q2.points == 13


@pytest.mark.parametrize("mistake", VERIFIER_MISTAKES, ids=list(VERIFIER_MISTAKES))
def test_a_verifier_mistake_loses_exactly_its_behaviour(mistake):
    edit, lost = VERIFIER_MISTAKES[mistake]
    assert _failed(q2, _verifier(edit)) == lost


def test_a_verifier_that_takes_the_algorithm_from_the_token_loses_both_algorithm_points():
    """algorithms=[the token's alg], with the bare key (a PyJWK would pin its own alg and save the day)."""
    verify = _verifier(('key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]',
                        'key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]].key'))
    source = q2.solution_source().replace(
        'jwt.PyJWKSet.from_dict(jwks)[header["kid"]]', 'jwt.PyJWKSet.from_dict(jwks)[header["kid"]].key'
    ).replace('algorithms=["RS256"]', 'algorithms=[header["alg"]]')
    namespace = {"jwt": jwt}
    exec(source, namespace)  # noqa: S102 - our own reference solution, edited
    assert _failed(q2, verify) == set()  # the bare key alone changes nothing
    assert _failed(q2, namespace["verify"]) == {"algorithm", "alg-none"}


def test_a_leeway_taken_from_exp_loses_genuine_and_is_not_blamed_on_pyjwts_clock():
    """The learner's own comparison raised ExpiredSignatureError at exp - 1, with PyJWT's exp check off."""
    verify = _verifier(("    if now >= verified[\"exp\"]:\n", "    if now + 60 >= verified[\"exp\"]:\n"))
    lost = {b.name: wrong for b, wrong in q2.results(verify, hidden=True) if wrong}
    assert set(lost) == {"genuine"}, lost
    assert "one second before it expires" in lost["genuine"]
    assert "added to exp, never taken from it" in lost["genuine"]
    assert "computer's clock" not in lost["genuine"]


def test_a_fixed_allow_list_with_hs256_loses_the_algorithm_only_and_is_told_what_it_allows():
    verify = _verifier(('algorithms=["RS256"]', 'algorithms=["RS256", "HS256"]'))
    lost = {b.name: wrong for b, wrong in q2.results(verify, hidden=True) if wrong}
    assert set(lost) == {"algorithm"}, lost
    assert "allows ['HS256'] besides RS256" in lost["algorithm"]
    assert "taken from the token" not in lost["algorithm"]


def test_the_verifier_table_names_what_passed_and_what_did_not():
    outcome = q2.evaluate(_verifier(VERIFIER_MISTAKES["skips aud"][0]))
    assert outcome.status is Status.INCORRECT
    lines = outcome.message.splitlines()
    assert lines[0] == "12/13 points"
    assert "  ✘ checks the audience" in outcome.message
    assert "0/1  your verifier accepted a token for another audience ('billing-api')" in outcome.message
    assert sum(line.startswith("  ✔") for line in lines) == 8


def test_a_blank_answer_is_not_answered_and_one_behaviour_can_be_asked_for():
    def verify(token, now, jwks, issuer, audience):
        return ____

    assert q2.evaluate(verify).status is Status.NOT_ANSWERED
    assert q2.evaluate(_verifier(), behaviour="audience").text == "✔ Correct: checks the audience (1/1)"
    wrong = q2.evaluate(_verifier(VERIFIER_MISTAKES["skips aud"][0]), behaviour="audience")
    assert wrong.status is Status.INCORRECT and "another audience" in wrong.message


# --- the client --------------------------------------------------------------------------------------

CLIENT_MISTAKES = {
    # On every 401, a new password login instead of a refresh.
    "logs in again on every expiry": (
        ("            if self.refresh_token:\n", "            if False:\n"), {"expiries", "recovery", "race"}),
    # No lock: two callers with the same expired token both refresh with the same refresh token.
    "spends the refresh token twice in a race": (("        with self.lock:\n", "        if True:\n"), {"race"}),
    # On a refused refresh, refresh again, forever.
    "loops on a revoked login": (
        ("                if r.status_code == 200:\n                    return self._keep(r.json())\n",
         "                while r.status_code != 200:\n"
         "                    r = self._token(grant_type=\"refresh_token\", refresh_token=self.refresh_token)\n"
         "                return self._keep(r.json())\n"), {"recovery"}),
    # A refused password is retried until it works (it never will).
    "retries a refused password": (
        ("            r.raise_for_status()  # a refused password: give up, do not loop\n",
         "            while r.status_code != 200:\n"
         "                r = self._token(grant_type=\"password\", username=self.username, password=self.password)\n"),
        {"gives-up"}),
}


def test_the_reference_client_scores_full_marks_visible_and_hidden():
    client = _define(q1, "TokenClient")
    assert q1.evaluate(client).status is Status.CORRECT
    assert _failed(q1, client) == set()
    assert q1.points == 8


@pytest.mark.parametrize("mistake", CLIENT_MISTAKES, ids=list(CLIENT_MISTAKES))
def test_a_client_mistake_loses_exactly_its_behaviour(mistake):
    edit, lost = CLIENT_MISTAKES[mistake]
    assert _failed(q1, _define(q1, "TokenClient", edit)) == lost


def test_a_client_that_keeps_its_first_refresh_token_is_told_about_rotation():
    client = _define(q1, "TokenClient", (
        "self.access_token, self.refresh_token = answer[\"access_token\"], answer[\"refresh_token\"]",
        "self.access_token, self.refresh_token = answer[\"access_token\"], self.refresh_token or "
        "answer[\"refresh_token\"]"))
    outcome = q1.evaluate(client, behaviour="expiries")
    assert outcome.status is Status.INCORRECT
    assert outcome.message.startswith("the client presented a refresh token twice, and the server revoked its login")


def test_a_client_that_loops_is_told_so_not_left_hanging():
    client = _define(q1, "TokenClient", CLIENT_MISTAKES["loops on a revoked login"][0])
    outcome = q1.evaluate(client, behaviour="recovery")
    assert outcome.status is Status.INCORRECT
    assert "kept asking the token endpoint, more than 25 times: a loop" in outcome.message


def test_a_racing_client_is_told_what_the_server_did():
    client = _define(q1, "TokenClient", CLIENT_MISTAKES["spends the refresh token twice in a race"][0])
    outcome = q1.evaluate(client, behaviour="race")
    assert "spent the same refresh token twice" in outcome.message and "RFC 9700 §4.14.2" in outcome.message


def test_a_blank_client_is_not_answered():
    class TokenClient:
        def __init__(self, base_url, username, password):
            ____

        def get(self, path):
            ____

    assert q1.evaluate(TokenClient).status is Status.NOT_ANSWERED


def test_a_client_that_swallows_every_error_and_loops_is_stopped_at_the_labs_budget(monkeypatch):
    from coursekit.exercises.ex09 import client as capstone_client

    monkeypatch.setattr(capstone_client, "CALL_TIMEOUT", 3)

    class TokenClient:
        def __init__(self, base_url, username, password):
            self.base_url, self.username, self.password = base_url, username, password

        def get(self, path):
            while True:  # retry whatever happens
                try:
                    r = requests.post(self.base_url + "/oauth/token", timeout=10, data={
                        "grant_type": "password", "username": self.username, "password": self.password})
                    if r.status_code == 200:
                        return requests.get(self.base_url + path, timeout=10, headers={
                            "Authorization": "Bearer " + r.json()["access_token"]})
                except Exception:  # noqa: BLE001, S112 - the mistake under test
                    continue

    outcome = q1.evaluate(TokenClient, behaviour="gives-up")
    assert outcome.status is Status.INCORRECT
    assert outcome.message == ("client.get('/api/me') with a wrong password kept asking the token endpoint, more "
                               "than 25 times: a loop. Try the refresh token once, then the password once, then "
                               "give up. It was stopped")
    from coursekit.labtools.lab import fresh_lab

    lab = fresh_lab()  # the shared check lab, reset: the looping thread must not reach it any more
    mark = len(lab.audit())
    import time

    time.sleep(1)
    assert lab.audit()[mark:] == []
