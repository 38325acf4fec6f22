"""Reference solutions of lesson 04's exercises, by class name: what ``qN.solution()`` shows.

Kept apart from the checks (``coursekit.exercises.ex04``) so that a classroom build can leave them out.
"""

SOLUTIONS = {
    "LeewayBoundary": """
        last_accepted = 59    # exp + 59 s < exp + 60 s: still 200
        first_rejected = 60   # exp + 60 s is not < exp + 60 s: 401 token has expired
    """,
    "StaleRole": """
        predicted_status = 200      # the route trusts the token, which still says admin
        deciding_claim = "roles"    # read from the token, not from the store
        refused_from = "10:00"      # the old token's exp: issued 09:30, lives 30 minutes
    """,
    "ChooseLifetime": """
        max_window_minutes = 4 * 60   # a stolen token useless after 4 h, whenever stolen: worst case
        max_logins_per_day = 4
        lifetime_minutes = 180        # 3 h: anything from 120 to 240 minutes works
    """,
}
