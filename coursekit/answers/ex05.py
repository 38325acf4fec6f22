"""Reference solutions of lesson 05's exercises, by class name: what ``qN.solution()`` shows.

Kept apart from the checks (``coursekit.exercises.ex05``) so that a classroom build can leave them out.
"""

SOLUTIONS = {
    "Refresh": """
        def refresh(url, refresh_token):
            r = requests.post(url + "/oauth/token",
                              data={"grant_type": "refresh_token", "refresh_token": refresh_token})
            r.raise_for_status()
            tokens = r.json()
            return tokens["access_token"], tokens["refresh_token"]
    """,
    "StolenLogins": """
        def revoked_for_reuse(events):
            return {e["family"] for e in events if e["event"] == "reuse_detected"}
    """,
    "LogOut": """
        def log_out(url, tokens):
            r = requests.post(url + "/oauth/revoke", data={"token": tokens["refresh_token"]})
            r.raise_for_status()
            tokens.clear()   # without a denylist the access token works until exp: forget it
    """,
    "RefreshingAuth": '''
        class RefreshingAuth(requests.auth.AuthBase):
            """Send the access token; on a 401 invalid_token refresh once, keep the new tokens, retry."""

            def __init__(self, token_url, access_token, refresh_token):
                self.token_url = token_url
                self.access_token = access_token
                self.refresh_token = refresh_token

            def __call__(self, request):
                request.headers["Authorization"] = f"Bearer {self.access_token}"
                request.register_hook("response", self.on_response)
                return request

            def on_response(self, response, **kwargs):
                challenge = response.headers.get("WWW-Authenticate", "")
                if response.status_code != 401 or 'error="invalid_token"' not in challenge:
                    return response
                answer = requests.post(self.token_url, data={"grant_type": "refresh_token",
                                                             "refresh_token": self.refresh_token})
                if answer.status_code != 200:  # refresh refused: the user must log in again
                    return response
                tokens = answer.json()
                self.access_token = tokens["access_token"]
                self.refresh_token = tokens["refresh_token"]
                retry = response.request.copy()
                retry.headers["Authorization"] = f"Bearer {self.access_token}"
                return response.connection.send(retry, **kwargs)  # sent as is: no hook, no second refresh
    ''',
}
