"""The code flow against a real lab server process: a stock client library, the lesson's own tools, the lesson's
web app (with and without its state check), and a real headless Chromium clicking the login page."""

from __future__ import annotations

import pytest
from oauthlib.oauth2 import WebApplicationClient
from requests_oauthlib import OAuth2Session

import labserver
from conftest import T0
from coursekit.labtools.browser import Chromium
from coursekit.labtools.codeflow.browser import code_flow_login
from coursekit.labtools.client import bearer, http_session
from coursekit.labtools.codeflow.steps import Callback, authorization_url, log_in_at_page, pkce_pair, query_of, redeem
from coursekit.labtools.codeflow.app import LessonApp


@pytest.fixture(scope="module")
def lab():
    # Named as the lessons name their labs: the issuer is not the URL the server answers at.
    with labserver.start(frozen_at=T0, issuer="https://lab.jwt-course.test") as server:
        yield server


def test_requests_oauthlib_completes_the_code_flow_with_s256_unmodified(lab, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback
    browser = http_session()
    # Where the endpoints are, from the lab's metadata (RFC 8414), as a client configured by discovery finds them.
    metadata = browser.get(lab.url + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert metadata["token_endpoint"] == lab.url + "/oauth/token"
    with Callback() as callback:
        client = OAuth2Session(client=WebApplicationClient("jwt-course"), redirect_uri=callback.redirect_uri,
                               pkce="S256")
        client.trust_env = False
        url, state = client.authorization_url(metadata["authorization_endpoint"])
        assert "code_challenge_method=S256" in url
        browser.get(log_in_at_page(browser, url, "bob"), timeout=10)
        response_url = callback.redirect_uri + "?" + "&".join(f"{k}={v}" for k, v in callback.wait().items())
        assert callback.caught["state"] == state
        token = client.fetch_token(metadata["token_endpoint"], authorization_response=response_url,
                                   include_client_id=True)
    assert token["token_type"] == "Bearer" and token["expires_in"] == 1800
    me = client.get(lab.url + "/api/me", timeout=10)
    assert (me.status_code, me.json()["username"]) == (200, "bob")
    refreshed = client.refresh_token(metadata["token_endpoint"], client_id="jwt-course")
    assert refreshed["refresh_token"] != token["refresh_token"]


def test_the_lessons_tools_run_the_flow_step_by_step(lab):
    verifier, challenge = pkce_pair()
    browser = http_session()
    with Callback() as callback:
        location = log_in_at_page(browser, authorization_url(lab, callback.redirect_uri, "s-1", challenge), "alice")
        assert query_of(location)["state"] == "s-1"
        browser.get(location, timeout=10)
        caught = callback.wait()
    assert caught == query_of(location)
    assert redeem(lab, caught["code"], callback.redirect_uri, None).json()["error"] == "invalid_request"
    tokens = redeem(lab, caught["code"], callback.redirect_uri, verifier)
    assert tokens.status_code == 200, tokens.text
    me = lab.http.get(lab.url + "/api/me", headers=bearer(tokens.json()["access_token"]), timeout=10)
    assert me.json()["username"] == "alice"


def test_log_in_at_page_says_what_the_page_refused(lab):
    with pytest.raises(ValueError, match="the login page answered 400: .*unknown client 'nobody'"):
        log_in_at_page(http_session(), authorization_url(lab, "http://127.0.0.1/cb", "s", "c" * 43,
                                                         client_id="nobody"), "alice")
    with pytest.raises(ValueError, match="the login page answered 200: .*Incorrect username or password"):
        log_in_at_page(http_session(), authorization_url(lab, "http://127.0.0.1/callback", "s", "c" * 43),
                       "alice", "wrong")


def _mallorys_trap(app) -> str:
    """Mallory starts a login at the app in his own browser, logs in as himself, and keeps the redirect."""
    mallory = http_session()
    start = mallory.get(app.url + "/login", allow_redirects=False, timeout=10)
    return log_in_at_page(mallory, start.headers["location"], "bob")


@pytest.mark.parametrize(("check_state", "alice_sees", "whoami"), [
    (False, "logged in as bob", "logged in as bob"),
    (True, "state does not match a login this browser started: refused", "not logged in"),
])
def test_login_csrf_the_app_without_a_state_check_logs_alice_in_as_the_attacker(lab, check_state, alice_sees,
                                                                                 whoami):
    with LessonApp(lab, check_state=check_state) as app:
        trap = _mallorys_trap(app)
        alice = http_session()
        alice.get(app.url + "/whoami", timeout=10)
        r = alice.get(trap, timeout=10)
        assert alice_sees in r.text
        assert whoami in alice.get(app.url + "/whoami", timeout=10).text


def test_the_app_logs_in_its_own_user_when_state_is_checked(lab):
    with LessonApp(lab) as app:
        alice = http_session()
        start = alice.get(app.url + "/login", allow_redirects=False, timeout=10)
        r = alice.get(log_in_at_page(alice, start.headers["location"], "alice"), timeout=10)
        assert "logged in as alice" in r.text
        assert "logged in as alice" in alice.get(app.url + "/whoami", timeout=10).text


def test_a_real_browser_logs_in_by_clicking_the_login_page(lab, chromium):
    with LessonApp(lab) as app, Chromium(chromium) as browser:
        outcome = code_flow_login(browser, app, "alice")
        wrong = browser.drive(lambda b, timeout: _wrong_password(b, app))
        control = browser.drive(lambda b, timeout: _frame(b, app, lab.url + "/api/hello"))
    assert outcome["steps"] == ["GET app /login", "GET lab /oauth/authorize", "POST lab /oauth/authorize",
                                "GET app /callback", "GET app /whoami"]
    assert outcome["login page"] == {"title": "Log in to the lab", "asks": (
        "The application jwt-course asks to act as you. After you log in, you are sent back to "
        "http://127.0.0.1:<app port>.")}
    assert (outcome["app says"], outcome["app then says"]) == ("logged in as alice", "logged in as alice")
    assert (outcome["frame-ancestors"], outcome["script-src"]) == (True, False)
    assert outcome["framed by another site"] == "refused by the browser (frame-ancestors 'none')"
    assert wrong == "Incorrect username or password"
    assert control == lab.url + "/api/hello"  # a page without frame-ancestors does load in the frame


def _frame(browser, app, url: str) -> str:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(app.url + "/whoami")
        page.set_content(f'<iframe id="f" src="{url}"></iframe>')
        return page.main_frame.child_frames[0].url
    finally:
        context.close()


def _wrong_password(browser, app) -> str:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(app.url + "/login")
        page.fill("#username", "alice")
        page.fill("#password", "not-her-password")
        page.click("#login")
        return page.inner_text("#message")
    finally:
        context.close()


def test_the_flow_is_drawn_from_what_reached_the_lab(lab):
    from coursekit.labtools.codeflow.app import says
    from coursekit.pictures.flows import record

    with LessonApp(lab) as app, record(lab, client="Browser, then app") as flow:
        browser = http_session()
        start = browser.get(app.url + "/login", allow_redirects=False, timeout=10)
        landed = browser.get(log_in_at_page(browser, start.headers["location"], "alice"), timeout=10)
    assert says(landed) == "logged in as alice"
    arrows = [line for line in flow.lines if "->>" in line]
    assert arrows == [
        "C->>S: GET /oauth/authorize client_id=jwt-course code_challenge_method=S256",
        "S-->>C: 200 login page",
        "C->>S: POST /oauth/authorize (alice)",
        "S->>D: 1 read, 1 write",
        "S-->>C: 303 back to the redirect URI with code state iss",
        "C->>S: POST /oauth/token grant_type=authorization_code",
        "S->>D: 2 reads, 3 writes",
        "S-->>C: 200 access token + refresh token",
        "C->>S: GET /api/me with a Bearer token",
        "S-->>C: 200 alice",
    ]
    assert "participant C as Browser, then app" in flow.mermaid()
    assert "Note over S,D: code_issued (alice, jwt-course)" in flow.lines
