"""Lesson 10 in a real browser: log in to the lesson's app through the lab's login page, by clicking it.

    with LessonApp(lab) as app, Chromium() as chromium:
        print_browser_login(code_flow_login(chromium, app, "alice"))

The browser opens the app's /login, which sends it to the lab's login page; the username and password are
typed into the page and its button clicked, as a person would; the lab sends the browser back to the app's
callback with the code, and the app redeems it. What comes back is what the browser saw on the way, without
ports or secrets (the lesson prints it). Also here: the login page refuses to be framed by another site.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["code_flow_login", "print_browser_login"]


def code_flow_login(chromium, app, username: str, password: str | None = None) -> dict:
    """Log in at the lab's page in a fresh browser context; return what happened, step by step."""
    return chromium.drive(lambda browser, timeout: _login(browser, timeout, app, username,
                                                          password or f"{username}-password"))


def _login(browser, timeout: float, app, username: str, password: str) -> dict:
    context = browser.new_context()
    try:
        context.set_default_timeout(timeout * 1000)
        page = context.new_page()
        visited: list[str] = []
        page.on("request", lambda request: request.is_navigation_request() and visited.append(
            f"{request.method} {_where(request.url, app)}"))
        response = page.goto(app.url + "/login")
        csp = response.headers.get("content-security-policy", "")
        on_page = {"title": page.title(),
                   "asks": page.inner_text("#client").replace(app.url, "http://127.0.0.1:<app port>")}
        page.fill("#username", username)
        page.fill("#password", password)
        with page.expect_navigation(url=lambda url: urlsplit(url).path == "/callback"):
            page.click("#login")
        page.wait_for_selector("#result")
        outcome = {"steps": visited, "login page": on_page,
                   "frame-ancestors": "frame-ancestors 'none'" in csp, "script-src": "script-src" in csp,
                   "app says": page.inner_text("#result"),
                   "app then says": _whoami(page, app)}
        outcome["framed by another site"] = _framed(context, app)
        return outcome
    finally:
        context.close()


def _whoami(page, app) -> str:
    page.goto(app.url + "/whoami")
    return page.inner_text("#result")


def _framed(context, app) -> str:
    """Put the login page in an iframe of another origin's page, as a clickjacking page would; say what loaded."""
    page = context.new_page()
    page.goto(app.url + "/whoami")  # any page of another origin than the lab
    login_url = app.lab.url + "/oauth/authorize?client_id=x"
    page.set_content(f'<iframe id="f" src="{login_url}"></iframe>')  # returns once the frame has loaded
    (frame,) = page.main_frame.child_frames
    # A frame the browser refused shows Chromium's own error page instead of the lab's.
    refused = frame.url.startswith("chrome-error:")
    page.close()
    return "refused by the browser (frame-ancestors 'none')" if refused else "shown"


def _where(url: str, app) -> str:
    """A visited URL named by whose it is, path only: no port, no code, no state."""
    parts = urlsplit(url)
    owner = "lab" if url.startswith(app.lab.url) else "app" if url.startswith(app.url) else parts.netloc
    return f"{owner} {parts.path}"


def print_browser_login(outcome: dict) -> None:
    """Print a browser login as the lesson shows it."""
    print("the browser went:")
    for step in outcome["steps"]:
        print("   ", step)
    print("login page title:", outcome["login page"]["title"])
    print("login page says: ", outcome["login page"]["asks"])
    print("CSP frame-ancestors 'none':", outcome["frame-ancestors"], "| scripts allowed:", outcome["script-src"])
    print("the app's callback page says:", outcome["app says"])
    print("the app's /whoami says:      ", outcome["app then says"])
    print("login page framed by another origin:", outcome["framed by another site"])
