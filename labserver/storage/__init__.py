"""Where a lab keeps things: the SQLite store and private files."""
