"""Reference solutions of lesson 07's exercises, by class name: what ``qN.solution()`` shows.

Kept apart from the checks (``coursekit.exercises.ex07``) so that a classroom build can leave them out.
"""

SOLUTIONS = {
    "MintWithLeakedKey": """
        def mint(lab, leaked: dict, username: str, roles: list) -> str:
            now = int(lab.clock.now())
            minted = {"iss": lab.settings.issuer_id, "sub": "0", "aud": lab.settings.audience,
                      "iat": now, "exp": now + 1800, "jti": secrets.token_urlsafe(16),
                      "client_id": "jwt-course", "username": username, "roles": roles}
            return jwt.encode(minted, jwt.PyJWK(leaked).key, algorithm="HS256",
                              headers={"typ": "at+jwt", "kid": leaked["kid"]})
    """,
    "OldKeyLeavesAt": """
        old_key_leaves = "10:01:00"    # 09:30 (the last token it signed) + 30 min + 60 s of leeway
    """,
    "RecoverByRefreshing": """
        def call_api(lab, tokens: dict):
            r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]))
            if r.status_code == 401:
                tokens = requests.post(lab.url + "/oauth/token", data={
                    "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
                r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]))
            return r, tokens
    """,
}
