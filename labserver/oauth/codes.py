"""Authorization codes (RFC 6749 §4.1.2, §4.1.3): short-lived, used once, bound to what they were issued for.

A code is bound to its client, its redirect URI and its PKCE challenge, and lives ``code_ttl`` seconds of
the lab clock. The token endpoint gives tokens for it once: the same code again means two parties hold it,
so the login its first use started is revoked, as RFC 6749 §4.1.2 says ("SHOULD revoke ... all tokens
previously issued based on that authorization code"). As for refresh tokens (labserver.tokens.refresh),
the decision is taken inside one transaction and the error raised after it, so a revocation is committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from labserver.accounts.sessions import digest
from labserver.accounts.users import User, Users
from labserver.control.audit import AuditLog
from labserver.control.flaws import Flaws
from labserver.control.randomness import Randomness
from labserver.control.settings import Settings
from labserver.oauth.pkce import UNRESERVED, verifier_matches
from labserver.storage.store import Store
from labserver.tokens.refresh import RefreshTokens
from labserver.web.errors import InvalidGrant, InvalidRequest, OAuthError


@dataclass(frozen=True)
class Grant:
    """A redeemed code: who logged in, and the first refresh token of their new login."""

    user: User
    refresh_token: str
    family_id: str
    client_id: str


class AuthorizationCodes:
    def __init__(self, store: Store, settings: Settings, users: Users, randomness: Randomness,
                 refresh: RefreshTokens, audit: AuditLog, flaws: Flaws) -> None:
        self._store, self._settings, self._users = store, settings, users
        self._random, self._refresh, self._audit, self._flaws = randomness, refresh, audit, flaws

    def issue(self, user: User, client_id: str, redirect_uri: str, challenge: str | None, method: str | None,
              now: float) -> str:
        """Make a code for this user, client, redirect URI and challenge; return it (the store keeps its hash)."""
        code = self._random.token(32)
        self._store.write(
            "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, user_id, code_challenge, "
            "code_challenge_method, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (digest(code), client_id, redirect_uri, user.id, challenge, method, now))
        return code

    def redeem(self, code: str, client_id: str, redirect_uri: str, verifier: str | None, now: float) -> Grant:
        """Use up a code and start a login, or raise the token endpoint's error and say why."""
        with self._store.transaction() as db:
            outcome = self._redeem(db, code, client_id, redirect_uri, verifier, now)
        if isinstance(outcome, OAuthError):
            raise outcome
        return outcome

    def _redeem(self, db: Store, code: str, client_id: str, redirect_uri: str, verifier: str | None,
                now: float) -> Grant | OAuthError:
        row = db.one("SELECT * FROM authorization_codes WHERE code_hash = ?", (digest(code),))
        if row is None:
            return InvalidGrant("authorization code is unknown")
        if row["used_at"] is not None:
            # DELIBERATELY VULNERABLE (lab flaw "code-reuse"): with the flaw on, a used code is redeemed again,
            # for a new login, and the first one lives on. The fix: refuse it and revoke its first login.
            if not self._flaws.on("code-reuse"):
                self._audit.record("code_reused", client=row["client_id"], family=row["family_id"])
                if row["family_id"]:
                    self._refresh.revoke_family_in(db, row["family_id"], now, "authorization code reused")
                return InvalidGrant("authorization code was already used: the login it gave is revoked")
        if now >= row["issued_at"] + self._settings.code_ttl:
            return InvalidGrant(f"authorization code has expired (codes live {self._settings.code_ttl:g} "
                                f"seconds): start the flow again")
        if client_id != row["client_id"]:
            return InvalidGrant("authorization code was issued to another client")
        if redirect_uri != row["redirect_uri"]:
            # RFC 6749 §4.1.3: identical to the authorization request's, character for character.
            return InvalidGrant("redirect_uri is not the one of the authorization request")
        refused = self._check_verifier(row, verifier)
        if refused is not None:
            return refused
        user = self._users.get(row["user_id"])
        if user is None or user.disabled:
            return InvalidGrant("user is disabled")
        refresh_token, family_id = self._refresh.start_family_in(db, user, now, client_id)
        db.write("UPDATE authorization_codes SET used_at = ?, family_id = ? WHERE code_hash = ?",
                 (now, family_id, row["code_hash"]))
        return Grant(user, refresh_token, family_id, client_id)

    def _check_verifier(self, row, verifier: str | None) -> OAuthError | None:
        challenge, method = row["code_challenge"], row["code_challenge_method"]
        if challenge is None:
            if verifier:  # RFC 9700 §4.8.2: a verifier for a code issued without a challenge is refused
                return InvalidGrant("code_verifier sent, but the authorization request had no code_challenge")
            return None
        if not verifier:
            # DELIBERATELY VULNERABLE (lab flaw "no-pkce"): without a verifier the PKCE check is skipped, so a
            # caught code is redeemed by whoever caught it. The fix is the refusal after it.
            if self._flaws.on("no-pkce"):
                return None
            return InvalidRequest("code_verifier is missing: this code was issued for a PKCE code_challenge")
        if not UNRESERVED.fullmatch(verifier):
            return InvalidRequest("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
        if not verifier_matches(verifier, challenge, method):
            return InvalidGrant("code_verifier does not match the code_challenge of the authorization request")
        return None
