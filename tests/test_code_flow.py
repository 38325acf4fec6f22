"""The authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636, RFC 8252 §7.3, RFC 9700 §2.1, §4.1), in process.

The login page, the code it sends back, the token endpoint's redemption, and every refusal in the shape
RFC 6749 §4.1.2.1 and §5.2 give it: on the page when the redirect URI cannot be trusted, redirected otherwise.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
import pytest

from conftest import make_client
from coursekit.labtools.codeflow.steps import hidden_fields, s256
from helpers import error

VERIFIER = "v" * 20 + "-._~" + "0123456789" * 2 + "abc"  # 47 unreserved characters
CALLBACK = "http://127.0.0.1:5555/callback"
ISS = "http://127.0.0.1:8000"


def request_params(**changes) -> dict:
    params = {"response_type": "code", "client_id": "jwt-course", "redirect_uri": CALLBACK, "state": "st-1",
              "code_challenge": s256(VERIFIER), "code_challenge_method": "S256"}
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


def log_in(client, username="alice", password=None, **changes):
    return client.post("/oauth/authorize", follow_redirects=False,
                       data={**request_params(**changes), "username": username,
                             "password": password or f"{username}-password"})


def query(response) -> dict:
    assert response.status_code == 303, response.text
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


def code_of(client, **changes) -> str:
    return query(log_in(client, **changes))["code"]


def redeem(client, code, verifier=VERIFIER, redirect_uri=CALLBACK, client_id="jwt-course"):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": client_id,
            "code_verifier": verifier}
    return client.post("/oauth/token", data={k: v for k, v in form.items() if v is not None})


def page_error(response) -> tuple[str, str]:
    """The error a page shows (status 400, HTML, nothing redirected)."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "location" not in response.headers
    text = response.text
    code = text.split('id="error">')[1].split("<")[0]
    description = text.split('id="error_description">')[1].split("</p>")[0]
    return html.unescape(code), html.unescape(description)


# --- the flow -----------------------------------------------------------------------------------------------

def test_the_login_page_carries_the_request_and_is_locked_down(client):
    r = client.get("/oauth/authorize", params=request_params(state='"><script>alert(1)</script>'))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    csp = r.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'; style-src 'sha256-")
    assert csp.endswith("; form-action 'self' http://127.0.0.1:5555; frame-ancestors 'none'; base-uri 'none'")
    assert (r.headers["x-frame-options"], r.headers["cache-control"], r.headers["referrer-policy"]) == (
        "DENY", "no-store", "same-origin")
    assert "<script>" not in r.text  # the state is escaped into its hidden field
    assert hidden_fields(r.text) == request_params(state='"><script>alert(1)</script>')
    assert "sent back to <b>http://127.0.0.1:5555</b>" in r.text


def test_a_login_sends_the_code_and_the_state_unchanged_and_the_tokens_then_rotate(client, auth):
    state = "a state with spaces & symbols/?=é"
    r = log_in(client, state=state)
    assert r.headers["location"].startswith(CALLBACK + "?code=")
    assert (r.headers["cache-control"], r.headers["referrer-policy"]) == ("no-store", "no-referrer")
    back = query(r)
    assert set(back) == {"code", "state", "iss"}
    assert (back["state"], back["iss"]) == (state, ISS)

    tokens = redeem(client, back["code"])
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert auth.get("/api/me", body["access_token"]).json()["username"] == "alice"
    # Lesson 05's rotation carries on from this login.
    rotated = auth.refresh(body["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    again = auth.refresh(body["refresh_token"])
    assert again.json() == error("invalid_grant", "refresh token was already used: this login is revoked, log in again")
    events = [e["event"] for e in client.get("/lab/audit").json()]
    assert events[:3] == ["code_issued", "login", "refresh"]


def test_the_redirect_uri_keeps_its_own_query_and_a_state_is_optional(client):
    with make_client(redirect_uris=("https://app.example/cb?tenant=7",)) as c:
        r = log_in(c, redirect_uri="https://app.example/cb?tenant=7", state=None)
        assert r.headers["location"].startswith("https://app.example/cb?tenant=7&code=")
        assert set(query(r)) == {"tenant", "code", "iss"}


@pytest.mark.parametrize("uri", ["http://127.0.0.1:5555/callback", "http://127.0.0.1:1/callback",
                                 "http://127.0.0.1/callback", "http://[::1]:65000/callback"])
def test_a_loopback_redirect_uri_is_accepted_on_any_port(client, uri):
    back = query(log_in(client, redirect_uri=uri))
    assert redeem(client, back["code"], redirect_uri=uri).status_code == 200


@pytest.mark.parametrize("uri", [
    "http://localhost:5555/callback", "http://127.0.0.1:5555/callback/", "http://127.0.0.1:5555/Callback",
    "http://127.0.0.1:5555/callback?next=/", "https://127.0.0.1:5555/callback", "http://127.0.0.1:5555/callback#x",
    "http://127.0.0.1.attacker.example/callback", "http://127.0.0.1@attacker.example/callback",
    "http://127.0.0.2:5555/callback", "http://127.0.0.1:5555/callbackx", "//127.0.0.1/callback", "callback"])
def test_any_other_redirect_uri_is_refused_on_the_page_not_redirected(client, uri):
    r = client.get("/oauth/authorize", params=request_params(redirect_uri=uri))
    assert page_error(r) == ("invalid_request", "redirect_uri is not registered for client jwt-course (registered: "
                             "http://127.0.0.1/callback, http://[::1]/callback; exact match, any port on loopback)")
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    r = log_in(client, redirect_uri=uri)
    assert page_error(r)[0] == "invalid_request"
    assert client.get("/lab/store/authorization_codes").json() == []


@pytest.mark.parametrize(("changes", "shown"), [
    ({"client_id": None}, ("invalid_request", "parameter client_id is missing")),
    ({"client_id": "someone-else"}, ("invalid_client", "unknown client 'someone-else'")),
    ({"redirect_uri": None}, ("invalid_request", "parameter redirect_uri is missing")),
    ({"redirect_uri": ""}, ("invalid_request", "parameter redirect_uri is missing")),
])
def test_without_a_trustworthy_client_and_redirect_uri_the_error_is_shown_on_the_page(client, changes, shown):
    assert page_error(client.get("/oauth/authorize", params=request_params(**changes))) == shown


def test_a_repeated_redirect_uri_is_shown_on_the_page_and_other_repeats_are_redirected(client):
    twice = urlencode(list(request_params().items()) + [("redirect_uri", "http://127.0.0.1:9/callback")])
    assert page_error(client.get("/oauth/authorize?" + twice)) == ("invalid_request",
                                                                    "parameter redirect_uri is repeated")
    twice = urlencode(list(request_params().items()) + [("state", "other")])
    back = query(client.get("/oauth/authorize?" + twice, follow_redirects=False))
    assert back == {"error": "invalid_request", "error_description": "parameter state is repeated", "iss": ISS}


@pytest.mark.parametrize(("changes", "code", "description"), [
    ({"response_type": None}, "invalid_request", "parameter response_type is missing"),
    ({"response_type": "token"}, "unsupported_response_type",
     "response_type must be code (the authorization code flow)"),
    ({"scope": "admin"}, "invalid_scope", "this server issues no scopes: leave scope out"),
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request",
     "code_challenge is missing: this server requires PKCE (RFC 7636) with code_challenge_method=S256"),
    ({"code_challenge_method": "plain"}, "invalid_request",
     "code_challenge_method plain is not supported: use S256 (transform algorithm not supported)"),
    ({"code_challenge_method": None}, "invalid_request",  # RFC 7636 §4.3: no method means plain
     "code_challenge_method plain is not supported: use S256 (transform algorithm not supported)"),
    ({"code_challenge_method": "S512"}, "invalid_request",
     "code_challenge_method S512 is not supported: use S256 (transform algorithm not supported)"),
    ({"code_challenge": "short"}, "invalid_request",
     "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~"),
    ({"code_challenge": "a" * 42 + "+"}, "invalid_request",
     "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~"),
    # S256 gives 43 base64url characters, never more and never '.' or '~' (RFC 7636 §4.2).
    *(({"code_challenge": challenge}, "invalid_request",
       "an S256 code_challenge is BASE64URL(SHA-256(code_verifier)) without padding: 43 characters of "
       "A-Z a-z 0-9 - _ (RFC 7636 §4.2)") for challenge in ("a" * 44, "a" * 128, "a" * 42 + "~", "a" * 42 + ".")),
])
def test_other_errors_go_back_to_the_redirect_uri_with_the_state(client, changes, code, description):
    for r in (client.get("/oauth/authorize", params=request_params(**changes), follow_redirects=False),
              log_in(client, **changes)):
        assert r.headers["location"].startswith(CALLBACK + "?error=")
        assert query(r) == {"error": code, "error_description": description, "state": "st-1", "iss": ISS}
    assert client.get("/lab/store/authorization_codes").json() == []


def test_a_wrong_password_shows_the_page_again_and_sends_nothing(client):
    r = log_in(client, password="wrong")
    assert r.status_code == 200 and "location" not in r.headers
    assert 'id="message" role="alert">Incorrect username or password</p>' in r.text
    assert hidden_fields(r.text) == request_params()
    r = log_in(client, username="nobody")
    assert "Incorrect username or password" in r.text
    assert client.get("/lab/store/authorization_codes").json() == []


def test_the_login_form_accepts_posts_from_its_own_page_only(client):
    form = {**request_params(), "username": "alice", "password": "alice-password"}
    r = client.post("/oauth/authorize", data=form, headers={"Origin": "http://attacker.example"})
    assert (r.status_code, r.json()) == (403, error("forbidden", "cross-site request refused: send it from this "
                                                                 "server's own pages, or not from a browser"))
    r = client.post("/oauth/authorize", data=form, headers={"Origin": "http://127.0.0.1:8000",
                                                            "Sec-Fetch-Site": "same-origin"}, follow_redirects=False)
    assert r.status_code == 303


def test_too_many_failed_logins_are_answered_on_the_page_with_retry_after():
    with make_client(login_failures_per_account=1) as c:
        log_in(c, password="wrong")
        r = log_in(c, password="wrong")
        assert (r.status_code, r.headers["retry-after"]) == (429, "1")
        assert ('role="alert">too many failed logins (1 failed logins in a row for this account name): try again '
                'in 1 second</p>') in r.text
        assert "location" not in r.headers


# --- the token endpoint -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "status", "expected"), [
    ({"code": "not-a-code"}, 400, error("invalid_grant", "authorization code is unknown")),
    ({"verifier": None}, 400, error("invalid_request", "code_verifier is missing: this code was issued for a PKCE "
                                                       "code_challenge")),
    ({"verifier": "w" * 43}, 400, error("invalid_grant", "code_verifier does not match the code_challenge of the "
                                                         "authorization request")),
    ({"verifier": s256(VERIFIER)}, 400, error("invalid_grant", "code_verifier does not match the code_challenge of "
                                                               "the authorization request")),
    ({"verifier": "short"}, 400, error("invalid_request", "code_verifier must be 43 to 128 characters of A-Z a-z "
                                                          "0-9 - . _ ~")),
    ({"redirect_uri": "http://127.0.0.1:5556/callback"}, 400,
     error("invalid_grant", "redirect_uri is not the one of the authorization request")),
    ({"redirect_uri": None}, 400, error("invalid_request", "parameter redirect_uri is missing")),
    ({"client_id": None}, 400, error("invalid_request", "parameter client_id is missing")),
    ({"client_id": "other"}, 401, error("invalid_client", "unknown client; this server knows one client: jwt-course")),
])
def test_a_code_is_redeemed_only_as_it_was_issued(client, change, status, expected):
    code = code_of(client)
    r = redeem(client, **{"code": code, **change})
    assert (r.status_code, r.json()) == (status, expected)
    assert r.headers["cache-control"] == "no-store"
    assert redeem(client, code).status_code == 200  # a refused attempt does not use the code up


def test_a_code_expires_after_code_ttl_seconds_of_the_lab_clock(client, lab):
    code = code_of(client)
    lab.clock.advance(59)
    assert redeem(client, code).status_code == 200
    code = code_of(client)
    lab.clock.advance(60)
    assert redeem(client, code).json() == error(
        "invalid_grant", "authorization code has expired (codes live 60 seconds): start the flow again")


def test_a_code_is_bound_to_the_client_it_was_issued_to():
    with make_client(clients=(("other-app", ("http://127.0.0.1/callback",)),)) as c:
        code = code_of(c)
        r = redeem(c, code, client_id="other-app")
        assert r.json() == error("invalid_grant", "authorization code was issued to another client")
        tokens = redeem(c, code_of(c, client_id="other-app"), client_id="other-app")
        assert tokens.status_code == 200, tokens.text
        claims = jwt.decode(tokens.json()["access_token"], options={"verify_signature": False})
        assert claims["client_id"] == "other-app"  # RFC 9068 §2.2: the client the token was issued to
        r = c.post("/oauth/token", data={"grant_type": "password", "username": "a", "password": "b",
                                          "client_id": "nobody"})
        assert r.json() == error("invalid_client", "unknown client; this server knows the clients jwt-course, "
                                                   "other-app")


def refresh(client, refresh_token, client_id=None):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return client.post("/oauth/token", data={k: v for k, v in form.items() if v is not None})


def client_of(access_token: str) -> str:
    return jwt.decode(access_token, options={"verify_signature": False})["client_id"]


def test_a_refresh_token_stays_bound_to_the_client_its_login_was_for():
    with make_client(clients=(("other-app", ("http://127.0.0.1/callback",)),)) as c:
        first = redeem(c, code_of(c, client_id="other-app"), client_id="other-app").json()
        # RFC 6749 §6: another client naming itself is refused, and the token is not used up by the attempt.
        r = refresh(c, first["refresh_token"], client_id="jwt-course")
        assert (r.status_code, r.json()) == (400, error("invalid_grant", "refresh token was issued to another "
                                                                          "client"))
        # Renewed access names the login's client (RFC 9068 §2.2), with the client named or, public, not.
        second = refresh(c, first["refresh_token"], client_id="other-app")
        assert second.status_code == 200, second.text
        assert client_of(second.json()["access_token"]) == "other-app"
        third = refresh(c, second.json()["refresh_token"])
        assert client_of(third.json()["access_token"]) == "other-app"
        # The lessons' own logins stay the lessons' client's.
        login = c.post("/oauth/token", data={"grant_type": "password", "username": "alice",
                                             "password": "alice-password"}).json()
        assert refresh(c, login["refresh_token"], client_id="other-app").json()["error"] == "invalid_grant"
        renewed = refresh(c, login["refresh_token"], client_id="jwt-course").json()
        assert client_of(renewed["access_token"]) == "jwt-course"


def test_a_client_cannot_revoke_a_login_it_was_not_issued():
    # RFC 7009 §2.1: the server checks the token was issued to the client asking; one client ends no other's login.
    with make_client(clients=(("other-app", ("http://127.0.0.1/callback",)),)) as c:
        login = c.post("/oauth/token", data={"grant_type": "password", "username": "alice",
                                             "password": "alice-password"}).json()
        for token, kind in ((login["refresh_token"], "refresh"), (login["access_token"], "access")):
            r = c.post("/oauth/revoke", data={"token": token, "client_id": "other-app"})
            assert (r.status_code, r.json()) == (400, error("invalid_grant", f"{kind} token was issued to another "
                                                                              "client"))
        assert refresh(c, login["refresh_token"], client_id="jwt-course").status_code == 200


def test_a_store_made_before_families_named_their_client_gains_the_column(tmp_path):
    import sqlite3

    from labserver.storage.store import Store
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE refresh_families (id TEXT PRIMARY KEY, user_id INTEGER NOT NULL, "
                "created_at REAL NOT NULL, last_used_at REAL NOT NULL, revoked_at REAL, revoked_reason TEXT)")
    old.execute("INSERT INTO refresh_families VALUES ('f1', 1, 0, 0, NULL, NULL)")
    old.commit()
    old.close()
    path.chmod(0o600)
    store = Store(str(path))
    assert dict(store.one("SELECT id, client_id FROM refresh_families")) == {"id": "f1", "client_id": None}


def test_a_code_used_twice_is_refused_and_revokes_the_login_of_its_first_use(client, auth):
    code = code_of(client)
    first = redeem(client, code).json()
    r = redeem(client, code)
    assert (r.status_code, r.json()) == (400, error("invalid_grant", "authorization code was already used: the "
                                                                     "login it gave is revoked"))
    assert auth.refresh(first["refresh_token"]).json() == error("invalid_grant", "refresh token has been revoked")
    (family,) = client.get("/lab/store/refresh_families").json()
    assert family["revoked_reason"] == "authorization code reused"


def test_the_store_keeps_only_a_hash_of_the_code(client):
    code = code_of(client)
    (row,) = client.get("/lab/store/authorization_codes").json()
    assert code not in str(row) and row["code_challenge"] == s256(VERIFIER)
    assert (row["client_id"], row["redirect_uri"], row["code_challenge_method"]) == ("jwt-course", CALLBACK, "S256")
    client.post("/lab/reset")
    assert client.get("/lab/store/authorization_codes").json() == []


# --- the lab flaws of the code flow: each attack accepted with the flaw on, refused with it off ----------

def flaw(client, *names):
    r = client.put("/lab/flaws", json=list(names))
    assert r.status_code == 200, r.text


def test_no_pkce_an_intercepted_code_is_redeemed_without_the_verifier(client):
    intercepted = code_of(client)
    assert redeem(client, intercepted, verifier=None).json()["error"] == "invalid_request"
    flaw(client, "no-pkce")
    assert redeem(client, intercepted, verifier=None).status_code == 200
    # and a request without any challenge gets a code at all
    no_challenge = code_of(client, code_challenge=None, code_challenge_method=None)
    assert redeem(client, no_challenge, verifier=None).status_code == 200
    flaw(client)
    assert query(log_in(client, code_challenge=None, code_challenge_method=None))["error"] == "invalid_request"


def test_pkce_plain_whoever_read_the_request_redeems_the_code(client):
    challenge = "p" * 43
    assert query(log_in(client, code_challenge=challenge, code_challenge_method="plain"))["error"] == "invalid_request"
    assert client.get("/.well-known/oauth-authorization-server").json()["code_challenge_methods_supported"] == ["S256"]
    flaw(client, "pkce-plain")
    assert client.get("/.well-known/oauth-authorization-server").json()["code_challenge_methods_supported"] == [
        "S256", "plain"]
    code = code_of(client, code_challenge=challenge, code_challenge_method="plain")
    assert redeem(client, code, verifier=challenge).status_code == 200  # the challenge read from the URL


@pytest.mark.parametrize("uri", ["http://127.0.0.1.attacker.example/steal", "http://127.0.0.1@attacker.example/x",
                                 "http://[::1].attacker.example/"])
def test_redirect_prefix_the_code_goes_to_the_attackers_host(client, uri):
    assert page_error(client.get("/oauth/authorize", params=request_params(redirect_uri=uri)))[0] == "invalid_request"
    flaw(client, "redirect-prefix")
    r = log_in(client, redirect_uri=uri)
    assert r.headers["location"].startswith(uri + "?code=")
    assert urlsplit(r.headers["location"]).hostname == "attacker.example" or "attacker" in r.headers["location"]


def test_code_reuse_a_second_redemption_gives_a_second_login_and_the_first_lives_on(client, auth):
    flaw(client, "code-reuse")
    code = code_of(client)
    first, second = redeem(client, code), redeem(client, code)
    assert (first.status_code, second.status_code) == (200, 200)
    assert auth.refresh(first.json()["refresh_token"]).status_code == 200
    assert len(client.get("/lab/store/refresh_families").json()) == 2


def test_a_rebinding_page_can_neither_show_the_login_page_nor_post_to_it(client):
    rebound = {"Host": "rebind.attacker.example:8000"}
    not_here = error("forbidden", "this server answers only at 127.0.0.1:8000, localhost:8000 or [::1]:8000")
    r = client.get("/oauth/authorize", params=request_params(), headers=rebound)
    assert (r.status_code, r.json()) == (403, not_here)
    form = {**request_params(), "username": "alice", "password": "alice-password"}
    r = client.post("/oauth/authorize", data=form, headers=rebound)
    assert (r.status_code, r.json()) == (403, not_here)
    assert client.get("/lab/store/authorization_codes").json() == []
    # a relay on this machine (another loopback port, lesson 08's wiretap) is still served
    relayed = client.get("/oauth/authorize", params=request_params(), headers={"Host": "127.0.0.1:9999"})
    assert relayed.status_code == 200
