"""An offline, colour-coded view of a JWT, like the jwt.io debugger.

Splitting and decoding use only the standard library (split on '.', base64url with the padding
put back, json), as the course teaches; PyJWT is used only to check a signature when given a key.
Tokens can be attacker-controlled, so everything taken from one is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple

import jwt

__all__ = ["split_token", "decode_segment", "TokenView", "show_token", "TIME_CLAIMS"]

# jwt.io's colours for the header, the payload and the signature.
HEADER_COLOUR, PAYLOAD_COLOUR, SIGNATURE_COLOUR = "#fb015b", "#d63aff", "#00b9f1"
_EXTRA_COLOUR, _ERROR_COLOUR, _NOTE_COLOUR = "#9e9e9e", "#c62828", "#757575"
TIME_CLAIMS = ("exp", "iat", "nbf", "auth_time")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*=*")

Line = tuple[str, str]  # (text, note); the note is shown after the text, e.g. a claim's UTC time


def _count_message(count: int) -> str:
    message = f"expected 3 dot-separated segments (header.payload.signature), found {count}"
    if count == 5:  # the usual surprise: an encrypted token
        message += "; 5 segments is an encrypted JWE, which cannot be read without the key"
    return message


def split_token(token: str) -> tuple[str, str, str]:
    """Split a compact JWS into its header, payload and signature segments (ValueError if not 3)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ValueError(_count_message(len(parts)))
    return parts[0], parts[1], parts[2]


def decode_segment(segment: str) -> bytes:
    """Decode one base64url segment, adding back the '=' padding that JWTs leave out."""
    # Checked first because the base64 module silently skips characters outside the alphabet.
    if not _BASE64URL.fullmatch(segment):
        raise ValueError("only A-Z, a-z, 0-9, '-' and '_' may appear in base64url")
    data = segment.rstrip("=")
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _decode_json(segment: str) -> tuple[Any, str]:
    """Decode a segment to JSON, returning (value, "") or (None, what went wrong)."""
    try:
        raw = decode_segment(segment)
    except ValueError as error:
        return None, f"not valid base64url ({error})"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, f"not UTF-8 text ({len(raw)} bytes of binary data)"
    try:
        return json.loads(text), ""
    except ValueError:
        return None, f"not JSON: {text if len(text) <= 60 else text[:57] + '...'!r}"
    except RecursionError:
        return None, "JSON nested too deeply to show"


def _utc(value: Any) -> str:
    """The UTC time of a NumericDate claim, as ISO 8601, or "" if it is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    try:
        return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return "not a valid time"


def _absent(segment: str | None) -> str:
    return "(missing)" if segment is None else "(empty)"


def _json_lines(value: Any, *, times: bool) -> list[Line]:
    """Pretty JSON (indent=2, the token's own key order), noting the UTC time of top-level time claims."""
    if not isinstance(value, dict) or not value:
        return [(line, "") for line in json.dumps(value, indent=2, ensure_ascii=False).splitlines()]
    lines: list[Line] = [("{", "")]
    for number, (key, item) in enumerate(value.items(), start=1):
        comma = "," if number < len(value) else ""
        text = f"  {json.dumps(key, ensure_ascii=False)}: " + json.dumps(item, indent=2, ensure_ascii=False)
        *head, last = (text.replace("\n", "\n  ") + comma).split("\n")
        lines += [(line, "") for line in head]
        lines.append((last, _utc(item) if times and key in TIME_CLAIMS else ""))
    return lines + [("}", "")]


class _Section(NamedTuple):
    label: str
    colour: str
    segment: str | None  # None when the token has no such segment
    lines: list[Line]  # the decoded JSON, if it decoded
    message: str  # what went wrong, or the signature's status
    bad: bool


def _json_section(label: str, colour: str, segment: str | None, value: Any, error: str) -> _Section:
    lines = [] if segment is None or error else _json_lines(value, times=label == "PAYLOAD")
    return _Section(label, colour, segment, lines, error, bool(error))


class TokenView:
    """A jwt.io-style view of a token: coloured segments, decoded header and payload, signature status."""

    def __init__(
        self, token: str, *, verify_key: Any = None, algorithms: Sequence[str] | None = None
    ) -> None:
        if isinstance(token, bytes):
            token = token.decode("ascii", "replace")
        self.token = str(token).strip()
        self.segments = self.token.split(".")
        self.problem = "" if len(self.segments) == 3 else _count_message(len(self.segments))
        header, payload, signature = (self.segments + [None, None])[:3]
        self.header, self.header_error = _decode_json(header)  # there is always a first segment
        self.payload, self.payload_error = (None, "") if payload is None else _decode_json(payload)
        self.signature_status, signature_bad = self._signature_status(signature, verify_key, algorithms)
        self._sections = [
            _json_section("HEADER", HEADER_COLOUR, header, self.header, self.header_error),
            _json_section("PAYLOAD", PAYLOAD_COLOUR, payload, self.payload, self.payload_error),
            _Section("SIGNATURE", SIGNATURE_COLOUR, signature, [], self.signature_status, signature_bad),
        ]

    def _signature_status(
        self, signature: str | None, key: Any, algorithms: Sequence[str] | None
    ) -> tuple[str, bool]:
        """The signature's size and verification result, and whether that is bad news."""
        if signature is None:
            return "", True
        try:
            status, bad = f"{len(decode_segment(signature))} bytes", False
        except ValueError as error:
            status, bad = f"not valid base64url ({error})", True
        if key is None:
            return (status if bad else f"{status} (not verified)"), bad
        if algorithms is None:  # like jwt.io, trust the header's alg; servers must pin it instead
            alg = self.header.get("alg") if isinstance(self.header, dict) else None
            algorithms = [alg] if isinstance(alg, str) else []
        try:  # PyJWS checks only the signature: no claim (exp, aud, ...) is validated
            jwt.PyJWS().decode(self.token, key, algorithms=list(algorithms))
        except jwt.PyJWTError as error:
            return f"{status}, signature INVALID ({error})", True
        except Exception as error:  # e.g. a key of the wrong type for the algorithm
            return f"{status}, signature INVALID ({type(error).__name__}: {error})", True
        return f"{status}, signature valid", bad

    def __repr__(self) -> str:
        blocks = [f"Malformed token: {self.problem}."] if self.problem else []
        for section in self._sections:
            block = [f"{section.label}  {section.segment or _absent(section.segment)}"]
            block += [f"{text}  ({note})" if note else text for text, note in section.lines]
            blocks.append("\n".join(block + ([section.message] if section.message else [])))
        return "\n\n".join(blocks)

    def _repr_html_(self) -> str:
        esc = html.escape
        colours = [HEADER_COLOUR, PAYLOAD_COLOUR, SIGNATURE_COLOUR]
        spans = [
            f'<span style="color:{colours[i] if i < 3 else _EXTRA_COLOUR}">{esc(segment)}</span>'
            for i, segment in enumerate(self.segments)
        ]
        out = [
            '<div style="font-family:monospace">',
            f'<div style="word-break:break-all;font-size:1.1em;line-height:1.5">{".".join(spans)}</div>',
        ]
        if self.problem:
            out.append(f'<div style="color:{_ERROR_COLOUR}">Malformed token: {esc(self.problem)}.</div>')
        for label, colour, segment, lines, message, bad in self._sections:
            out.append(f'<div style="margin-top:0.8em"><strong style="color:{colour}">{label}</strong>')
            if not segment:
                out.append(f' <em style="color:{_ERROR_COLOUR}">{_absent(segment)}</em>')
            if lines:
                body = "\n".join(
                    esc(text) + (f' <span style="color:{_NOTE_COLOUR}">({esc(note)})</span>' if note else "")
                    for text, note in lines
                )
                out.append(f'<pre style="margin:0.3em 0;white-space:pre-wrap">{body}</pre>')
            if message:
                out.append(f'<div style="color:{_ERROR_COLOUR if bad else "inherit"}">{esc(message)}</div>')
            out.append("</div>")
        return "\n".join(out + ["</div>"])


def show_token(token: str, *, verify_key: Any = None, algorithms: Sequence[str] | None = None) -> None:
    """Display a TokenView of the token (printed as text outside Jupyter)."""
    view = TokenView(token, verify_key=verify_key, algorithms=algorithms)
    try:
        from IPython.display import display
    except ImportError:
        print(view)
    else:
        display(view)
