"""The lab's login page for the authorization code flow, and the page that shows an error it must not redirect.

Plain HTML made on the server, every value escaped, no script at all, and headers that keep it that way:
a Content-Security-Policy that allows nothing but this page's own style and a form posting to this server
(and, after the login, the redirect to the client: Chromium checks ``form-action`` on the redirect too),
``frame-ancestors 'none'`` so no other site can frame the page and trick a click on it (clickjacking),
no caching, and no Referer sent to other sites.
"""

from __future__ import annotations

import base64
import hashlib
import html
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse

STYLE = ("body{font:16px system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}"
         "label,input,button{display:block;width:100%;margin:.3rem 0}input,button{padding:.4rem}"
         ".who{color:#555}.error{color:#a00}")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()


def headers(redirect_uri: str | None = None) -> dict[str, str]:
    """The page's security headers; ``redirect_uri``'s origin is where the login form may end up."""
    form_action = "'self'"
    if redirect_uri:
        parts = urlsplit(redirect_uri)
        form_action += f" {parts.scheme}://{parts.netloc}"
    policy = (f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action {form_action}; "
              "frame-ancestors 'none'; base-uri 'none'")
    return {"Content-Security-Policy": policy, "X-Frame-Options": "DENY", "Cache-Control": "no-store",
            # same-origin, not no-referrer: with no-referrer Chromium posts the form with "Origin: null".
            "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"}


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width"><style>{STYLE}</style></head>'
            f'<body><main>{body}</main></body></html>')


def login_page(request: dict[str, str], client_id: str, redirect_uri: str, message: str = "",
               status: int = 200, extra: dict[str, str] | None = None) -> HTMLResponse:
    """The form: username, password, and the authorization request carried along in hidden fields."""
    hidden = "".join(f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
                     for name, value in request.items())
    where = urlsplit(redirect_uri)
    error = f'<p class="error" id="message" role="alert">{html.escape(message)}</p>' if message else ""
    body = (f"<h1>Log in to the lab</h1>"
            f'<p class="who" id="client">The application <b>{html.escape(client_id)}</b> asks to act as you. '
            f"After you log in, you are sent back to <b>{html.escape(where.scheme)}://"
            f"{html.escape(where.netloc)}</b>.</p>{error}"
            f'<form method="post" action="/oauth/authorize">{hidden}'
            '<label for="username">Username</label>'
            '<input id="username" name="username" autocomplete="username" required>'
            '<label for="password">Password</label>'
            '<input id="password" name="password" type="password" autocomplete="current-password" required>'
            '<button id="login" type="submit">Log in</button></form>')
    return HTMLResponse(_page("Log in to the lab", body), status_code=status,
                        headers={**headers(redirect_uri), **(extra or {})})


def error_page(error: str, description: str, status: int = 400) -> HTMLResponse:
    """An error shown to the user, not sent to a redirect URI that cannot be trusted (RFC 6749 §4.1.2.1)."""
    body = (f'<h1>This login request cannot be used</h1><p class="error" id="error">{html.escape(error)}</p>'
            f'<p id="error_description">{html.escape(description)}</p>'
            "<p>The application that sent you here is misconfigured, or the link was not made by it. "
            "Nothing was sent back to it.</p>")
    return HTMLResponse(_page("Login error", body), status_code=status, headers=headers())
