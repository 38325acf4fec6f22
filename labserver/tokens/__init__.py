"""Access tokens and what they rest on: issuing and verifying JWTs (access), signing keys and where a token may
say its key is (keys, keysources), remembered checks (verified), revocation (denylist) and refresh-token rotation."""
