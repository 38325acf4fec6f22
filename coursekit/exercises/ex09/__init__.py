"""Exercises of notebook 09, the capstone: q1 a client that keeps working, q2 a resource server's verify().

Both are graded per behaviour (``coursekit.kit.behaviours``): ``q1.check(TokenClient)`` shows a table of the
behaviours that pass, and a graded assignment gives each behaviour its own test cell and points.
"""

from __future__ import annotations

from coursekit.exercises.ex09.client import ResilientClient
from coursekit.exercises.ex09.verifier import ResourceServerVerifier

__all__ = ["q1", "q2"]

q1, q2 = ResilientClient("q1"), ResourceServerVerifier("q2")
