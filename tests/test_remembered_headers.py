"""Remembered JOSE headers: every token signed with one key has the same header, so it is parsed once.

The cache must stay bounded, hand out copies, and never remember a header it refused.
"""

from __future__ import annotations

import base64
import json

import pytest

from labserver.tokens.access import _parsed_header, unverified_header
from labserver.web.errors import InvalidToken


def segment(header: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()


def token_with(header: dict) -> str:
    return f"{segment(header)}.eyJzdWIiOiJhbGljZSJ9.c2ln"


def test_the_header_handed_out_is_a_copy():
    token = token_with({"alg": "HS256", "typ": "at+jwt", "kid": "k1"})
    unverified_header(token)["alg"] = "none"
    assert unverified_header(token) == {"alg": "HS256", "typ": "at+jwt", "kid": "k1"}


@pytest.mark.parametrize("bad", ["e30.e30", "!!!.e30.sig", segment([1]) + ".e30.sig",
                                 segment({"kid": 7}) + ".e30.sig"])
def test_a_refused_header_is_refused_every_time(bad):
    for _ in range(2):
        with pytest.raises(InvalidToken, match="token is malformed"):
            unverified_header(bad)


def test_at_most_64_headers_are_remembered():
    for n in range(200):
        assert unverified_header(token_with({"alg": "HS256", "kid": f"k{n}"}))["kid"] == f"k{n}"
    assert _parsed_header.cache_info().currsize <= 64
