"""The app factory: wire settings, clock, store and services into one FastAPI application."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from labserver import accounts
from labserver.audit import AuditLog
from labserver.bodylimit import LimitBodySize
from labserver.clock import LabClock
from labserver.denylist import Denylist
from labserver.errors import install_error_handlers
from labserver.flaws import Flaws
from labserver.hsts import StrictTransportSecurity
from labserver.keys import KeyRing
from labserver.metrics import CountStoreUse
from labserver.openapi import install_openapi
from labserver.passwords import Passwords
from labserver.randomness import Randomness, randomness_for
from labserver.refresh import RefreshTokens
from labserver.routes import admin, api, lab, oauth, page, sessions, wellknown
from labserver.sessions import Sessions
from labserver.settings import Settings
from labserver.store import Store
from labserver.throttle import LoginThrottle
from labserver.tokens import AccessTokens
from labserver.users import Users


@dataclass
class Lab:
    """Everything one server holds; routes reach it as ``request.app.state.lab``."""

    settings: Settings
    clock: LabClock
    randomness: Randomness
    store: Store
    audit: AuditLog
    users: Users
    sessions: Sessions
    keys: KeyRing
    tokens: AccessTokens
    refresh: RefreshTokens
    denylist: Denylist
    flaws: Flaws
    throttle: LoginThrottle
    # The accounts created at start (what a lab reset restores), and whether they are the public demo ones.
    seeded: tuple = ()
    demo: bool = False
    # What every /lab/ request must send (labserver.routes.lab): the OS's randomness, never the lab's seed.
    lab_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    def now(self) -> float:
        return self.clock.now()

    def close(self) -> None:
        """Close the store and remove the files a flaw made (its key folder); called once serving ends."""
        self.tokens.close()
        self.store.close()


def keys_path(settings: Settings) -> str | None:
    if settings.keys:
        return settings.keys
    return None if settings.db == ":memory:" else str(Path(settings.db).with_suffix(".keys.json"))


def build_lab(settings: Settings, clock: LabClock | None = None) -> Lab:
    clock = clock or LabClock(frozen_at=settings.frozen_at)
    randomness = randomness_for(settings.seed)
    store = Store(settings.db)
    audit = AuditLog(clock.now)
    users = Users(store, Passwords(randomness))
    seeded, demo = accounts.seed(settings, users, store, clock.now())
    # Retired keys verify for one access-token lifetime (plus leeway) after rotation, then go.
    keys = KeyRing(settings.algorithm, keys_path(settings), randomness,
                   keep_for=settings.access_ttl + settings.leeway, now=clock.now())
    denylist = Denylist(store, settings.denylist)
    flaws = Flaws(settings.algorithm, settings.flaws)  # LAB ONLY: all off unless asked for, loopback only
    tokens = AccessTokens(settings, keys, randomness, flaws)
    # A remembered signature check must not outlive a change in how tokens are verified.
    flaws.listeners.append(tokens.forget_verified)
    return Lab(settings=settings, clock=clock, randomness=randomness, store=store, audit=audit, users=users,
               sessions=Sessions(store, settings, randomness), keys=keys, tokens=tokens,
               refresh=RefreshTokens(store, settings, users, randomness, audit, denylist),
               denylist=denylist, flaws=flaws, seeded=seeded, demo=demo,
               throttle=LoginThrottle(settings.login_failures_per_account, settings.login_failures_per_address,
                                      settings.login_window, settings.login_lockout))


def create_app(settings: Settings | None = None, *, clock: LabClock | None = None) -> FastAPI:
    """Return the lab server application for these settings (defaults: the course material's numbers)."""
    settings = settings or Settings()
    # Swagger UI loads its scripts from a CDN; the course runs offline, so only /openapi.json is served.
    app = FastAPI(title="JWT course lab server", version="1", docs_url=None, redoc_url=None,
                  description="Cookie sessions, JWT access tokens and refresh-token rotation, for learning.",
                  # No OpenTelemetry here (the lab counts its own: /lab/metrics, /lab/audit). Left on, FastAPI
                  # asks for the global providers on every request, which costs more than verifying a token.
                  telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False})
    app.state.lab = build_lab(settings, clock)
    install_error_handlers(app)
    app.add_middleware(CountStoreUse, counters=app.state.lab.store.counters)
    app.add_middleware(LimitBodySize)
    if settings.uses_tls:
        app.add_middleware(StrictTransportSecurity)
    for module in (api, sessions, oauth, admin, wellknown):
        app.include_router(module.router)
    if settings.lab_controls:
        app.include_router(lab.router)
        app.include_router(page.router)  # lab page with a deliberate XSS hole: loopback only, like the controls
    install_openapi(app, app.state.lab.sessions.cookie_name())
    return app
