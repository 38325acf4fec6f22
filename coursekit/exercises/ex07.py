"""Exercises of notebook 07, signing keys: mint with a leaked key, retire an old key on time, recover a client.

Every check runs on a lab of its own (``coursekit.labtools.lab.fresh_lab``), re-runs the experiment there, and answers a
wrong answer with what that server actually did.
"""

from __future__ import annotations

import re

import jwt

from coursekit.labtools.client import bearer, claims, http_session, lab_time, log_in
from coursekit.kit.exercise import Exercise, Incorrect, require_function
from coursekit.kit.timelimit import run_limited
from coursekit.labtools.lab import fresh_lab
from coursekit.exercises.referee import budget_spent, json_of, referee, status_of
from coursekit.labtools.signing_keys import leaked_key, published_kids

__all__ = ["q1", "q2", "q3"]

CALL_LIMIT = 10    # seconds one call of call_api may take before it counts as a loop (it is then stopped)
TOKEN_BUDGET = 10  # token requests one call may make; the lab refuses more (a client past it is looping)

_MINT_ADVICE = {
    "token has expired": "the lab lives on its own clock, 2030-01-07 09:00 UTC: take iat and exp from "
                         "lab.clock.now(), not time.time()",
    "token was issued in the future": "iat is later than the lab clock: take it from lab.clock.now()",
    "signature is invalid": "sign with the leaked secret itself, jwt.PyJWK(leaked).key: the JWK's k member is "
                            "the secret base64url-encoded, not the secret",
    "unknown key id": "the header must name the leaked key: headers={'kid': leaked['kid'], ...}",
    "token type must be at+jwt": "the lab's access tokens say typ at+jwt in the header (RFC 9068 §2.1)",
    "token is meant for another audience": "aud must be the lab's audience, lab.settings.audience",
    "token is from another issuer": "iss must be the lab's issuer, lab.settings.issuer_id",
    "algorithm must be HS256": "the lab signs with HS256: algorithm='HS256'",
}


def _minted(mint, lab, leaked: dict, username: str, roles: list[str]) -> str:
    token = mint(lab, dict(leaked), username, list(roles))
    if not isinstance(token, str) or token.count(".") != 2:
        raise Incorrect(f"mint should return the token as a str (header.payload.signature), not {token!r:.60}")
    try:
        said = claims(token)
    except ValueError:
        raise Incorrect("the payload of what mint returned is not JSON") from None
    if not isinstance(said, dict) or said.get("username") != username:
        asked = said.get("username") if isinstance(said, dict) else None
        raise Incorrect(f"asked for a token for {username!r}, mint returned one that says username {asked!r}: "
                        "use the username argument")
    if said.get("roles") != roles:
        raise Incorrect(f"asked for roles {roles}, the token says {said.get('roles')!r}: use the roles argument")
    return token


class MintWithLeakedKey(Exercise):
    title = "Mint any user, any role, with a leaked key"
    _hints = [
        "Copy the shape of a genuine token: claims(log_in(lab, 'alice')['access_token']) shows every claim, and "
        "jwt.get_unverified_header(...) the header. The server checks iss, sub, aud, exp, iat, jti, client_id.",
        "The secret is jwt.PyJWK(leaked).key; the header needs typ 'at+jwt' and kid leaked['kid']. Times come "
        "from lab.clock.now(): the lab lives in 2030.",
    ]

    def _check(self, mint):
        require_function(mint, "mint")
        lab = fresh_lab(denylist=True)  # with the denylist on, the lab records the jti of every token it issues
        log_in(lab, "alice")  # ordinary traffic: one genuine token
        leaked = leaked_key(lab)
        http = http_session()
        minted = {}
        for username in ("bob", "nobody"):
            token = _minted(mint, lab, leaked, username, ["admin"])
            r = http.get(lab.url + "/api/admin", headers=bearer(token), timeout=10)
            if r.status_code != 200:
                why = r.json().get("error_description", "")
                advice = _MINT_ADVICE.get(why) or (
                    f"the server requires every claim a genuine token has: {why.split()[3]} too (claims(log_in(lab, "
                    "'alice')['access_token']) shows them)" if why.startswith("token has no ") else "")
                raise Incorrect(f"a fresh lab answered {r.status_code} ({why}) to your token for {username}"
                                + (f": {advice}" if advice else ""))
            minted[username] = claims(token)
        if minted["bob"].get("jti") == minted["nobody"].get("jti"):
            raise Incorrect("both tokens carry the same jti: a jti identifies one token (RFC 7519 §4.1.7), "
                            "make a new one for each")
        issued = {row["jti"] for row in lab.table("access_tokens")}  # the denylist is on: every jti it issued
        audited_jtis = {e.get("jti") for e in lab.audit()} - {None}
        for username, said in minted.items():
            if said.get("jti") in issued or said.get("jti") in audited_jtis:
                raise Incorrect(f"your token for {username} carries jti {said.get('jti')!r}, the jti of a genuine "
                                "token the lab issued: a jti names one token (RFC 7519 §4.1.7), and a lab that "
                                "records the jtis it issues sees the copy (a denylist that revokes that token "
                                "refuses yours too). Give each token a jti of its own, a new random one, such as "
                                "secrets.token_hex(16)")
        if "nobody" in {e.get("username") for e in lab.audit()}:
            raise Incorrect("the lab has a record of your tokens: that should not happen, please report it")
        return (f"/api/admin said 200 to bob as an admin and to 'nobody', a user the lab has never had. The lab "
                f"records every jti it issues ({len(issued)} so far: alice's), and neither of yours is among them; "
                "its audit log does not mention them either. To the server a token signed with its key is "
                "genuine: whoever holds the key is every user.")


def _time_of_day(value) -> int | None:
    """Seconds since midnight of a time written "HH:MM:SS" or "HH:MM" (ASCII digits, in range), else None."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?", value.strip())
    if match is None:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return hours * 3600 + minutes * 60 + seconds


class OldKeyLeavesAt(Exercise):
    title = "When may the old key go?"
    _hints = [
        "A key may leave the JWK Set once no token it signed can still be accepted. The last token it signed was "
        "issued at the rotation; it lives access_ttl, and the server accepts it for leeway seconds more.",
        "30 minutes of lifetime plus 60 seconds of leeway after the rotation at 09:30.",
    ]

    def _check(self, old_key_leaves):
        moment = _time_of_day(old_key_leaves)
        if moment is None:
            raise Incorrect(f"give the lab time as text, 'HH:MM:SS' (or 'HH:MM'), like '09:45:00': hours 00 to 23, "
                            f"minutes and seconds 00 to 59; not {old_key_leaves!r}")
        lab = fresh_lab(algorithm="ES256", leeway=60)
        http = http_session()
        lab.clock.advance(minutes=30)
        last = log_in(lab, "alice")["access_token"]  # 09:30: the old key's last token, signed at the rotation
        old_kid = jwt.get_unverified_header(last)["kid"]
        rotated_at = lab.clock.now()
        lab.rotate_keys()
        at = rotated_at - rotated_at % 86400 + moment
        if at <= rotated_at:
            raise Incorrect(f"{lab_time(at)} is not after the rotation at {lab_time(rotated_at)}: dropping the "
                            "old key then is an emergency rotation, and alice's token from 09:30 dies at once")

        def state(when: float) -> tuple[bool, int]:
            lab.clock.set(when)
            r = http.get(lab.url + "/api/me", headers=bearer(last), timeout=10)
            return old_kid in published_kids(lab), r.status_code

        published, _ = state(at - 1)
        if not published:
            raise Incorrect(f"at {lab_time(at - 1)} the lab had already unpublished the old key: it can go "
                            "earlier than you say. It is needed only as long as its last token is accepted")
        published, status = state(at)
        if published or status == 200:
            raise Incorrect(f"at {lab_time(at)} alice's token from 09:30 still works (its exp is 10:00:00, and "
                            "the lab allows 60 s of leeway past exp): dropping its key then would refuse a token "
                            "the server still accepts")
        return (f"at {lab_time(at - 1)} the old key still verified alice's last token; at {lab_time(at)} both "
                "were gone. The lab keeps a retired key for one access lifetime plus leeway, not a second more.")


class RecoverByRefreshing(Exercise):
    title = "Recover a client after an emergency rotation"
    _hints = [
        "Call /api/me with tokens['access_token']. On a 401, POST grant_type=refresh_token with "
        "tokens['refresh_token'] to lab.url + '/oauth/token', and call /api/me again with the new access token.",
        "Return (the last response, the token response you hold now): the check calls your function again with "
        "what it returned, and a refresh token works once (lesson 05).",
    ]

    @staticmethod
    def _call(call_api, lab, tokens: dict, when: str, refused: bool = False):
        # Past the budget the lab refuses token requests: a loop shows there. ``refused``: every access token is
        # refused, the refreshed one too.
        referee(lab, budget=TOKEN_BUDGET, refuse_access=refused)
        since = lab.audit()[-1]["id"]
        what = f"{when}, call_api"
        looping = (f"{what} kept asking the token endpoint, more than {TOKEN_BUDGET} times: a loop. When the new "
                   "access token is refused too, refreshing again will not help: refresh once, retry once, and "
                   "return what you got")

        def looped() -> str | None:
            return looping if budget_spent(lab) else None

        try:
            answer = run_limited(CALL_LIMIT, lambda: call_api(lab, dict(tokens)), what, stop_when=looped)
        except Incorrect:
            raise
        except Exception:
            if budget_spent(lab):  # the lab's refusal ended the loop with an exception in the answer
                raise Incorrect(looping) from None
            RecoverByRefreshing._judge([e["event"] for e in lab.audit(since)], when)  # the cause, if the lab saw it
            raise
        if budget_spent(lab):
            raise Incorrect(looping)
        if not isinstance(answer, tuple) or len(answer) != 2:
            raise Incorrect(f"call_api should return (response, tokens), not {type(answer).__name__}")
        r, held = answer
        if status_of(r) is None or not isinstance(held, dict) or "access_token" not in held:
            raise Incorrect("call_api should return (the HTTP response, the token response you hold)")
        events = [e["event"] for e in lab.audit(since)]
        RecoverByRefreshing._judge(events, when)
        if refused:
            return r, held, events
        if status_of(r) != 200:
            raise Incorrect(f"{when}, /api/me answered {status_of(r)} {json_of(r) or ''}: on a 401, refresh and "
                            "retry".replace("  :", ":"))
        return held, events

    @staticmethod
    def _judge(events: list[str], when: str) -> None:
        if "login" in events:
            raise Incorrect(f"{when}, your client logged in with alice's password: a real client would have "
                            "had to ask her to type it. Its refresh token needs no password")
        if "reuse_detected" in events:
            raise Incorrect(f"{when}, your client sent a refresh token it had already used, and the lab revoked "
                            "the whole login (reuse detection, lesson 05): return and keep the new token response")

    def _check(self, call_api):
        require_function(call_api, "call_api")
        lab = fresh_lab()
        tokens = log_in(lab, "alice")
        tokens, events = self._call(call_api, lab, tokens, "before any rotation")
        if "refresh" in events:
            raise Incorrect("before any rotation, alice's access token worked, yet your client refreshed: "
                            "refresh only when the server refuses the access token (401)")
        lab.clock.advance(minutes=5)
        lab.rotate_keys_now()
        tokens, events = self._call(call_api, lab, tokens, "after the emergency rotation")
        if "refresh" not in events:
            raise Incorrect("after the emergency rotation your client got 200 without refreshing: "
                            "it cannot have used alice's old access token")
        tokens, events = self._call(call_api, lab, tokens, "on the next call")
        if "refresh" in events:
            raise Incorrect("on the call after recovering, your client refreshed again: return the new token "
                            "response, so that its new access token is used")
        when = "when the lab refused the refreshed access token too"
        r, _, events = self._call(call_api, lab, tokens, when, refused=True)
        refreshes = events.count("refresh")
        if refreshes != 1 or status_of(r) != 401:
            raise Incorrect(f"{when}, your client refreshed {refreshes} times and returned a {status_of(r)}: "
                            "refresh once, retry once, and return the 401 it got; refreshing again will not help")
        referee(lab)  # every access token good again, for the next check on this lab
        return ("every access token died with the old key, and your client came back with one refresh and no "
                "password: refresh tokens are not signed with the key, so a key leak does not touch them.")


q1, q2, q3 = MintWithLeakedKey("q1"), OldKeyLeavesAt("q2"), RecoverByRefreshing("q3")
