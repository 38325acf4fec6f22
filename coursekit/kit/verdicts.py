"""What a check concludes: ``Incorrect`` (the answer is wrong, and why) and ``NotCorrect`` (a graded test failed).

Kept apart from the Exercise class so that the modules a check uses (``diagnosis``) can raise them without
importing the class that uses them.
"""

from __future__ import annotations

__all__ = ["Incorrect", "NotCorrect"]


class Incorrect(Exception):
    """Raised by ``Exercise._check`` with a message that explains what is wrong."""


class NotCorrect(AssertionError):
    """Raised by ``Exercise.assert_correct`` when the check does not say Correct: a graded test that failed."""
