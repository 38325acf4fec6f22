"""Reference solutions of lesson 10's exercises, by class name: what ``qN.solution()`` shows.

Kept apart from the checks (``coursekit.exercises.ex10``) so that a classroom build can leave them out.
"""

SOLUTIONS = {
    "PKCEPair": """
        def make_pkce() -> tuple[str, str]:
            verifier = secrets.token_urlsafe(32)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
            return verifier, challenge
    """,
    "ReadTheCallback": """
        def read_callback(query: dict, expected_state: str) -> str:
            if "error" in query:
                raise ValueError(f"the lab refused the login: {query['error']}")
            if query.get("state") != expected_state:
                raise ValueError("state does not match the login this browser started")
            return query["code"]
    """,
    "RedirectURIs": """
        accepted = {"http://127.0.0.1:8765/callback", "http://[::1]:8765/callback"}
    """,
}
