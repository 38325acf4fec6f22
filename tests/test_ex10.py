"""Notebook 10's exercises: the reference solutions and differently written right answers pass, and the answers a
learner would plausibly give wrong are told, in words, what went wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import os
import secrets
import string
import time

import pytest

from coursekit.exercises import ex10
from coursekit.kit.exercise import Status, ____
from exercise_helpers import incorrect, reference


def correct(outcome, fragment: str = "") -> None:
    assert outcome.status is Status.CORRECT, outcome.text
    assert fragment in outcome.message


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- q1: a PKCE pair --------------------------------------------------------------------------------------

def test_q1_the_reference_pair_is_accepted_by_the_lab():
    make_pkce = reference(ex10.q1, secrets=secrets, base64=base64, hashlib=hashlib)
    correct(ex10.q1.evaluate(make_pkce), "gave tokens for it to your verifier")


def _long_verifier():
    verifier = "".join(secrets.choice(string.ascii_letters + string.digits + "-._~") for _ in range(128))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def _urandom_verifier():
    verifier = b64url(os.urandom(48))
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().replace("=", "")


@pytest.mark.parametrize("make_pkce", [_long_verifier, _urandom_verifier, lambda: (
    (v := secrets.token_urlsafe(64)), b64url(hashlib.new("sha256", v.encode()).digest()))],
    ids=["128-unreserved", "urandom-and-replace", "token_urlsafe-64"])
def test_q1_differently_written_right_answers_are_correct(make_pkce):
    correct(ex10.q1.evaluate(make_pkce))


_UNRESERVED = string.ascii_letters + string.digits + "-._~"


@pytest.mark.parametrize("verifier_of", [
    lambda: secrets.token_urlsafe(32),
    lambda: b64url(os.urandom(32)),
    lambda: b64url(os.urandom(96)),
    lambda: secrets.token_hex(32),
    lambda: "".join(secrets.choice(_UNRESERVED) for _ in range(43)),
    lambda: "".join(secrets.choice(_UNRESERVED) for _ in range(secrets.choice(range(43, 129)))),
    lambda: "my-app-" + secrets.token_urlsafe(32),
], ids=["token_urlsafe-32", "urandom-32", "urandom-96", "token_hex-32", "66-unreserved-43", "66-unreserved-43-to-128",
        "a-fixed-prefix-and-32-random-bytes"])
def test_q1_random_verifiers_are_never_refused_as_predictable(verifier_of):
    """The randomness estimate is generous to a random source: run it many times on each, it never refuses one."""
    for _ in range(25):
        verifiers = [verifier_of() for _ in range(ex10._CALLS)]
        ex10._check_randomness(verifiers)  # raises Incorrect on a refusal


def _clock_verifier():
    return f"{time.time_ns():043d}"


def _counter_verifier(counter=itertools.count()):
    return "verifier-of-my-app-number-" + f"{next(counter):017d}"


@pytest.mark.parametrize(("verifier_of", "fragments"), [
    (_clock_verifier, ("can be guessed", "they all start with '000000000000000000000000", "showing digits only",
                       "RFC 7636 §7.1", "32 random octets", "secrets.token_urlsafe(32)")),
    (_counter_verifier, ("they all start with 'verifier-of-my-app-number-0000000000000000'",
                         "1 of their 43 characters changed", "about 3 bits of chance")),
    (lambda: "".join(secrets.choice(string.digits) for _ in range(43)),
     ("43 of their 43 characters changed, showing digits only", "about 143 bits of chance, less than the 160")),
], ids=["time_ns-zero-padded", "a-fixed-prefix-and-a-counter", "43-random-digits"])
def test_q1_predictable_verifiers_are_refused(verifier_of, fragments):
    incorrect(ex10.q1.evaluate(_pair(S256, verifier_of)), *fragments)


def test_q1_blank_is_not_answered_yet():
    def make_pkce():
        verifier = ____
        return verifier, ____

    assert ex10.q1.evaluate(make_pkce).status is Status.NOT_ANSWERED


def _pair(challenge_of, verifier_of=lambda: secrets.token_urlsafe(32)):
    def make_pkce():
        verifier = verifier_of()
        return verifier, challenge_of(verifier)
    return make_pkce


def _with_plus_or_slash() -> str:
    """A verifier whose digest, in standard base64, differs from base64url (one in four has neither + nor /)."""
    while True:
        verifier = secrets.token_urlsafe(32)
        if set(base64.b64encode(hashlib.sha256(verifier.encode()).digest()).decode()) & set("+/"):
            return verifier


S256 = lambda v: b64url(hashlib.sha256(v.encode()).digest())  # noqa: E731


@pytest.mark.parametrize(("make_pkce", "fragments"), [
    (_pair(lambda v: v), ("the challenge is the verifier itself: that is the plain method",)),
    (_pair(lambda v: hashlib.sha256(v.encode()).hexdigest()), ("digest in hex", ".digest(), not .hexdigest()")),
    (_pair(lambda v: base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).decode()),
     ("'=' padding", "RFC 7636 §4.2")),
    (_pair(lambda v: base64.b64encode(hashlib.sha256(v.encode()).digest()).decode(), _with_plus_or_slash),
     ("standard base64",)),
    (_pair(lambda v: b64url(hashlib.sha256(v.encode()).hexdigest().encode())), ("hex text of the digest",)),
    (_pair(lambda v: b64url(hashlib.sha1(v.encode()).digest())), ("the challenge should be", "BASE64URL(SHA256")),
    (_pair(S256, lambda: secrets.token_urlsafe(16)), ("the verifier has 22 characters", "43 to 128")),
    (_pair(S256, lambda: secrets.token_hex(80)), ("the verifier has 160 characters",)),
    (_pair(S256, lambda: base64.b64encode(os.urandom(33)).decode() + "+/"), ("only A-Z a-z 0-9 - . _ ~",)),
    (_pair(S256, lambda: "my-fixed-verifier-" + "x" * 30), ("the same verifier twice", "new and random")),
    (lambda: (secrets.token_urlsafe(32).encode(), "x"), ("the verifier is bytes", ".decode()")),
    (lambda: [secrets.token_urlsafe(32), "x"], ("should return a tuple (verifier, challenge)",)),
    (lambda: secrets.token_urlsafe(32), ("should return a tuple (verifier, challenge), got '",)),
    (lambda: 1 / 0, ("make_pkce() raised ZeroDivisionError",)),
    ("not a function", ("pass your function itself",)),
])
def test_q1_wrong_pairs_are_told_what_is_wrong(make_pkce, fragments):
    incorrect(ex10.q1.evaluate(make_pkce), *fragments)


# --- q2: read the callback --------------------------------------------------------------------------------

def test_q2_the_reference_is_correct():
    correct(ex10.q2.evaluate(reference(ex10.q2)), "answers the login this browser started")


def _constant_time(query, expected_state):
    if query.get("error"):
        raise RuntimeError(query.get("error_description"))
    if not hmac.compare_digest(query.get("state", "").encode(), expected_state.encode()):
        raise PermissionError("not our login")
    return query["code"]


def _keyerror_style(query, expected_state):
    assert "error" not in query, query["error"]
    if query["state"] != expected_state:  # a missing state raises KeyError: refused too
        raise ValueError("state")
    return query["code"]


@pytest.mark.parametrize("read_callback", [_constant_time, _keyerror_style])
def test_q2_differently_written_right_answers_are_correct(read_callback):
    correct(ex10.q2.evaluate(read_callback))


def test_q2_blank_is_not_answered_yet():
    def read_callback(query, expected_state):
        ____
        return query["code"]

    assert ex10.q2.evaluate(read_callback).status is Status.NOT_ANSWERED


def _only_if_present(query, expected_state):
    if "error" in query:
        raise ValueError(query["error"])
    if "state" in query and query["state"] != expected_state:
        raise ValueError("state")
    return query["code"]


def _prefix(query, expected_state):
    if "error" in query:
        raise ValueError(query["error"])
    if not query.get("state", "").startswith(expected_state):
        raise ValueError("state")
    return query["code"]


def _state_in(query, expected_state):
    if "error" in query:
        raise ValueError(query["error"])
    if query["state"] not in expected_state:  # a substring test: '' and 'alices' pass
        raise ValueError("state")
    return query["code"]


def _expected_starts_with_state(query, expected_state):
    if "error" in query:
        raise ValueError(query["error"])
    if not expected_state.startswith(query["state"]):
        raise ValueError("state")
    return query["code"]


def _empty_refused_but_prefix_taken(query, expected_state):
    if "error" in query or not query.get("state"):
        raise ValueError("no state")
    if not expected_state.startswith(query["state"]):
        raise ValueError("state")
    return query["code"]


def _same_length(query, expected_state):
    if "error" in query:
        raise ValueError(query["error"])
    if len(query["state"]) != len(expected_state):  # compares only the length
        raise ValueError("state")
    return query["code"]


def _ignores_errors(query, expected_state):
    if query.get("state") != expected_state:
        raise ValueError("state")
    return query.get("code")


@pytest.mark.parametrize(("read_callback", "fragments"), [
    (lambda query, expected_state: query["code"], ("the attacker's callback, with the state of HIS login",
                                                   "login CSRF")),
    (_only_if_present, ("the attacker's callback without any state", "must be refused too")),
    (_prefix, ("a state that merely starts with alice's", "compare the whole value")),
    (_state_in, ("the attacker's callback with an empty state (state=)", "compare the whole value: the whole state exactly",
                 "secrets.compare_digest(query['state'], expected_state) or ==")),
    (_expected_starts_with_state, ("the attacker's callback with an empty state",
                                   "compare the whole value: the whole state exactly")),
    (_empty_refused_but_prefix_taken, ("a state that is only the start of alice's, 'alices-state'",
                                       "compare the whole value: the whole state exactly", "not with in, startswith or its length")),
    (_same_length, ("a state as long as alice's but another one, 'alices-state-7f3b'",
                    "compare the whole value: the whole state exactly", "secrets.compare_digest")),
    (_ignores_errors, ("returned None for an error answer (error=access_denied)", "look for 'error' first")),
    (lambda query, expected_state: query["state"], ("on alice's own callback read_callback returned "
                                                    "'alices-state-7f3a', not the code",)),
    (lambda query, expected_state: query["code"] if query["state"] == "x" else 1 / 0,
     ("on alice's own callback (state matches) read_callback raised ZeroDivisionError",)),
])
def test_q2_wrong_readers_are_told_what_they_let_through(read_callback, fragments):
    incorrect(ex10.q2.evaluate(read_callback), *fragments)


# --- q3: which redirect URIs ------------------------------------------------------------------------------

def test_q3_the_reference_prediction_is_what_the_lab_does():
    accepted = reference(ex10.q3)
    correct(ex10.q3.evaluate(accepted), "exact matching")
    correct(ex10.q3.evaluate(list(accepted)))


@pytest.mark.parametrize(("accepted", "fragments"), [
    ({"http://127.0.0.1:8765/callback"}, ("http://[::1]:8765/callback is refused; the lab accepted it",)),
    (set(ex10.CANDIDATES[:3]), ("http://localhost:8765/callback is accepted; the lab refused it",
                                "localhost is a name")),
    ({"http://127.0.0.1:8765/callback", "http://[::1]:8765/callback", "http://127.0.0.1:8765/callback/"},
     ("one slash more is another URI",)),
    ({"http://127.0.0.1:8765/callback", "http://[::1]:8765/callback", "http://127.0.0.1.attacker.example/callback"},
     ("only a prefix match would let it through",)),
    (set(), ("http://127.0.0.1:8765/callback is refused; the lab accepted it", "any port is accepted")),
    ("http://127.0.0.1:8765/callback", ("should be a set of URIs",)),
    ({"http://127.0.0.1:9999/callback"}, ("is not one of CANDIDATES",)),
])
def test_q3_wrong_predictions_are_answered_with_what_the_lab_did(accepted, fragments):
    incorrect(ex10.q3.evaluate(accepted), *fragments)
