"""Reference solutions of lesson 01's exercises, by class name: what ``qN.solution()`` shows.

Kept apart from the checks (``coursekit.exercises.ex01``) so that a classroom build can leave them out.
"""

SOLUTIONS = {
    "CookieFlags": '''
def cookie_flags(set_cookie: str) -> dict:
    attributes = {}
    for part in set_cookie.split(";")[1:]:           # skip the name=value part
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return {"HttpOnly": "httponly" in attributes, "Secure": "secure" in attributes,
            "SameSite": attributes.get("samesite")}
''',
    "MySessionRow": '''
def my_session_row(server, session_id: str) -> dict:
    id_hash = hashlib.sha256(session_id.encode()).hexdigest()
    return next(row for row in server.table("sessions") if row["id_hash"] == id_hash)
''',
    "PredictDeadCookie": """
prediction = {"status": 401, "alice_row_in_store": False}
""",
}
