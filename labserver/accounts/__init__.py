"""Who can log in and how: the accounts created at start (initial), users, password hashing, cookie sessions and
login throttling."""
