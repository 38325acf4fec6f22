"""Lesson 03 q1's inputs and feedback: fresh HS256 tokens whose payloads test what a hand-written decoder
gets wrong (padding, the URL-safe alphabet, UTF-8 text), and what to tell a learner whose decoding differs."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import string
from typing import Any

from coursekit.labtools.attacks import b64url

__all__ = ["describe_wrong_payload", "fresh_tokens"]


def _b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


_TEXT = string.ascii_letters + string.digits + "?>~üé€ "
_NON_ASCII = "üé€ñ→"  # every fresh payload has one: a decoder that reads the JSON as Latin-1 fails on each


def _hs256_token(payload: dict, rng: random.Random) -> tuple[str, str]:
    """A real HS256 token for the payload, signed with a throwaway key; returns (token, payload segment)."""
    signing_input = _b64url_json({"alg": "HS256", "typ": "JWT"}) + "." + _b64url_json(payload)
    mac = hmac.new(rng.randbytes(32), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}", signing_input.split(".")[1]


def _fresh_payload(rng: random.Random) -> dict:
    text = "".join(rng.choice(_TEXT) for _ in range(rng.randrange(3, 30)))
    at = rng.randrange(len(text) + 1)
    text = text[:at] + rng.choice(_NON_ASCII) + text[at:]
    iat = rng.randrange(1_700_000_000, 2_000_000_000)
    return {"sub": str(rng.randrange(1, 10_000)), "note": text, "iat": iat, "exp": iat + 1800}


def fresh_tokens(rng: random.Random) -> dict[str, tuple[str, dict]]:
    """Fresh tokens named by what they test: '=' padding needed (1 or 2), and the '-' and '_' characters."""
    wanted = {"padding1": None, "padding2": None, "url-safe": None}
    for _ in range(10_000):
        payload = _fresh_payload(rng)
        token, segment = _hs256_token(payload, rng)
        plain = not set("-_") & set(segment)
        kind = {3: "padding1", 2: "padding2"}.get(len(segment) % 4) if plain else None
        if len(segment) % 4 == 0 and {"-", "_"} <= set(segment):
            kind = "url-safe"
        if kind and wanted[kind] is None:
            wanted[kind] = (token, payload)
        if all(wanted.values()):
            break
    return {kind: pair for kind, pair in wanted.items() if pair}


def describe_wrong_payload(result: Any, expected: dict, header: dict) -> str | None:
    """What is wrong with the learner's result, or None if it is the payload."""
    if isinstance(result, dict) and result == expected:
        return None
    if isinstance(result, (bytes, bytearray)):
        return ("your function returns bytes (the payload's JSON text, still undecoded): "
                "json.loads() them to get a dict")
    if isinstance(result, str):
        if result.lstrip().startswith("{"):
            return "your function returns the JSON text as a str: json.loads() it to get a dict"
        return ("your function returns a str that is not JSON: is it the segment itself, still base64url? "
                "Decode it with base64.urlsafe_b64decode, then json.loads()")
    if not isinstance(result, dict):
        return f"your function returns {type(result).__name__}; it should return the payload as a dict"
    if result == header or ("alg" in result and "alg" not in expected):
        return ("your dict has an 'alg' key: that is the header, the FIRST segment; "
                "the payload is the middle one, token.split('.')[1]")
    missing = sorted(set(expected) - set(result))
    if missing:
        return f"your dict has no {', '.join(map(repr, missing))} key: the payload has {sorted(expected)}"
    changed = sorted(k for k in expected if result.get(k) != expected[k])
    misread = [k for k in changed if isinstance(expected[k], str) and isinstance(result.get(k), str)
               and not expected[k].isascii()]
    if misread:
        key = misread[0]
        return (f"your dict's value for {key!r} is {result[key]!r}, not {expected[key]!r}: the payload's JSON "
                "text is UTF-8 (RFC 7519 §7.2, RFC 8259 §8.1), so decode UTF-8: json.loads() the decoded bytes "
                "as they are, or .decode('utf-8') them, never 'latin-1' or another code page")
    if changed:
        return f"your dict's value for {changed[0]!r} differs from the payload's"
    return f"your dict has extra keys: {sorted(set(result) - set(expected))}"
