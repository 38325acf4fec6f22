"""Hidden cases drawn from the instructor's secret: cases that code tuned to the public repository cannot know.

The course is open source, so any fixed hidden case is public too. An exercise's ``_check_hidden`` can draw
its cases instead: ``rng = drawn("ex01.q1")`` then ``rng.choice(...)``, ``rng.randrange(...)``. While a class
is graded, the generator is seeded by the course folder's secret (``grading_secret``, made by
tools/build_classroom.py, readable by the instructor only, handed to the sealed grading processes); anywhere
else (self-study, the test suite) by the label alone, so the same cases come back every run.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random

__all__ = ["ENV", "drawn", "new_secret"]

ENV = "JWT_COURSE_GRADING_SECRET"
# Taken out of the environment when the kit is loaded: the submission graded after it cannot read it there.
_secret = os.environ.pop(ENV, "")


def drawn(label: str) -> random.Random:
    """A random generator for one exercise's hidden cases, e.g. ``drawn("ex01.q1")``."""
    seed = hmac.new(_secret.encode(), label.encode(), hashlib.sha256).digest() if _secret else label.encode()
    return random.Random(seed)


def new_secret() -> str:
    """A fresh secret for a course folder."""
    return os.urandom(32).hex()
