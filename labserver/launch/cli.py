"""`python -m labserver`: run a lab server from the command line."""

from __future__ import annotations

import argparse
import dataclasses

from labserver.accounts.initial import configured, parse_account
from labserver.control.clock import parse_instant
from labserver.control.flaws import FLAWS
from labserver.control.settings import ALGORITHMS, ROLES, Settings, parse_duration
from labserver.storage.files import check_own, check_trusted, check_unread
from labserver.storage.store import STORE_FILES

# (settings field, command-line flag, parser, help). One table serves both parsing and start()'s argv.
OPTIONS = (
    ("host", "--host", str, "address to listen on (default 127.0.0.1; anything else switches lab controls off)"),
    ("port", "--port", int, "port to listen on; 0 picks a free one (default 8000)"),
    ("algorithm", "--algorithm", str, f"access-token signature algorithm: {', '.join(ALGORITHMS)} (default HS256)"),
    ("access_ttl", "--access-ttl", parse_duration, "access-token lifetime, e.g. 30m (default 30m)"),
    ("refresh_absolute_ttl", "--refresh-ttl", parse_duration,
     "refresh-token family lifetime from login, e.g. 1y (default 1y)"),
    ("refresh_idle_ttl", "--refresh-idle-ttl", parse_duration,
     "a refresh-token family unused this long expires (default 30d)"),
    ("refresh_reuse_interval", "--reuse-interval", parse_duration,
     "grace period in which a used refresh token may be presented again (default 0: off)"),
    ("session_idle_ttl", "--session-idle-ttl", parse_duration, "cookie session idle timeout (default 30m)"),
    ("session_absolute_ttl", "--session-ttl", parse_duration, "cookie session absolute lifetime (default 8h)"),
    ("leeway", "--leeway", parse_duration, "allowed clock skew when checking exp/nbf/iat (default 0)"),
    ("login_failures_per_account", "--login-failures", int,
     "failed logins allowed in a row per account name (a quiet --login-window ends the row), then waits "
     "doubling up to --login-lockout (default 10)"),
    ("login_failures_per_address", "--login-failures-per-address", int,
     "failed logins allowed per client address within --login-window, then 429 (default 50)"),
    ("login_window", "--login-window", parse_duration, "window of the login throttling, e.g. 15m (default 15m)"),
    ("login_lockout", "--login-lockout", parse_duration, "longest wait after repeated failed logins at one "
                                                         "account (waits double from 1 s up to it; default 1m)"),
    ("trusted_proxies", "--trust-proxy", None, "IP address of a reverse proxy whose X-Forwarded-For names the "
                                               "client; repeatable (default: none, forwarded headers are ignored)"),
    ("denylist", "--denylist", None, "keep a denylist of revoked access tokens (a store read per request)"),
    ("remember_tokens", "--remember-tokens", int, "verified access tokens to remember, skipping the signature check "
                                                  "when one comes again (default 256; 0: verify every request in full)"),
    ("db", "--db", str, "SQLite file for users, sessions and refresh tokens (default :memory:)"),
    ("keys", "--keys", str, "JWK Set file with the signing keys (default: next to --db; in memory for :memory:)"),
    ("issuer", "--issuer", str, "issuer identifier (default: the server's URL)"),
    ("audience", "--audience", str, "audience of the access tokens (default lab-api)"),
    ("client_id", "--client-id", str, "the OAuth client the lessons use (default jwt-course)"),
    ("redirect_uris", "--redirect-uri", None, "a redirect URI of --client-id for the code flow; repeatable; replaces "
                                              "the defaults http://127.0.0.1/callback and http://[::1]/callback "
                                              "(a loopback one without port: any port is accepted)"),
    ("clients", "--client", None, "register another client of the code flow, ID=REDIRECT_URI; repeat for more "
                                  "redirect URIs or clients"),
    ("code_ttl", "--code-ttl", parse_duration, "authorization code lifetime, e.g. 60s (default 1m)"),
    ("users", "--user", None, f"create an account NAME:PASSWORD:ROLE (ROLE: {', '.join(ROLES)}); repeatable; "
                              "replaces the demo accounts; visible to local users in the process list"),
    ("users_file", "--users-file", str, "create the accounts listed in this file, one NAME:PASSWORD:ROLE a line "
                                        "(keeps passwords out of the process list)"),
    ("server_names", "--server-name", None, "a host name clients use to reach this server (with --host other "
                                            "than loopback); repeatable; the page and logins refuse other names"),
    ("tls_cert", "--tls-cert", str, "serve HTTPS with this certificate (PEM)"),
    ("tls_key", "--tls-key", str, "private key of --tls-cert (PEM)"),
    ("frozen_at", "--frozen-at", parse_instant, "start with the lab clock frozen at this time (ISO 8601 or Unix)"),
    ("seed", "--seed", int, "LAB ONLY: derive every secret and id from this seed (predictable; loopback only)"),
    ("lab_controls", "--no-lab-controls", None, "do not serve the /lab/ controls"),
    ("lab_secret_file", "--lab-secret-file", str, "write the lab secret, which every /lab/ request must send in "
                                                  "its Lab-Secret header, to this file (mode 0600; default: a file "
                                                  "in your private runtime folder, named in the banner)"),
    ("page_csp", "--no-csp", None, "LAB ONLY, DELIBERATELY VULNERABLE: serve the lab page without its "
                                   "Content-Security-Policy (its simulated XSS then runs)"),
    ("flaws", "--flaw", None, "LAB ONLY, DELIBERATELY VULNERABLE: start with this flaw on (loopback only); "
                              f"repeatable; one of {', '.join(FLAWS)}"),
    ("challenge_file", "--challenge-file", str, "LAB ONLY, DELIBERATELY VULNERABLE: a black-box challenge, one "
                                                "hidden flaw drawn from the seed in this file (read, then deleted; "
                                                "empty: a seed drawn by the server)"),
)


def parse_user(text: str) -> tuple[str, str, str]:
    try:
        return parse_account(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_client(text: str) -> tuple[str, str]:
    client_id, equals, uri = text.partition("=")
    if not (client_id and equals and uri):
        raise argparse.ArgumentTypeError(f"expected ID=REDIRECT_URI, got {text!r}")
    return client_id, uri


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m labserver", allow_abbrev=False,
        description="A local auth server for the JWT course: cookie sessions, JWT access tokens, "
                    "refresh-token rotation, and lab controls (clock, audit log, counters) under /lab/.")
    for field, flag, kind, help_text in OPTIONS:
        if field == "users":
            p.add_argument(flag, dest=field, type=parse_user, action="append", default=[], help=help_text)
        elif field == "flaws":
            p.add_argument(flag, dest=field, metavar="NAME", action="append", default=[], help=help_text)
        elif field == "redirect_uris":
            p.add_argument(flag, dest=field, metavar="URI", action="append", default=[], help=help_text)
        elif field == "clients":
            p.add_argument(flag, dest=field, metavar="ID=URI", type=parse_client, action="append", default=[],
                           help=help_text)
        elif field in ("trusted_proxies", "server_names"):
            p.add_argument(flag, dest=field, metavar="IP" if field == "trusted_proxies" else "NAME", action="append",
                           default=[], help=help_text)
        elif field in ("lab_controls", "page_csp"):
            p.add_argument(flag, dest=field, action="store_false", help=help_text)
        elif kind is None:
            p.add_argument(flag, dest=field, action="store_true", help=help_text)
        else:
            p.add_argument(flag, dest=field, type=kind, default=argparse.SUPPRESS, help=help_text)
    p.add_argument("--ready-line", action="store_true", help=argparse.SUPPRESS)
    # Set by labserver.start() for the temp folder it made: the server removes it on the way out,
    # so a parent killed before it could clean up leaves nothing behind.
    p.add_argument("--remove-on-exit", metavar="FOLDER", help=argparse.SUPPRESS)
    p.add_argument("--watch-stdin", action="store_true", help="exit when standard input closes "
                   "(how labserver.start() makes sure a server never outlives the program that started it)")
    return p


def settings_from(args: argparse.Namespace) -> Settings:
    fields = {f.name for f in dataclasses.fields(Settings)}
    values = {k: v for k, v in vars(args).items() if k in fields}
    values["users"] = tuple(values.get("users", ()))
    values["flaws"] = tuple(values.get("flaws", ()))
    values["redirect_uris"] = tuple(values.get("redirect_uris") or Settings.redirect_uris)
    clients: dict[str, list[str]] = {}
    for client_id, uri in values.get("clients", ()):
        clients.setdefault(client_id, []).append(uri)
    values["clients"] = tuple((client_id, tuple(uris)) for client_id, uris in clients.items())
    values["trusted_proxies"] = tuple(values.get("trusted_proxies", ()))
    values["server_names"] = tuple(values.get("server_names", ()))
    return Settings(**values)


def to_argv(settings: Settings) -> list[str]:
    """The command-line options that recreate these settings (defaults left out)."""
    defaults = Settings()
    argv: list[str] = []
    for field, flag, kind, _help in OPTIONS:
        value = getattr(settings, field)
        if value == getattr(defaults, field):
            continue
        if field == "users":
            argv += [x for name, pw, role in value for x in (flag, f"{name}:{pw}:{role}")]
        elif field in ("flaws", "redirect_uris", "trusted_proxies", "server_names"):
            argv += [x for name in value for x in (flag, name)]
        elif field == "clients":
            argv += [x for client_id, uris in value for uri in uris for x in (flag, f"{client_id}={uri}")]
        elif kind is None:
            argv.append(flag)
        else:
            argv += [flag, repr(value) if isinstance(value, float) else str(value)]
    return argv


def check_files(settings: Settings) -> None:
    """Refuse, before anything starts, a file another user could have planted: the store and keys (ours alone),
    the TLS key (ours alone: whoever planted it could read our traffic), the certificate and the users file
    (ours or root's; a planted users file chooses who logs in as whom)."""
    if settings.tls_key:
        check_own(settings.tls_key, "TLS key")
    for path, what in ((settings.tls_cert, "TLS certificate"), (settings.users_file, "users file")):
        if path:
            check_trusted(path, what)
    if settings.keys_file:
        check_own(settings.keys_file, "keys file")
        check_unread(settings.keys_file, "keys file")
    if settings.db != ":memory:":
        for suffix, what in STORE_FILES:
            check_own(settings.db + suffix, what)


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        settings = settings_from(args)
        check_files(settings)  # before anything is read from them
        configured(settings)  # the accounts (users file included): a usage error now, not a traceback later
    except (ValueError, OSError) as exc:
        parser().error(str(exc))
    from labserver.launch.serve import serve  # the heavy imports, after --help has had its chance

    if args.remove_on_exit:
        import atexit
        import shutil

        atexit.register(shutil.rmtree, args.remove_on_exit, ignore_errors=True)
    serve(settings, ready_line=args.ready_line, watch_stdin=args.watch_stdin)
