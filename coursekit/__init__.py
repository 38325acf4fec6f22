"""Helpers for the course notebooks: lab servers, client helpers, the token view and the exercise kit."""
