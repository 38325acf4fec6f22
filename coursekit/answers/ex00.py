"""Reference solutions of lesson 00's exercises, by class name: what ``qN.solution()`` shows.

Kept apart from the checks (``coursekit.exercises.ex00``) so that a classroom build can leave them out.
"""

SOLUTIONS = {
    "StatusOfMe": """
        status = 401   # Unauthorized: no token, so the server does not know who is asking
    """,
}
