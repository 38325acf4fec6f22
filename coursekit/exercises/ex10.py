"""Exercises of notebook 10, the authorization code flow with PKCE: make a PKCE pair, read a callback the way a
careful app does, and predict which redirect URIs the lab accepts.

q1 and q2 are checked against a lab of their own: q1 runs the whole flow with the learner's challenge and
verifier, so "correct" means the lab itself accepted them; q2 feeds the learner's function a real callback, an
error answer and the attacker's callbacks of a login CSRF. q3 asks for a prediction before the lesson's demo
and compares it with what the lab answers to each URI.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import re

from coursekit.kit.exercise import Exercise, Incorrect, require_function
from coursekit.labtools.client import http_session
from coursekit.labtools.codeflow.steps import Callback, authorization_url, log_in_at_page, redeem, s256
from coursekit.labtools.lab import fresh_lab

__all__ = ["q1", "q2", "q3", "CANDIDATES"]

UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]+")


def _flow(lab, state: str, challenge: str, username: str = "alice") -> tuple[dict, str]:
    """Log in at the lab's page with this state and challenge; return the callback's query and its redirect URI."""
    browser = http_session()
    with Callback() as callback:
        browser.get(log_in_at_page(browser, authorization_url(lab, callback.redirect_uri, state, challenge),
                                   username), timeout=10)
        return callback.wait(), callback.redirect_uri


# --- q1: a PKCE pair ----------------------------------------------------------------------------------------

class PKCEPair(Exercise):
    title = "Make a PKCE code verifier and its S256 challenge"
    _hints = [
        "The verifier: 43 to 128 characters of A-Z a-z 0-9 - . _ ~, new and random for every login. "
        "secrets.token_urlsafe(32) gives 43 such characters from 32 random bytes.",
        "The challenge: SHA-256 of the verifier's ASCII bytes, the 32-byte digest (not its hex text) base64url-encoded "
        "without '=' padding: "
        "base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b'=').decode()",
    ]

    def _check(self, make_pkce):
        require_function(make_pkce, "make_pkce")
        pairs = [self._call(make_pkce) for _ in range(_CALLS)]
        for verifier, challenge in pairs:
            _check_verifier(verifier)
            _check_challenge(verifier, challenge)
        if len({verifier for verifier, _ in pairs}) < len(pairs):
            raise Incorrect("make_pkce returned the same verifier twice: it must be new and random for every login "
                            "(whoever learns one verifier could redeem every code made for it)")
        _check_randomness([verifier for verifier, _ in pairs])
        verifier, challenge = pairs[0]
        lab = fresh_lab()
        caught, redirect_uri = _flow(lab, "q1", challenge)
        answer = redeem(lab, caught["code"], redirect_uri, verifier)
        if answer.status_code != 200:  # cannot happen once the checks above pass; said plainly if it does
            raise Incorrect(f"the lab refused your pair: {answer.json()}")
        return ("the lab bound a code to your challenge and gave tokens for it to your verifier: only the "
                "holder of the verifier can redeem that code.")

    @staticmethod
    def _call(make_pkce):
        try:
            pair = make_pkce()
        except Exception as error:
            raise Incorrect(f"make_pkce() raised {type(error).__name__}: {error}") from None
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise Incorrect(f"make_pkce() should return a tuple (verifier, challenge), got {pair!r:.80}")
        for name, value in zip(("verifier", "challenge"), pair):
            if isinstance(value, bytes):
                raise Incorrect(f"the {name} is bytes: return text (.decode() it)")
            if not isinstance(value, str):
                raise Incorrect(f"the {name} should be a str, got {type(value).__name__}")
        return pair


def _check_verifier(verifier: str) -> None:
    if not 43 <= len(verifier) <= 128:
        raise Incorrect(f"the verifier has {len(verifier)} characters; RFC 7636 §4.1 asks for 43 to 128 "
                        f"(secrets.token_urlsafe(32) gives 43)")
    if not UNRESERVED.fullmatch(verifier):
        odd = sorted(set(re.sub(r"[A-Za-z0-9\-._~]", "", verifier)))
        raise Incorrect(f"the verifier holds {odd}: only A-Z a-z 0-9 - . _ ~ are allowed (RFC 7636 §4.1); "
                        f"base64url without '=' padding fits")


_CALLS = 8        # make_pkce is called this many times, and its verifiers compared
_ENOUGH_BITS = 160  # the least randomness the verifiers may show; 32 random bytes show about 256, 43 digits 143


def _check_randomness(verifiers: list[str]) -> None:
    """Refuse verifiers that can be guessed, as from a clock or a counter (RFC 7636 §4.1, §7.1).

    Over the calls, a position of the verifier that never changes carries no chance, and one that changes carries
    at most log2 of the symbols seen changing: a rough estimate, generous to a random source (32 random bytes
    measure about 256 bits, 64 random hex digits 256) and far below the bar for a clock or a counter.
    """
    longest = max(map(len, verifiers))
    varying = [i for i in range(longest) if len({v[i] for v in verifiers if len(v) > i}) > 1]
    symbols = {v[i] for v in verifiers for i in varying if len(v) > i}
    bits = len(varying) * math.log2(len(symbols)) if len(symbols) > 1 else 0.0
    if bits >= _ENOUGH_BITS:
        return
    prefix = os.path.commonprefix(verifiers)
    shared = f"they all start with {prefix!r}, and " if len(prefix) >= 4 else ""
    alphabet = "digits only" if symbols <= set("0123456789") else f"{len(symbols)} different symbols"
    raise Incorrect(
        f"make_pkce's verifiers can be guessed: over {len(verifiers)} calls {shared}{len(varying)} of their "
        f"{_lengths(verifiers)} characters changed, showing {alphabet}: about {bits:.0f} bits of chance, "
        f"less than the {_ENOUGH_BITS} this check asks for. RFC 7636 §7.1 asks for a verifier nobody can guess, "
        "§4.1 makes it from 32 random octets, base64url-encoded to 43 characters (256 bits). A clock, a counter or a fixed text is guessed by whoever knows roughly when or how "
        "often you log in: draw it from secrets, like secrets.token_urlsafe(32)")


def _lengths(verifiers: list[str]) -> str:
    lo, hi = min(map(len, verifiers)), max(map(len, verifiers))
    return f"{lo}" if lo == hi else f"{lo} to {hi}"


def _check_challenge(verifier: str, challenge: str) -> None:
    right = s256(verifier)
    if challenge == right:
        return
    digest = hashlib.sha256(verifier.encode()).digest()
    if challenge == verifier:
        raise Incorrect("the challenge is the verifier itself: that is the plain method, which anyone who reads "
                        "the authorization request can answer. S256 sends BASE64URL(SHA256(verifier))")
    if challenge == digest.hex():
        raise Incorrect("the challenge is the digest in hex; base64url-encode the digest's 32 bytes "
                        "(.digest(), not .hexdigest())")
    if challenge.rstrip("=") == base64.b64encode(digest).decode().rstrip("=") and set(challenge) & set("+/"):
        raise Incorrect("the challenge is standard base64 ('+', '/'): use the URL-safe alphabet "
                        "(base64.urlsafe_b64encode), without padding")
    if challenge == right + "=":
        raise Incorrect("the challenge still ends with '=' padding: RFC 7636 §4.2 leaves it out (.rstrip(b'='))")
    if challenge == base64.urlsafe_b64encode(digest.hex().encode()).decode().rstrip("="):
        raise Incorrect("you base64url-encoded the hex text of the digest: encode the digest's bytes themselves")
    raise Incorrect(f"for the verifier {verifier[:12]}... the challenge should be {right}, yours is {challenge!r:.60}: "
                    "BASE64URL(SHA256(ASCII(verifier))) without padding")


# --- q2: read the callback ----------------------------------------------------------------------------------

_EXACTLY = ("compare the whole value: the whole state exactly, with secrets.compare_digest(query['state'], "
            "expected_state) or ==, not with in, startswith or its length")


class ReadTheCallback(Exercise):
    title = "Take the code from the callback only if it answers the login this browser started"
    _hints = [
        "Three things must stop your function with an exception (raise ValueError(...)): an error answer "
        "('error' in query), a query without state, and a state that is not expected_state.",
        "if 'error' in query: raise ValueError(query['error'])\n"
        "if query.get('state') != expected_state: raise ValueError('state does not match')\n"
        "return query['code']",
    ]

    def _check(self, read_callback):
        require_function(read_callback, "read_callback")
        lab = fresh_lab()
        alices, _uri = _flow(lab, "alices-state-7f3a", s256("a" * 43))
        mallorys, _uri = _flow(lab, "mallorys-state-19c2", s256("m" * 43), "bob")
        try:
            code = read_callback(dict(alices), "alices-state-7f3a")
        except Exception as error:
            raise Incorrect(f"on alice's own callback (state matches) read_callback raised {type(error).__name__}: "
                            f"{error}; it should return the code") from None
        if code != alices["code"]:
            raise Incorrect(f"on alice's own callback read_callback returned {code!r:.60}, not the code in it")
        error_answer = {"error": "access_denied", "error_description": "the user said no",
                        "state": "alices-state-7f3a", "iss": alices["iss"]}
        attacks = [
            (error_answer, "an error answer (error=access_denied) with the right state: there is no code to take; "
                           "look for 'error' first"),
            (mallorys, "the attacker's callback, with the state of HIS login: your app would redeem his code and "
                       "alice would be logged in as the attacker (login CSRF). Compare the state with expected_state"),
            ({k: v for k, v in mallorys.items() if k != "state"},
             "the attacker's callback without any state: a missing state must be refused too, not skipped"),
            ({**mallorys, "state": "alices-state-7f3a-and-more"},
             f"a state that merely starts with alice's: {_EXACTLY}"),
            ({**mallorys, "state": ""}, f"the attacker's callback with an empty state (state=): {_EXACTLY}"),
            ({**mallorys, "state": "alices-state"},
             f"a state that is only the start of alice's, 'alices-state': {_EXACTLY}"),
            ({**mallorys, "state": "alices-state-7f3b"},
             f"a state as long as alice's but another one, 'alices-state-7f3b': {_EXACTLY}"),
        ]
        for query, what in attacks:
            try:
                taken = read_callback(dict(query), "alices-state-7f3a")
            except Exception:
                continue
            raise Incorrect(f"read_callback returned {taken!r:.40} for {what}")
        return "your app takes a code only from a callback that answers the login this browser started."


# --- q3: predict which redirect URIs the lab accepts --------------------------------------------------------

CANDIDATES = (
    "http://127.0.0.1:8765/callback",
    "http://[::1]:8765/callback",
    "http://localhost:8765/callback",
    "http://127.0.0.1:8765/callback/",
    "http://127.0.0.1:8765/callback?next=/admin",
    "https://127.0.0.1:8765/callback",
    "http://127.0.0.1.attacker.example/callback",
)

WHY = {
    "http://127.0.0.1:8765/callback": "a loopback IP redirect URI is registered without port: any port is accepted "
                                      "(RFC 8252 §7.3)",
    "http://[::1]:8765/callback": "the IPv6 loopback is registered too, any port",
    "http://localhost:8765/callback": "localhost is a name, not the registered loopback IP (RFC 8252 §8.3 advises "
                                      "against it)",
    "http://127.0.0.1:8765/callback/": "one slash more is another URI: the match is exact",
    "http://127.0.0.1:8765/callback?next=/admin": "a query the registration does not have is another URI",
    "https://127.0.0.1:8765/callback": "https is another scheme than the registered http",
    "http://127.0.0.1.attacker.example/callback": "that host is attacker.example's: only a prefix match would let it "
                                                  "through (the redirect-prefix flaw)",
}


class RedirectURIs(Exercise):
    title = "Predict which redirect URIs the lab accepts for jwt-course"
    _hints = [
        "The registered redirect URIs are http://127.0.0.1/callback and http://[::1]/callback. The comparison "
        "is exact, character for character, except the port of a loopback IP.",
        "Two are accepted: the ones that differ from a registered URI only by their port.",
    ]

    def _check(self, accepted):
        if isinstance(accepted, str) or not isinstance(accepted, (set, frozenset, list, tuple)):
            raise Incorrect(f"accepted should be a set of URIs taken from CANDIDATES, not {accepted!r:.60}")
        unknown = set(accepted) - set(CANDIDATES)
        if unknown:
            raise Incorrect(f"{sorted(unknown)[0]!r} is not one of CANDIDATES: copy the URIs from there")
        lab = fresh_lab()
        browser = http_session()
        for uri in CANDIDATES:
            page = browser.get(authorization_url(lab, uri, "q3", s256("q" * 43)), timeout=10)
            said, did = uri in accepted, page.status_code == 200
            if said and not did:
                raise Incorrect(f"you predicted that {uri} is accepted; the lab refused it: {WHY[uri]}")
            if did and not said:
                raise Incorrect(f"you predicted that {uri} is refused; the lab accepted it: {WHY[uri]}")
        return ("exact matching, with the port of a loopback IP left free: every other difference is another "
                "URI, and another place to send a code.")


q1, q2, q3 = PKCEPair("q1"), ReadTheCallback("q2"), RedirectURIs("q3")
