"""The lab server over HTTPS, end to end: a local CA, verification by clients, HSTS, the __Host- cookie."""

from __future__ import annotations

import datetime
import ssl

import pytest
import requests
from cryptography import x509

import labserver
from coursekit.labtools.client import http_session
from coursekit.labtools.relay import Relay
from coursekit.labtools.tls import describe_certificate, make_local_pki, tls_facts


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_local_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_lab(pki):
    with labserver.start(tls=pki, frozen_at="2030-01-07T09:00:00Z") as lab:
        yield lab


@pytest.fixture(scope="module")
def plain_lab():
    with labserver.start(frozen_at="2030-01-07T09:00:00Z") as lab:
        yield lab


def test_the_certificate_names_the_server_for_tls_only_and_lives_one_day(pki):
    facts = describe_certificate(pki.cert)
    assert facts["names (SAN)"] == ["localhost", "127.0.0.1"]
    assert facts["may be used for"] == ["serverAuth"]
    assert facts["is a CA"] is False
    assert facts["valid for"] == "1 day, 0:00:00"
    assert facts["issuer"] == describe_certificate(pki.ca)["subject"]
    assert describe_certificate(pki.ca)["is a CA"] is True
    ca = x509.load_pem_x509_certificate(open(pki.ca, "rb").read())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).critical


def test_the_private_key_is_readable_by_its_owner_only(pki):
    import os
    assert os.stat(pki.key).st_mode & 0o777 == 0o600


def test_a_client_that_trusts_the_course_ca_gets_through_with_strict_checks(tls_lab, pki):
    assert tls_lab.url.startswith("https://127.0.0.1:")
    r = http_session().get(tls_lab.url + "/api/hello", verify=pki.ca, timeout=10)
    assert r.status_code == 200, r.text
    facts = tls_facts(tls_lab.url, pki.ca)  # Python's ssl with VERIFY_X509_STRICT
    assert facts["version"] == "TLSv1.3"
    # The certificate names localhost too.
    r = http_session().get(tls_lab.url.replace("127.0.0.1", "localhost") + "/api/hello", verify=pki.ca, timeout=10)
    assert r.status_code == 200


def test_a_client_without_the_ca_is_refused(tls_lab):
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        http_session().get(tls_lab.url + "/api/hello", timeout=10)  # the system's CAs only


def test_a_client_trusting_another_ca_is_refused(tls_lab, tmp_path):
    other = make_local_pki(tmp_path / "other")
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        http_session().get(tls_lab.url + "/api/hello", verify=other.ca, timeout=10)


def test_an_expired_certificate_is_refused(tmp_path):
    stale = make_local_pki(tmp_path, now=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2))
    with labserver.start(tls=stale) as lab:
        with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
            tls_facts(lab.url, stale.ca)


def test_hsts_is_sent_over_tls_only(tls_lab, plain_lab, pki):
    r = http_session().get(tls_lab.url + "/api/hello", verify=pki.ca, timeout=10)
    assert r.headers["strict-transport-security"] == "max-age=300"
    r = http_session().get(tls_lab.url + "/nowhere", verify=pki.ca, timeout=10)
    assert r.status_code == 404 and r.headers["strict-transport-security"] == "max-age=300"
    r = http_session().get(plain_lab.url + "/api/hello", timeout=10)
    assert "strict-transport-security" not in r.headers


def test_over_tls_the_session_cookie_is_host_prefixed_secure_httponly_strict(tls_lab, plain_lab, pki):
    client = http_session()
    client.verify = pki.ca  # trust_env is off, so the environment's CA bundle cannot override this
    r = client.post(tls_lab.url + "/session/login", data={"username": "alice", "password": "alice-password"},
                    timeout=10)
    assert r.status_code == 200, r.text
    header = r.headers["set-cookie"]
    assert header.startswith("__Host-session=")
    attributes = {a.strip().split("=")[0].lower() for a in header.split(";")[1:]}
    assert attributes == {"httponly", "path", "samesite", "secure"}  # no Domain: required by __Host-
    assert "SameSite=strict" in header and "Path=/" in header
    (cookie,) = client.cookies
    assert cookie.name == "__Host-session" and cookie.secure
    assert client.get(tls_lab.url + "/session/me", timeout=10).json()["username"] == "alice"
    # The same server over plain HTTP: no prefix, no Secure.
    r = http_session().post(plain_lab.url + "/session/login", timeout=10,
                            data={"username": "alice", "password": "alice-password"})
    assert r.headers["set-cookie"].startswith("session=") and "Secure" not in r.headers["set-cookie"]


def test_the_lab_handle_verifies_its_own_tls_server(tls_lab, pki):
    assert tls_lab.http.verify == pki.ca
    assert tls_lab.clock.now() == tls_lab.clock.now()  # lab controls answer over verified TLS


def test_a_tls_server_stops_promptly_while_a_client_keeps_a_connection_alive(pki):
    import time
    lab = labserver.start(tls=pki)
    client = http_session()
    client.get(lab.url + "/api/hello", verify=pki.ca, timeout=10)  # keep-alive connection left open
    started = time.monotonic()
    lab.stop()
    assert not lab.running
    assert time.monotonic() - started < 4
    client.close()


# --- the relay: what a wiretap sees ---------------------------------------------------------------------

def _login_and_call(base: str, verify) -> str:
    client = http_session()
    client.verify = verify
    token = client.post(base + "/oauth/token", timeout=10, data={
        "grant_type": "password", "username": "alice", "password": "alice-password"}).json()["access_token"]
    r = client.get(base + "/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text
    client.close()
    return token


def test_over_plain_http_the_relay_sees_the_password_and_the_bearer_token(plain_lab):
    with Relay(plain_lab.port) as relay:
        token = _login_and_call(relay.url("http"), True)
        assert relay.saw("password=alice-password")
        assert relay.saw(f"Authorization: Bearer {token}")
        assert relay.saw(token) and token in relay.text("received")  # the token response, too
        assert "POST /oauth/token HTTP/1.1" in relay.text()


def test_through_tls_the_relay_sees_only_ciphertext(tls_lab, pki):
    with Relay(tls_lab.port) as relay:
        token = _login_and_call(relay.url("https"), pki.ca)
        assert len(relay.sent) > 500 and len(relay.received) > 500  # the bytes did pass through
        assert relay.sent[:1] == b"\x16"  # a TLS handshake record, not "POST"
        for secret in ("alice-password", token, token[:20], "Authorization", "Bearer", "/oauth/token", "POST"):
            assert not relay.saw(secret), secret


def test_the_relay_keeps_at_most_its_limit_and_still_forwards_everything(plain_lab):
    with Relay(plain_lab.port, limit=64) as relay:
        r = http_session().get(relay.url() + "/.well-known/oauth-authorization-server", timeout=10)
        assert r.status_code == 200 and len(r.content) > 64
        assert len(relay.sent) == 64 and len(relay.received) == 64
        relay.clear()
        assert not relay.sent and not relay.received
