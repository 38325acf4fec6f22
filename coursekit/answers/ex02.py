"""Reference solutions of lesson 02's exercises, by class name: what ``qN.solution()`` shows.

Kept apart from the checks (``coursekit.exercises.ex02``) so that a classroom build can leave them out.
"""

SOLUTIONS = {
    "Login": '''
def login(url: str, username: str, password: str) -> str:
    r = requests.post(url + "/oauth/token",
                      data={"grant_type": "password", "username": username, "password": password})
    return r.json()["access_token"]
''',
    "PredictExpiry": """
prediction = {"refused_from": "09:30:00", "status": 401}
""",
    "PredictReplica": """
prediction = {"status": 200, "store_reads": 0}
""",
}
