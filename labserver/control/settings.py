"""Settings of one lab server: lifetimes, algorithm, store location and lab-only switches."""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from labserver.control.flaws import check_flaws

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
YEAR = 365 * DAY

ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")
ROLES = ("user", "admin")

# Seeded into a new, empty store on a loopback address when no accounts are given (labserver.accounts.initial).
# Public knowledge: lab use only.
DEMO_USERS = (
    ("alice", "alice-password", "user"),
    ("bob", "bob-password", "user"),
    ("admin", "admin-password", "admin"),
)


@dataclass(frozen=True)
class Settings:
    """Everything that makes one lab server differ from another; defaults are the course material's numbers."""

    host: str = "127.0.0.1"
    port: int = 8000
    # Defaults to the URL the server answers on (see with_bound_port).
    issuer: str | None = None
    audience: str = "lab-api"
    client_id: str = "jwt-course"
    # Where the code flow may send client_id's codes (labserver.oauth.clients): loopback addresses, any port
    # (RFC 8252 §7.3), for a native app such as a notebook.
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1/callback", "http://[::1]/callback")
    # More registered clients of the code flow: (client_id, (redirect URI, ...)) each.
    clients: tuple[tuple[str, tuple[str, ...]], ...] = ()
    algorithm: str = "HS256"

    access_ttl: float = 30 * MINUTE
    refresh_absolute_ttl: float = YEAR
    refresh_idle_ttl: float = 30 * DAY
    # Grace period in which a just-used refresh token may be presented again (two tabs racing); 0 is off.
    refresh_reuse_interval: float = 0
    # An authorization code is redeemed within this many lab seconds (RFC 6749 §4.1.2: short-lived).
    code_ttl: float = MINUTE
    session_idle_ttl: float = 30 * MINUTE
    session_absolute_ttl: float = 8 * HOUR
    # Allowed clock skew when checking exp/nbf/iat.
    leeway: float = 0
    # Login throttling (labserver.accounts.throttle), by the lab clock: failed logins allowed in a row per
    # account name (a quiet window ends the row), then each attempt waits twice as long as the one before, at
    # most login_lockout; per client address, failures within the window, then until the oldest leaves it.
    login_failures_per_account: int = 10
    login_failures_per_address: int = 50
    login_window: float = 15 * MINUTE
    login_lockout: float = MINUTE
    # Proxies whose X-Forwarded-For/-Proto name the client (uvicorn's proxy headers). None by default: any
    # local user could otherwise send a new "address" with each guess.
    trusted_proxies: tuple[str, ...] = ()
    # Access-token jti denylist: off by default, it is the state JWT was meant to avoid.
    denylist: bool = False
    # Verified access tokens remembered, so a token presented again skips its signature check
    # (labserver.tokens.verified); expiry, key retirement and the denylist are still checked on every request.
    # 0 verifies every request from scratch.
    remember_tokens: int = 256

    # ":memory:" keeps nothing after exit; a file path survives restarts.
    db: str = ":memory:"
    # JWK Set file with the signing keys; None means next to the db (or in memory for ":memory:").
    keys: str | None = None
    users: tuple[tuple[str, str, str], ...] = ()
    # A file of NAME:PASSWORD:ROLE lines: accounts without passwords in the process list.
    users_file: str | None = None

    # Host names (without port) clients use to reach a server on a network address, besides its loopback names;
    # the lab page and the login routes refuse any other Host (DNS rebinding). Given with --server-name.
    server_names: tuple[str, ...] = ()

    tls_cert: str | None = None
    tls_key: str | None = None

    # Start with the lab clock frozen at this Unix time (None: follow the wall clock).
    frozen_at: float | None = None
    # LAB ONLY: makes every random value (secrets, ids, salts) predictable. Loopback only.
    seed: int | None = None
    # The /lab/ controls (clock, store views, reset). Refused on anything but loopback.
    lab_controls: bool = True
    # Where the server writes its lab secret, which every /lab/ request must send (labserver.web.routes.lab):
    # None is the owner's private runtime folder, "" is nowhere (only the program that started it gets it).
    lab_secret_file: str | None = None
    # LAB ONLY, DELIBERATELY VULNERABLE when False: the lab page (/app/) is served without its
    # Content-Security-Policy, so its simulated XSS runs (lesson 08). The page exists on loopback only.
    page_csp: bool = True
    # LAB ONLY, DELIBERATELY VULNERABLE: flaws switched on at start (see labserver.control.flaws). Loopback only.
    flaws: tuple[str, ...] = ()
    # LAB ONLY, DELIBERATELY VULNERABLE: a black-box challenge (labserver.control.challenge). A private file
    # holding its seed (empty: the server draws one); read and deleted at start. Loopback only.
    challenge_file: str | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        for name in ("access_ttl", "refresh_absolute_ttl", "refresh_idle_ttl", "code_ttl", "session_idle_ttl",
                     "session_absolute_ttl"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if (self.login_failures_per_account < 1 or self.login_failures_per_address < 1 or self.login_window <= 0
                or self.login_lockout <= 0):
            raise ValueError("login throttling limits and window must be positive")
        if self.refresh_reuse_interval < 0 or self.leeway < 0:
            raise ValueError("refresh_reuse_interval and leeway cannot be negative")
        if self.remember_tokens < 0:
            raise ValueError("remember_tokens cannot be negative")
        for name, _password, role in self.users:
            if role not in ROLES:
                raise ValueError(f"user {name!r}: role must be one of {', '.join(ROLES)}")
        for name in self.server_names:
            if not name or any(c in name for c in ":/[] ") or name != name.strip():
                raise ValueError(f"server name {name!r} must be a host name without port, like class.example.edu")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_address(proxy)
            except ValueError:
                raise ValueError(f"trusted proxy {proxy!r} is not an IP address") from None
        check_flaws(self.flaws, self.algorithm)
        if self.challenge_file and self.flaws:
            raise ValueError("a challenge lab hides its one flaw: start it without flaws")
        from labserver.oauth.clients import check_registrations  # here: it needs no more than these fields

        check_registrations(((self.client_id, self.redirect_uris), *self.clients))
        if not self.is_loopback:
            if self.flaws or self.challenge_file:
                raise ValueError("lab flaws make the server accept forged tokens: they are allowed on a loopback "
                                 "address only")
            if self.seed is not None:
                raise ValueError("seed makes secrets predictable: it is allowed on a loopback address only")
            if self.lab_controls:
                raise ValueError("lab controls let anyone move the clock: they are allowed on a loopback "
                                 "address only (pass lab_controls=False)")

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def uses_tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.uses_tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def keys_file(self) -> str | None:
        """Where the signing keys are kept: ``keys``, else beside the store; None for an in-memory lab."""
        if self.keys:
            return self.keys
        return None if self.db == ":memory:" else str(Path(self.db).with_suffix(".keys.json"))

    @property
    def issuer_id(self) -> str:
        return self.issuer or self.base_url

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    def public_view(self) -> dict:
        """Return the settings a learner may see (no passwords)."""
        view = dataclasses.asdict(self)
        view["users"] = [name for name, _pw, _role in self.users]
        view["issuer"] = self.issuer_id
        if self.challenge_file:  # a black-box challenge: its one flaw is not among the flaws it started with
            view["flaws"] = "hidden (a black-box challenge)"
        return view


_UNITS = {"s": 1, "m": MINUTE, "h": HOUR, "d": DAY, "w": 7 * DAY, "y": YEAR}


def parse_duration(text: str) -> float:
    """Read a duration such as "90", "90s", "30m", "12h", "14d", "2w" or "1y" as seconds."""
    text = text.strip().lower()
    unit = _UNITS.get(text[-1:]) if text else None
    number = text[:-1] if unit else text
    try:
        value = float(number) * (unit or 1)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (try 90s, 30m, 12h, 14d, 1y)") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"not a duration: {text!r}")
    return value
