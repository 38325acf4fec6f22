"""HTTP routes, one module per area: the API, sessions, OAuth endpoints, admin, well-known, lab controls."""
