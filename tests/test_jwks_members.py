"""The published JWK Set: `use` alone, never beside `key_ops` (RFC 7517 §4.3), and no private member."""

import pytest

from conftest import make_client

MEMBERS = {
    "RS256": {"kty", "n", "e", "kid", "alg", "use"},
    "ES256": {"kty", "crv", "x", "y", "kid", "alg", "use"},
    "EdDSA": {"kty", "crv", "x", "kid", "alg", "use"},
}


@pytest.mark.parametrize("algorithm", sorted(MEMBERS))
def test_published_key_has_use_sig_and_no_key_ops(algorithm):
    client = make_client(algorithm=algorithm)
    r = client.get("/.well-known/jwks.json")
    assert r.status_code == 200, r.text
    (key,) = r.json()["keys"]
    assert set(key) == MEMBERS[algorithm]
    assert key["use"] == "sig"


@pytest.mark.parametrize("algorithm", sorted(MEMBERS))
def test_kept_private_key_has_no_key_ops_either(algorithm):
    client = make_client(algorithm=algorithm)
    kept = client.app.state.lab.keys.active.jwk
    assert "key_ops" not in kept and kept["use"] == "sig"
