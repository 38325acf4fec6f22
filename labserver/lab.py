"""One lab: everything a server holds (what routes reach as ``request.app.state.lab``), and how it is built."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from labserver.accounts import initial
from labserver.accounts.passwords import Passwords
from labserver.accounts.sessions import Sessions
from labserver.accounts.throttle import LoginThrottle
from labserver.accounts.users import Users
from labserver.control.audit import AuditLog
from labserver.control.challenge import Challenge, draw, read_seed_file
from labserver.control.clock import LabClock
from labserver.control.flaws import Flaws
from labserver.control.ledger import ControlLedger
from labserver.control.randomness import Randomness, randomness_for
from labserver.control.referee import Referee
from labserver.control.settings import Settings
from labserver.oauth.clients import Clients
from labserver.oauth.codes import AuthorizationCodes
from labserver.storage.store import Store
from labserver.tokens.access import AccessTokens
from labserver.tokens.denylist import Denylist
from labserver.tokens.keys import KeyRing
from labserver.tokens.refresh import RefreshTokens


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
    clients: Clients
    codes: AuthorizationCodes
    # LAB ONLY: a token-request budget and a refresh hold for grading clients (off unless asked for).
    referee: Referee = field(default_factory=Referee)
    # The accounts created at start (what a lab reset restores), and whether they are the public demo ones.
    seeded: tuple = ()
    demo: bool = False
    # A black-box challenge lab's answers (labserver.control.challenge); None on any other lab.
    challenge: Challenge | None = None
    # Accounts of an existing store that this start changed (a new password or role given with --user).
    changed: dict = field(default_factory=dict)
    # What every /lab/ request must send (labserver.web.routes.lab): the OS's randomness, never the lab's seed.
    lab_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # Every control obeyed, numbered (labserver.control.ledger): never reset.
    controls: ControlLedger = field(default_factory=ControlLedger)

    def now(self) -> float:
        return self.clock.now()

    def close(self) -> None:
        """Close the store and remove the files a flaw made (its key folder); called once serving ends."""
        self.tokens.close()
        self.store.close()


def build_lab(settings: Settings, clock: LabClock | None = None) -> Lab:
    clock = clock or LabClock(frozen_at=settings.frozen_at)
    challenge, hidden = None, ()
    if settings.challenge_file:  # LAB ONLY: one flaw, drawn from a seed, named nowhere (labserver.control.challenge)
        flaw, algorithm = draw(read_seed_file(settings.challenge_file))
        settings = settings.replace(algorithm=algorithm, challenge_file="(read and deleted)")
        challenge, hidden = Challenge(flaw), (flaw,)
    randomness = randomness_for(settings.seed)
    store = Store(settings.db)
    audit = AuditLog(clock.now)
    users = Users(store, Passwords(randomness))
    seeded, demo, changed = initial.seed(settings, users, store, clock.now())
    # Retired keys verify for one access-token lifetime (plus leeway) after rotation, then go.
    keys = KeyRing(settings.algorithm, settings.keys_file, randomness,
                   keep_for=settings.access_ttl + settings.leeway, now=clock.now())
    denylist = Denylist(store, settings.denylist)
    flaws = Flaws(settings.algorithm, hidden or settings.flaws)  # LAB ONLY: all off unless asked, loopback only
    tokens = AccessTokens(settings, keys, randomness, flaws)
    # A remembered signature check must not outlive a change in how tokens are verified.
    flaws.listeners.append(tokens.forget_verified)
    if challenge is not None:
        tokens.hide_flaw(clock.now())
    refresh = RefreshTokens(store, settings, users, randomness, audit, denylist)
    return Lab(settings=settings, clock=clock, randomness=randomness, store=store, audit=audit, users=users,
               sessions=Sessions(store, settings, randomness), keys=keys, tokens=tokens, refresh=refresh,
               denylist=denylist, flaws=flaws, seeded=seeded, demo=demo, changed=changed, challenge=challenge,
               clients=Clients(((settings.client_id, settings.redirect_uris), *settings.clients)),
               codes=AuthorizationCodes(store, settings, users, randomness, refresh, audit, flaws),
               throttle=LoginThrottle(settings.login_failures_per_account, settings.login_failures_per_address,
                                      settings.login_window, settings.login_lockout))

