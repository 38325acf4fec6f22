"""Remember recent signature checks, so a token presented again is not verified from scratch.

Checking a JWT's signature (and parsing it with PyJWT) is the expensive part of an authenticated
request, and a client presents the same access token on request after request. ``VerifiedTokens.decode``
takes the arguments of ``jwt.decode`` and remembers, for the last few hundred token strings, the claims
that a successful ``jwt.decode`` returned. What it remembers is exactly what does not change with time:

- the token string is the key: a token whose signature was valid is valid again, byte for byte;
- the *same key object* and the *same decode arguments* must be used again, or the entry is ignored:
  a rotated or reloaded key ring, another algorithm, audience or issuer, or other options all miss;
- only decodes that check the signature and leave time checks to the caller are remembered (PyJWT's
  own ``exp`` check reads the wall clock, which changes).

Everything that can change between two requests is still decided on every request by the caller:
whether the key may still verify tokens now (``KeyRing.find``: retirement), ``exp``/``nbf``/``iat``
against the lab clock (``tokens.check_times``), the denylist, and the claims' types. A failed decode is
never remembered. ``clear()`` forgets everything: call it whenever how tokens are verified changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import jwt

# A class of learners or a benchmark uses a handful of tokens at a time; 256 entries of ~1 KB is plenty.
DEFAULT_SIZE = 256


def _leaves_times_to_caller(options: dict) -> bool:
    """Whether PyJWT is told not to check exp, nbf and iat (each is on unless switched off)."""
    return options.get("verify_exp", True) is False and options.get("verify_nbf", True) is False \
        and options.get("verify_iat", True) is False


class VerifiedTokens:
    """A bounded LRU of successful ``jwt.decode`` results, keyed by the token string."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 0:
            raise ValueError("size cannot be negative")
        self.size = size
        self._entries: OrderedDict[str, tuple[object, dict, dict]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def decode(self, token: str, key, **kwargs) -> dict:
        """``jwt.decode(token, key, **kwargs)``, answered from memory when exactly this call succeeded before."""
        options = kwargs.get("options") or {}
        if self.size == 0 or options.get("verify_signature", True) is not True or not _leaves_times_to_caller(options):
            # Never remembered: an unchecked signature proves nothing, and PyJWT's time checks read the wall clock.
            return jwt.decode(token, key, **kwargs)
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None and entry[0] is key and entry[1] == kwargs:
                self._entries.move_to_end(token)
                self.hits += 1
                return dict(entry[2])  # a copy: a caller changing its claims cannot change ours
        self.misses += 1
        claims = jwt.decode(token, key, **kwargs)  # raises for a bad token: nothing is remembered
        with self._lock:
            self._entries[token] = (key, kwargs, dict(claims))
            self._entries.move_to_end(token)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return claims

    def clear(self) -> None:
        """Forget every remembered token."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
