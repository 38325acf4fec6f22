"""The app factory: one lab (labserver.lab) behind the HTTP edge (labserver.web) as a FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from labserver.control.clock import LabClock
from labserver.control.ledger import NumberControls
from labserver.control.metrics import CountStoreUse
from labserver.control.settings import Settings
from labserver.lab import build_lab
from labserver.web.bodylimit import LimitBodySize
from labserver.web.errors import install_error_handlers
from labserver.web.hsts import StrictTransportSecurity
from labserver.web.openapi import install_openapi
from labserver.web.routes import admin, api, authorize, lab, oauth, page, sessions, wellknown


def create_app(settings: Settings | None = None, *, clock: LabClock | None = None) -> FastAPI:
    """Return the lab server application for these settings (defaults: the course material's numbers)."""
    settings = settings or Settings()
    # Swagger UI loads its scripts from a CDN; the course runs offline, so only /openapi.json is served.
    app = FastAPI(title="JWT course lab server", version="1", docs_url=None, redoc_url=None,
                  description="Cookie sessions, JWT access tokens, refresh-token rotation and the authorization code "
                              "flow with PKCE, for learning.",
                  # No OpenTelemetry here (the lab counts its own: /lab/metrics, /lab/audit). Left on, FastAPI
                  # asks for the global providers on every request, which costs more than verifying a token.
                  telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False})
    app.state.lab = build_lab(settings, clock)
    install_error_handlers(app)
    app.add_middleware(CountStoreUse, counters=app.state.lab.store.counters)
    app.add_middleware(LimitBodySize)
    app.add_middleware(NumberControls)
    if settings.uses_tls:
        app.add_middleware(StrictTransportSecurity)
    for module in (api, sessions, oauth, authorize, admin, wellknown):
        app.include_router(module.router)
    if settings.lab_controls:
        app.include_router(lab.router)
        app.include_router(page.router)  # lab page with a deliberate XSS hole: loopback only, like the controls
    install_openapi(app, app.state.lab.sessions.cookie_name(), app.state.lab.clients)
    return app
