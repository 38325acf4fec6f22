"""The authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636): registered clients and one-time codes."""
