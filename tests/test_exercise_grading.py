"""The exercise kit in a graded test cell: assert_correct raises unless the check says Correct; hidden cases."""

import IPython.display
import pytest

from coursekit.exercises import ex01
from coursekit.kit.exercise import ____, Exercise, Incorrect, NotCorrect, Status
from classroom_tools import split_on_semicolon_space
from exercise_helpers import reference


class Double(Exercise):
    title = "Double it"
    points = 2

    def _check(self, fn):
        if fn(3) != 6:
            raise Incorrect(f"fn(3) should be 6, not {fn(3)!r}")
        return "fn doubles 3."

    def _check_hidden(self, fn):
        if fn(-4) != -8:
            raise Incorrect(f"fn(-4) should be -8, not {fn(-4)!r}")


class NoHidden(Exercise):
    title = "Nothing hidden"

    def _check(self, answer):
        return None


@pytest.fixture
def shown(monkeypatch):
    objects = []
    monkeypatch.setattr(IPython.display, "display", objects.append)
    return objects


def test_a_correct_answer_passes_and_shows_the_same_feedback_as_check(shown):
    q = Double("q1")
    q.assert_correct(lambda x: 2 * x)
    assert [repr(note) for note in shown] == ["✔ Correct: fn doubles 3."]
    assert q.last_outcome.status is Status.CORRECT


def test_an_incorrect_answer_raises_an_assertion_with_the_checks_message(shown):
    with pytest.raises(AssertionError) as raised:
        Double("q1").assert_correct(lambda x: x + 2)
    assert isinstance(raised.value, NotCorrect)
    assert str(raised.value) == "q1: ✘ Incorrect: fn(3) should be 6, not 5"
    assert repr(shown[-1]) == "✘ Incorrect: fn(3) should be 6, not 5"  # the learner sees it in the cell too


def test_an_untouched_answer_raises_not_answered(shown):
    with pytest.raises(NotCorrect, match="q1: … Not answered yet: replace ____ with your answer"):
        Double("q1").assert_correct(____)


def test_an_answer_that_breaks_the_checker_raises_not_correct_rather_than_its_own_error(shown):
    with pytest.raises(NotCorrect, match="your answer raised ZeroDivisionError"):
        Double("q1").assert_correct(lambda x: x / 0)


def test_hidden_cases_are_checked_separately_and_labelled(shown):
    q = Double("q1")
    plus_three = lambda x: x + 3 if x > 0 else x  # noqa: E731 - right on 3 only
    q.assert_correct(plus_three)
    with pytest.raises(NotCorrect, match=r"q1: ✘ Incorrect: \(hidden cases\) fn\(-4\) should be -8, not -4"):
        q.assert_correct_hidden(plus_three)
    q.assert_correct_hidden(lambda x: 2 * x)
    assert repr(shown[-1]) == "✔ Correct: (hidden cases)"


def test_an_exercise_without_hidden_cases_says_so_and_its_hidden_assert_is_a_no_op(shown):
    assert Double("q1").has_hidden_cases and not NoHidden("q2").has_hidden_cases
    NoHidden("q2").assert_correct_hidden("anything")
    assert shown == []


def test_points_default_to_one():
    assert NoHidden().points == 1 and Double().points == 2


# The hidden cases of notebook 01's first exercise


LAB_HEADER = "session=abc; HttpOnly; Path=/; SameSite=strict"


def test_ex01_q1_has_hidden_cases_that_the_reference_solution_passes(shown):
    assert ex01.q1.has_hidden_cases
    ex01.q1.assert_correct_hidden(reference(ex01.q1), LAB_HEADER)
    assert repr(shown[-1]).startswith("✔ Correct: (hidden cases) your function also reads")


def test_ex01_q1_hidden_cases_catch_an_answer_the_visible_check_accepts(shown):
    ex01.q1.assert_correct(split_on_semicolon_space, LAB_HEADER)
    with pytest.raises(NotCorrect) as raised:
        ex01.q1.assert_correct_hidden(split_on_semicolon_space, LAB_HEADER)
    assert "(hidden cases) on a header without spaces after ';'" in str(raised.value)
    assert "The space after ';' is optional: split on ';' alone and strip each part" in str(raised.value)


def test_ex01_q1_hidden_cases_explain_a_trailing_semicolon(shown):
    def strict_parts(set_cookie):  # chokes on the empty part after a trailing ';'
        parts = [p.strip() for p in set_cookie.split(";")[1:]]
        if "" in parts:
            raise ValueError("empty attribute")
        return split_on_semicolon_space("x=1; " + "; ".join(parts))

    with pytest.raises(NotCorrect, match="cookie_flags\\(\\) raised ValueError: empty attribute on a header "
                                         "with a trailing ';'"):
        ex01.q1.assert_correct_hidden(strict_parts, LAB_HEADER)
