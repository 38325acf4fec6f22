"""Settings, durations and the command line: parsing every option, and start()'s argv round trip."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import T0
from labserver import Settings
from labserver.control.settings import DAY, YEAR, parse_duration
from labserver.launch.cli import OPTIONS, main, parser, settings_from, to_argv


def parse(argv: list[str]) -> Settings:
    return settings_from(parser().parse_args(argv))


def usage_error(capsys, argv: list[str]) -> str:
    """Run main() on argv, expect argparse's exit 2 before any server starts, return stderr."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("90s", 90), ("30m", 1800), ("12h", 43200), ("14d", 14 * DAY), ("2w", 14 * DAY),
    ("1y", YEAR), (" 1.5H ", 5400), ("1 m", 60), ("0", 0), ("-5m", -300),
])
def test_parse_duration_reads_a_number_with_an_optional_unit(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", " ", "soon", "m", "1x", "inf", "nan", "1e400", "5mm"])
def test_parse_duration_refuses_what_is_not_a_duration(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


EVERY_OPTION = [
    "--host", "127.0.0.2", "--port", "0", "--algorithm", "ES256", "--access-ttl", "5m", "--refresh-ttl", "90d",
    "--refresh-idle-ttl", "7d", "--reuse-interval", "2s", "--session-idle-ttl", "10m", "--session-ttl", "1h",
    "--leeway", "30", "--login-failures", "3", "--login-failures-per-address", "7", "--login-window", "2m",
    "--login-lockout", "30s", "--trust-proxy", "10.0.0.1", "--trust-proxy", "::1", "--server-name", "lab.example",
    "--no-csp",
    "--denylist", "--db", "lab.sqlite3", "--keys", "lab.keys.json", "--issuer", "https://lab",
    "--audience", "orders", "--client-id", "spa", "--user", "carol:pw:admin", "--user", "dave:p:w:user",
    "--users-file", "users.txt",
    "--tls-cert", "cert.pem", "--tls-key", "key.pem", "--frozen-at", "2030-01-01T09:00:00Z", "--seed", "5",
    "--no-lab-controls", "--lab-secret-file", "lab.secret", "--flaw", "no-exp", "--flaw", "alg-none",
    "--redirect-uri", "http://127.0.0.1/cb", "--redirect-uri", "https://spa.example/cb", "--code-ttl", "30s",
    "--client", "web=https://web.example/cb", "--client", "web=https://web.example/cb2",
    "--client", "cli=http://[::1]/done",
    "--remember-tokens", "256",  # its default: that it reaches its setting is tested beside the cache
]


def test_every_option_reaches_its_setting():
    settings = parse(EVERY_OPTION)
    assert settings == Settings(
        host="127.0.0.2", port=0, algorithm="ES256", access_ttl=300, refresh_absolute_ttl=90 * DAY,
        refresh_idle_ttl=7 * DAY, refresh_reuse_interval=2, session_idle_ttl=600, session_absolute_ttl=3600,
        leeway=30, login_failures_per_account=3, login_failures_per_address=7, login_window=120, login_lockout=30,
        trusted_proxies=("10.0.0.1", "::1"), server_names=("lab.example",), page_csp=False, denylist=True, db="lab.sqlite3", keys="lab.keys.json", issuer="https://lab",
        audience="orders", client_id="spa", redirect_uris=("http://127.0.0.1/cb", "https://spa.example/cb"),
        clients=(("web", ("https://web.example/cb", "https://web.example/cb2")), ("cli", ("http://[::1]/done",))),
        code_ttl=30, users=(("carol", "pw", "admin"), ("dave", "p:w", "user")),
        users_file="users.txt", tls_cert="cert.pem", tls_key="key.pem", frozen_at=T0, seed=5, lab_controls=False,
        lab_secret_file="lab.secret", flaws=("no-exp", "alg-none"))
    flags = {arg for arg in EVERY_OPTION if arg.startswith("--")}
    assert flags == {flag for _field, flag, _kind, _help in OPTIONS}


def test_no_options_give_the_default_settings():
    assert parse([]) == Settings()
    assert to_argv(Settings()) == []


@pytest.mark.parametrize("user", ["carol", "carol:pw", "carol:pw:root", ":pw:user", "carol::user", "carol:pw:"])
def test_malformed_user_option_is_a_usage_error(capsys, user):
    assert "expected NAME:PASSWORD:ROLE with ROLE one of user, admin" in usage_error(capsys, ["--user", user])


@pytest.mark.parametrize(("argv", "message"), [
    (["--access-ttl", "soon"], "invalid parse_duration value: 'soon'"),
    (["--port", "http"], "invalid int value: 'http'"),
    (["--frozen-at", "tomorrow"], "invalid parse_instant value: 'tomorrow'"),
    (["--access-ttl", "0"], "access_ttl must be positive"),
    (["--leeway", "-1"], "refresh_reuse_interval and leeway cannot be negative"),
    (["--algorithm", "none"], "algorithm must be one of HS256, RS256, ES256, EdDSA"),
    (["--host", "0.0.0.0"], "lab controls let anyone move the clock"),
    (["--host", "0.0.0.0", "--no-lab-controls", "--seed", "1"], "seed makes secrets predictable"),
])
def test_bad_options_are_usage_errors_before_any_server_starts(capsys, argv, message):
    assert message in usage_error(capsys, argv)


@pytest.mark.parametrize("settings", [
    Settings(algorithm="RS256", access_ttl=60, frozen_at=T0 + 0.25, leeway=1.5),
    Settings(port=0, denylist=True, refresh_reuse_interval=2, users=(("carol", "a:b", "admin"), ("dave", "x", "user"))),
    Settings(host="::1", seed=42, db="/tmp/x.sqlite3", keys="/tmp/x.keys.json", issuer="https://lab.example",
             flaws=("kid-sql", "weak-secret", "no-pkce", "code-reuse")),
    Settings(code_ttl=5, redirect_uris=("https://a.example/cb",), clients=(("b", ("http://127.0.0.1/x", "https://b/y")),)),
    Settings(host="0.0.0.0", lab_controls=False, tls_cert="c.pem", tls_key="k.pem", session_absolute_ttl=1e-3),
    Settings(**dict(zip(["refresh_absolute_ttl", "refresh_idle_ttl", "session_idle_ttl"], [2 * YEAR, 1.0, 1e9]))),
])
def test_to_argv_round_trips_through_the_parser(settings):
    assert parse(to_argv(settings)) == settings


def test_help_runs_without_starting_a_server_and_mentions_every_flag():
    result = subprocess.run([sys.executable, "-m", "labserver", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m labserver")
    for _field, flag, _kind, _help in OPTIONS:
        assert flag in result.stdout, flag
    assert "--ready-line" not in result.stdout
