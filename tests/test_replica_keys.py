"""Replicas sharing a keys file agree on the active key, whichever of them rotates."""

from __future__ import annotations

import pytest

from conftest import Auth, make_client
from helpers import header_of


@pytest.fixture
def replicas(tmp_path):
    """Two servers of one service: same keys file and issuer, each its own store."""
    keys = str(tmp_path / "service.keys.json")
    return [make_client(db=str(tmp_path / f"{name}.sqlite3"), keys=keys, issuer="https://service.test",
                        algorithm="ES256") for name in ("a", "b")]


def kid_signing(client) -> str:
    return header_of(Auth(client).token()["access_token"])["kid"]


def test_after_a_rotation_on_one_replica_the_other_signs_with_the_new_key(replicas):
    a, b = replicas
    old = kid_signing(b)
    rotated = a.post("/lab/keys/rotate").json()
    assert rotated["previous_kid"] == old
    assert kid_signing(b) == kid_signing(a) == rotated["kid"]
    # Each accepts the other's new tokens, and both publish the new key.
    for issuer, verifier in ((a, b), (b, a)):
        token = Auth(issuer).token()["access_token"]
        assert Auth(verifier).get("/api/me", token).status_code == 200
    assert ({k["kid"] for k in a.get("/.well-known/jwks.json").json()["keys"]}
            == {k["kid"] for k in b.get("/.well-known/jwks.json").json()["keys"]} == {old, rotated["kid"]})


def test_a_rotation_builds_on_the_other_replicas_rotation(replicas):
    a, b = replicas
    first = kid_signing(a)
    by_a = a.post("/lab/keys/rotate").json()["kid"]
    by_b = b.post("/lab/keys/rotate").json()
    assert by_b["previous_kid"] == by_a  # b retired a's new key, not the one it had in memory
    assert kid_signing(a) == kid_signing(b) == by_b["kid"]
    published = {k["kid"] for k in a.get("/.well-known/jwks.json").json()["keys"]}
    assert published == {first, by_a, by_b["kid"]}
