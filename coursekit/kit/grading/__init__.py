"""Grading a classroom's submissions outside the learner's kernel: nbgrader's step, the sealed process, its seal."""
