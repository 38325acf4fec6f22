"""Lab controls, apart from the auth API: the clock, the audit log, store views, counters, keys, flaws, reset.

Mounted only on a loopback address: whoever can move the clock can make any token expire or live.
Web pages cannot use them either: see labserver.web.routes.sameorigin (Host allowlist, no cross-site changes).

Loopback is no access control on a shared machine (a JupyterHub, a lab computer): every local user reaches
every lab's port. So each lab has a secret of its own, made at start from the operating system's randomness
(never from the lab's seed), and every request here must send it in the ``Lab-Secret`` header. Only the
lab's owner has it: the handle that started the lab (``labserver.start``) got it on a pipe, and a command-line
user reads it from a file only they can read (0600, named in the banner).
"""

from __future__ import annotations

import hmac
import math
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictStr, WithJsonSchema, field_validator
from starlette.concurrency import run_in_threadpool

from labserver.control.clock import parse_instant
from labserver.control.challenge import FORGEABLE
from labserver.control.flaws import FLAWS
from labserver.control.referee import MAX_HOLD
from labserver.storage.store import TABLES
from labserver.tokens.access import AccessTokens
from labserver.web.errors import Conflict, Forbidden, InvalidRequest, InvalidToken, LabSecretRequired, NotFound
from labserver.web.routes.deps import lab_of
from labserver.web.routes.sameorigin import own_pages_only

SECRET_HEADER = "Lab-Secret"


async def owner_only(request: Request) -> None:
    """Dependency of the lab controls: the request must carry this lab's secret (after own_pages_only)."""
    sent = request.headers.get(SECRET_HEADER)
    if sent is None:
        raise LabSecretRequired(f"the lab controls need this lab's secret in the {SECRET_HEADER} header "
                                f"(the program that started the lab holds it; see the server's banner)")
    # Compared as bytes in constant time: a header may hold any latin-1 octets, and timing must not tell.
    if not hmac.compare_digest(sent.encode("latin-1"), lab_of(request).lab_secret.encode()):
        raise LabSecretRequired(f"the {SECRET_HEADER} header is not this lab's secret")
    # Sent back in Lab-Control (labserver.control.ledger): the controls that changed something, this one included.
    ledger = lab_of(request).controls
    request.state.control = ledger.count if request.method in ("GET", "HEAD") else ledger.take()


router = APIRouter(prefix="/lab", tags=["lab controls"], dependencies=[Depends(own_pages_only), Depends(owner_only)])
# Columns a store view leaves out: a password hash is for offline guessing, even behind argon2.
HIDDEN_COLUMNS = ("password_hash",)

CENTURY = 100 * 365 * 24 * 3600
# The lab clock stays between 1970 and 2100 (2100-01-01T00:00:00Z), whichever way it is moved.
LATEST = 4102444800
OUT_OF_RANGE = "the lab clock runs between 1970 and 2100"


# An ISO 8601 timestamp as RFC 3339 writes it (the offset may be left out: UTC). The document says the
# years the clock can show; the check below accepts any year and says why one is out of range.
_DATE = (r"-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"  # months of 31 days
         r"|(0[469]|11)-(0[1-9]|[12][0-9]|30)"               # months of 30 days
         r"|02-(0[1-9]|1[0-9]|2[0-9]))")                     # February
_TIME = r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?$"
TIMESTAMP = re.compile(r"^[0-9]{4}" + _DATE + _TIME)
# February 29th only in leap years: the document, which cannot count, leaves it out.
TIMESTAMP_IN_RANGE = r"^(19[7-9][0-9]|20[0-9][0-9])" + _DATE.replace("2[0-9]))", "2[0-8]))") + _TIME


class Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: StrictFloat = Field(ge=-CENTURY, le=CENTURY, allow_inf_nan=False)  # strict: false is not 0


class SetClock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Strict: JSON true would otherwise pass as 1.0, past parse_instant's refusal of booleans.
    at: (Annotated[StrictStr, WithJsonSchema({"type": "string", "pattern": TIMESTAMP_IN_RANGE,
                                              "description": "an ISO 8601 timestamp, e.g. 2030-01-07T09:00:00Z"})]
         | Annotated[StrictFloat, WithJsonSchema({"type": "number", "minimum": 0, "exclusiveMaximum": LATEST,
                                                  "description": "Unix seconds"})]) = Field(
        description="Unix seconds or an ISO 8601 timestamp, between 1970 and 2100")
    frozen: StrictBool | None = None

    @field_validator("at")
    @classmethod
    def instant(cls, value: str | float) -> float:
        try:
            if isinstance(value, str) and not TIMESTAMP.match(value):
                raise ValueError(value)
            seconds = parse_instant(value)
        except (ValueError, OverflowError):
            raise ValueError("expected Unix seconds or an ISO 8601 timestamp") from None
        if not math.isfinite(seconds) or not 0 <= seconds < LATEST:
            raise ValueError(OUT_OF_RANGE)
        return seconds


def _clock_changed(request: Request) -> dict:
    lab = lab_of(request)
    state = lab.clock.state()
    lab.audit.record("clock_changed", now=state["iso"], frozen=state["frozen"])
    return state


@router.get("/clock")
async def clock(request: Request) -> dict:
    return lab_of(request).clock.state()


@router.post("/clock/advance")
async def advance(step: Advance, request: Request) -> dict:
    """Move the lab clock forward (or back) by some seconds: expire a token without waiting."""
    clock = lab_of(request).clock
    # Unchecked, repeated steps would reach years datetime cannot show: every later audit record would fail.
    if not 0 <= clock.now() + step.seconds < LATEST:
        raise Conflict(OUT_OF_RANGE)  # 409: a well-formed step, too far from where the clock is now
    clock.advance(step.seconds)
    return _clock_changed(request)


@router.post("/clock/set")
async def set_clock(change: SetClock, request: Request) -> dict:
    clock = lab_of(request).clock
    # Freeze before setting: set-then-freeze on a running clock would stop a few microseconds past "at".
    if change.frozen is True:
        clock.freeze()
    clock.set(change.at)
    if change.frozen is False:
        clock.run()
    return _clock_changed(request)


@router.post("/clock/freeze")
async def freeze(request: Request) -> dict:
    lab_of(request).clock.freeze()
    return _clock_changed(request)


@router.post("/clock/run")
async def run(request: Request) -> dict:
    lab_of(request).clock.run()
    return _clock_changed(request)


@router.get("/audit")
async def audit(request: Request, since: int = 0) -> list[dict]:
    """The audit log, oldest first; pass since=<last id seen> for what is new."""
    return lab_of(request).audit.events(since)


@router.delete("/audit")
async def clear_audit(request: Request) -> dict:
    lab_of(request).audit.clear()
    return {"cleared": True}


@router.get("/stats")
async def stats(request: Request) -> dict:
    """Requests, store reads and store writes per kind of request since the last reset."""
    return dict(sorted(lab_of(request).store.counters.items()))


@router.delete("/stats")
async def clear_stats(request: Request) -> dict:
    lab_of(request).store.counters.clear()
    return {"cleared": True}


@router.get("/store/{table}")
async def store_table(table: Annotated[str, Path(json_schema_extra={"enum": list(TABLES)})],
                      request: Request) -> list[dict]:
    """The rows of one store table, as the server sees them (secrets are stored hashed; password hashes not shown)."""
    if table not in TABLES:
        raise NotFound(f"tables: {', '.join(TABLES)}")
    return [{k: v for k, v in row.items() if k not in HIDDEN_COLUMNS} for row in lab_of(request).store.dump(table)]


@router.get("/settings")
async def settings(request: Request) -> dict:
    return lab_of(request).settings.public_view()


@router.post("/keys/rotate")
async def rotate_keys(request: Request) -> dict:
    """Sign with a new key from now on; the old public key stays published until its tokens expire."""
    lab = lab_of(request)
    old = lab.keys.active.kid
    new = lab.keys.rotate(lab.now())
    lab.audit.record("keys_rotated", old_kid=old, new_kid=new.kid)
    return {"kid": new.kid, "previous_kid": old}


@router.post("/keys/rotate-now")
async def rotate_keys_now(request: Request) -> dict:
    """Emergency rotation, after a leak: sign with a new key and drop every old key at once. Every access token
    issued before now is refused ("unknown key id"); refresh tokens are not signed with it, so clients recover."""
    lab = lab_of(request)
    new, dropped = lab.keys.rotate_now(lab.now())
    lab.audit.record("keys_rotated_now", dropped_kids=dropped, new_kid=new.kid)
    return {"kid": new.kid, "dropped_kids": dropped}


HIDDEN = "this lab is a black-box challenge: its flaw is for you to find (POST /lab/challenge to answer)"


@router.get("/flaws")
async def flaws(request: Request) -> dict:
    """The DELIBERATELY VULNERABLE flaws switched on now, and every flaw there is (lesson 06)."""
    lab = lab_of(request)
    if lab.challenge is not None:
        raise Forbidden(HIDDEN)
    return {"enabled": lab.flaws.enabled, "available": FLAWS}


FlawName = Annotated[StrictStr, WithJsonSchema({"type": "string", "enum": list(FLAWS)})]


@router.put("/flaws")
async def set_flaws(names: list[FlawName], request: Request) -> dict:
    """Switch exactly these flaws on (a JSON list of names; [] for none). Takes effect on the next request.

    An unknown name is a bad request (400); a flaw this lab's algorithm cannot have is a conflict (409).
    """
    lab = lab_of(request)
    if lab.challenge is not None:
        raise Forbidden(HIDDEN)
    unknown = [name for name in names if name not in FLAWS]
    if unknown:
        raise InvalidRequest(f"unknown lab flaw {unknown[0]!r}; the flaws are: {', '.join(FLAWS)}")
    try:
        enabled = lab.flaws.set(names)
    except ValueError as exc:
        raise Conflict(str(exc)) from None
    lab.audit.record("flaws_changed", enabled=enabled)
    return {"enabled": enabled, "available": FLAWS}


class RefereeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    budget: int | None = Field(default=None, ge=0, le=100_000, strict=True)
    hold_refresh: StrictFloat = Field(default=0.0, ge=0, le=MAX_HOLD, allow_inf_nan=False)
    refuse_access: StrictBool = False


# Left out of the API document, like the lab page: a facility for checks, which a fuzzer must not switch on
# (a budget of 0 would refuse its own logins). Loopback only, like every /lab/ route.
@router.get("/referee", include_in_schema=False)
async def referee(request: Request) -> dict:
    """The token-request budget and refresh hold a check set (labserver.control.referee), and the count so far."""
    return lab_of(request).referee.state()


@router.put("/referee", include_in_schema=False)
async def set_referee(change: RefereeSettings, request: Request) -> dict:
    """Set a token-request budget (null: none), a refresh hold in seconds (0: none) and whether every access
    token is refused; counting starts afresh.

    For checks of client code: past the budget the token endpoint answers 429; the first refresh waits up to
    hold_refresh seconds for a second one; with refuse_access, bearer routes answer 401 to every token. All end
    at a reset.
    """
    lab = lab_of(request)
    state = lab.referee.set(change.budget, change.hold_refresh, change.refuse_access)
    lab.audit.record("referee_changed", budget=change.budget, hold_refresh=change.hold_refresh,
                     refuse_access=change.refuse_access)
    return state


@router.post("/reset")
async def reset(request: Request) -> dict:
    """Forget codes, sessions, refresh families, denylist, login failures, audit and counters; seeded users and flaws back as started."""
    lab = lab_of(request)
    if lab.challenge is None:  # a challenge keeps its hidden flaw, and its count of answers
        lab.flaws.set(lab.settings.flaws)
    lab.store.clear("authorization_codes", "sessions", "refresh_tokens", "refresh_families", "denylist",
                    "access_tokens")
    lab.users.reset(lab.seeded)
    lab.throttle.clear()
    lab.referee.reset()
    lab.audit.clear()
    lab.store.counters.clear()
    lab.audit.record("reset")
    return {"reset": True}


class ChallengeAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flaw: Annotated[StrictStr, Field(max_length=64)]
    token: Annotated[StrictStr, Field(max_length=8192)]


@router.get("/challenge")
async def challenge(request: Request) -> dict:
    """A black-box challenge: the flaws it may have, the answers left, and whether it is solved."""
    lab = _challenge_lab(request)
    return {"candidates": sorted(FORGEABLE), "attempts_left": lab.challenge.attempts_left,
            "solved": lab.challenge.solved}


@router.post("/challenge")
async def answer_challenge(answer: ChallengeAnswer, request: Request) -> dict:
    """Name the hidden flaw and prove it with a forged admin token; the reply says right or wrong, nothing more.

    Each answer counts (three per challenge); after the last, 403 until a new challenge (a new lab).
    """
    lab = _challenge_lab(request)
    secure = AccessTokens(lab.settings, lab.keys, lab.randomness)  # no flaws: what the fix would say

    def proves() -> bool:
        now = lab.now()
        try:
            claims = lab.tokens.verify(answer.token, now).claims
        except InvalidToken:
            return False
        if "admin" not in claims.get("roles", []):
            return False
        try:
            secure.verify(answer.token, now)
        except InvalidToken:
            return True
        return False  # a genuine admin token proves nothing

    # Off the event loop: a jku or x5u flaw may fetch from this very server while it verifies.
    right = await run_in_threadpool(lab.challenge.answer, answer.flaw, proves)
    if right is None:
        raise Forbidden("no attempts left: this challenge is over; start a new one")
    lab.audit.record("challenge_answered")
    return {"correct": right, "attempts_left": lab.challenge.attempts_left}


def _challenge_lab(request: Request):
    lab = lab_of(request)
    if lab.challenge is None:
        raise NotFound("this lab is not a challenge: start one with labserver.start(challenge=...)")
    return lab
