"""Reference solutions of lesson 08's exercises, by class name: what ``qN.solution()`` shows.

Kept apart from the checks (``coursekit.exercises.ex08``) so that a classroom build can leave them out.
"""

SOLUTIONS = {
    "ReadTheWire": """
        def find_secrets(captured: bytes) -> dict:
            text = captured.decode("latin-1")
            token = re.search(r"Authorization: Bearer (\\S+)", text)
            login = re.search(r"POST /oauth/token .*?Content-Length: (\\d+)\\r\\n.*?\\r\\n\\r\\n", text, re.S | re.I)
            password = None
            if login:
                body = text[login.end():login.end() + int(login.group(1))]
                password = parse_qs(body).get("password", [None])[0]
            return {"password": password, "token": token.group(1) if token else None}
    """,
    "VerifiedClient": """
        def fetch_hello(url: str, ca_file: str) -> dict:
            return requests.get(url + "/api/hello", verify=ca_file, timeout=10).json()
    """,
    "WhereToKeepIt": """
        script_reads = {"localStorage"}
        usable_after_tab_closed = {"localStorage", "memory"}
        sent_by_cross_site_form = set()
        sent_by_same_site_form = {"cookie"}
        script_reads_under_csp = set()                 # the policy kept the script from loading at all
        sent_by_same_site_form_under_csp = {"cookie"}  # the form is on the attacker's page: no policy of ours
    """,
}
