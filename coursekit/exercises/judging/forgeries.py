"""How lesson 06's forge checks judge a learner's forged token: by what the lab answers, with the flaw on and
then off, never by how the token was made."""

from __future__ import annotations

import json

from coursekit.kit.exercise import Incorrect
from coursekit.labtools.client import bearer, claims, http_session
from coursekit.pictures.tokenview import decode_segment
from labserver import LabServer

__all__ = ["alg_of", "attack", "forged_token", "header_of"]


def forged_token(forged) -> dict:
    if not isinstance(forged, str):
        raise Incorrect(f"forge should return the forged token as a str, not {type(forged).__name__}")
    try:
        payload = claims(forged)
    except (ValueError, IndexError):
        raise Incorrect("what forge returned is not a JWT (header.payload.signature)") from None
    if not isinstance(payload, dict) or "admin" not in (payload.get("roles") or []):
        roles = payload.get("roles") if isinstance(payload, dict) else None
        raise Incorrect(f"the forged token says roles {roles!r}: the admin route needs \"roles\": [\"admin\"]")
    return payload


def header_of(forged: str) -> dict | None:
    """The forged token's header, or None when it is not a JSON object (then the lab's verdict is what counts)."""
    try:
        header = json.loads(decode_segment(forged.split(".")[0]))
    except (ValueError, IndexError):  # also JSONDecodeError, UnicodeDecodeError
        return None
    return header if isinstance(header, dict) else None


def attack(lab: LabServer, flaw: str, forged: str, advice: dict[str, str]) -> str:
    """Send the forged token to /api/admin with the flaw on, then off; return the success message."""
    forged_token(forged)
    http = http_session()
    r = http.get(lab.url + "/api/admin", headers=bearer(forged), timeout=10)
    if r.status_code != 200:
        why = r.json().get("error_description", "")
        raise Incorrect(f"on a fresh lab with the flaw {flaw} on, /api/admin answered {r.status_code} ({why})"
                        + (f": {advice[why]}" if why in advice else ""))
    lab.flaws.set([])
    r = http.get(lab.url + "/api/admin", headers=bearer(forged), timeout=10)
    return (f"your token got 200 from /api/admin on a fresh lab with {flaw} on; with the flaw off, the same "
            f"token gets {r.status_code} ({r.json().get('error_description')}).")


def alg_of(forged: str) -> object:
    return json.loads(decode_segment(forged.split(".")[0])).get("alg")
