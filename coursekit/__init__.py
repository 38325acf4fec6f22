"""Helpers for the course notebooks: lab servers, the token view and the exercise kit."""
