"""What a check of client code reads at the lab, whatever HTTP library the client uses: token requests counted
by the server, a budget past which it refuses them (a loop shows at the server, not in one library's
exceptions), a refresh it holds until a second one races it, and a login it ends as after a theft.

The server side is ``labserver.control.referee`` (lab controls, loopback only, off until a check asks).
"""

from __future__ import annotations

from typing import Any

from coursekit.labtools.client import bearer, http_session, log_in
from labserver import LabServer

__all__ = ["referee", "token_requests", "budget_spent", "end_logins", "status_of", "json_of"]


def referee(lab: LabServer, *, budget: int | None = None, hold_refresh: float = 0.0,
            refuse_access: bool = False) -> None:
    """Allow ``budget`` token requests from now on (None: no limit), hold a lone refresh ``hold_refresh`` s, and
    with ``refuse_access`` have bearer routes refuse every access token, new ones too."""
    lab.call("PUT", "/lab/referee", json={"budget": budget, "hold_refresh": float(hold_refresh),
                                          "refuse_access": refuse_access})


def token_requests(lab: LabServer) -> int:
    """Token requests the server received since the referee was last set."""
    return lab.call("GET", "/lab/referee")["token_requests"]


def budget_spent(lab: LabServer) -> bool:
    """Whether the server has refused a token request for want of budget (the client looped)."""
    return any(e["event"] == "token_budget_spent" for e in lab.audit())


def end_logins(lab: LabServer, username: str) -> None:
    """End every login of ``username`` at the server, as it does on detected theft: an admin disables the
    account (which revokes its refresh-token families) and enables it again, so a new password login works."""
    http = http_session()
    admin = bearer(log_in(lab, "admin")["access_token"])
    for disabled in (True, False):
        r = http.patch(f"{lab.url}/admin/users/{username}", json={"disabled": disabled}, headers=admin, timeout=10)
        r.raise_for_status()


def status_of(response: Any) -> int | None:
    """The HTTP status of a response from requests, httpx or urllib (None if it is not a response)."""
    for name in ("status_code", "status"):
        value = getattr(response, name, None)
        if isinstance(value, int):
            return value
    getcode = getattr(response, "getcode", None)
    return getcode() if callable(getcode) else None


def json_of(response: Any) -> Any:
    """The JSON body of a response from requests or httpx (None where it cannot be read without consuming it)."""
    reader = getattr(response, "json", None)
    try:
        return reader() if callable(reader) else None
    except ValueError:
        return None
