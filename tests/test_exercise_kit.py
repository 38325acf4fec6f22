"""The exercise kit: the ____ placeholder, evaluate()/check() feedback, hints and solutions."""

import copy
import pickle
import sys

import IPython.display
import pytest
from IPython.core.formatters import DisplayFormatter

from coursekit.kit.exercise import ____, Blank, Exercise, Incorrect, Outcome, Status, is_blank, numbered
from coursekit.kit.timelimit import Stopped

NUDGE = "replace ____ with your answer, then run the cell again; q1.hint() gives a hint."


class DecodePayload(Exercise):
    title = "Decode the payload"
    _hints = [
        "Split the token on '.'.",
        "Decode the middle segment with decode_segment().",
        "json.loads() the bytes you got.",
    ]
    def solution_source(self):  # a course exercise's comes from coursekit.answers
        return 'payload = json.loads(decode_segment(token.split(".")[1]))'

    def _check(self, payload, *, strict=False):
        if isinstance(payload, str):
            raise Incorrect("that is still base64url text; decode it first")
        if payload["sub"] != "alice":  # a dict without "sub" makes this raise KeyError
            raise Incorrect("the 'sub' claim should be 'alice'")
        if strict:
            return None
        return "that is exactly what the server reads."


class NoHints(Exercise):
    title = "Nothing to see"

    def _check(self, answer):
        return None


@pytest.fixture
def q1():
    return DecodePayload("q1")


@pytest.fixture
def shown(monkeypatch):
    """Collect what the kit hands to IPython's display()."""
    objects = []
    monkeypatch.setattr(IPython.display, "display", objects.append)
    return objects


def mime_bundle(obj):
    data, _metadata = DisplayFormatter().format(obj)
    return data


# The placeholder


def test_the_placeholder_reads_as_four_underscores():
    assert repr(____) == "____"
    assert str(____) == "____"


def test_the_placeholder_is_the_only_blank_and_survives_copy_and_pickle():
    assert Blank() is ____
    assert copy.copy(____) is ____
    assert copy.deepcopy(____) is ____
    assert pickle.loads(pickle.dumps(____)) is ____


def test_is_blank_finds_the_placeholder_itself_and_nested_in_containers():
    assert is_blank(____)
    assert is_blank((1, ____))
    assert is_blank([1, [2, (3, ____)]])
    assert is_blank({"sub": ____})
    assert is_blank({____: "key"})
    assert is_blank({"claims": [{"exp": ____}]})
    assert is_blank({1, ____})


def test_is_blank_is_false_for_real_answers_including_underscore_strings():
    assert not is_blank(None)
    assert not is_blank("____")
    assert not is_blank({"sub": "alice", "roles": ["admin"]})
    assert not is_blank(())


def test_is_blank_terminates_on_a_list_that_contains_itself():
    loop = [1]
    loop.append(loop)
    assert not is_blank(loop)


# evaluate(): the outcome, without display


def test_an_untouched_placeholder_is_not_answered_yet_with_a_nudge(q1):
    outcome = q1.evaluate(____)
    assert outcome == Outcome(Status.NOT_ANSWERED, NUDGE)
    assert outcome.text == f"… Not answered yet: {NUDGE}"


def test_a_placeholder_nested_in_the_answer_or_in_a_keyword_is_not_answered_yet(q1):
    assert q1.evaluate({"sub": ____}).status is Status.NOT_ANSWERED
    assert q1.evaluate({"sub": "alice"}, strict=____).status is Status.NOT_ANSWERED


def test_a_wrong_answer_is_incorrect_with_the_checkers_message(q1):
    outcome = q1.evaluate({"sub": "mallory"})
    assert outcome == Outcome(Status.INCORRECT, "the 'sub' claim should be 'alice'")
    assert outcome.text == "✘ Incorrect: the 'sub' claim should be 'alice'"


def test_an_answer_that_makes_the_checker_raise_is_incorrect_and_names_the_error(q1):
    outcome = q1.evaluate({})
    assert outcome == Outcome(Status.INCORRECT, "your answer raised KeyError: 'sub'")
    assert outcome.text == "✘ Incorrect: your answer raised KeyError: 'sub'"


def test_a_right_answer_is_correct_with_the_success_message(q1):
    outcome = q1.evaluate({"sub": "alice"})
    assert outcome == Outcome(Status.CORRECT, "that is exactly what the server reads.")
    assert outcome.text == "✔ Correct: that is exactly what the server reads."


class CallsTheAnswer(Exercise):
    title = "Call the answer"

    def _check(self, fn):
        if fn() != 42:
            raise Incorrect("the answer is 42")


def _raises(error):
    def answer():
        raise error
    return answer


@pytest.mark.parametrize(("error", "message"), [
    (Stopped, "checking your answer: your code raised Stopped itself, which only the time limit may raise"),
    (SystemExit, "checking your answer: your code raised SystemExit (it ends a program, not an answer: return a "
                 "value, or raise an ordinary exception)"),
    (GeneratorExit, "checking your answer: your code raised GeneratorExit (it ends a program, not an answer: "
                    "return a value, or raise an ordinary exception)"),
])
def test_an_answer_that_raises_what_ends_a_program_or_a_time_limit_is_incorrect_not_correct(error, message):
    # Stopped is what the time limit raises into an overrunning answer: raised by the answer itself, it once
    # ended the check without a verdict, which read as Correct.
    outcome = CallsTheAnswer("q1").evaluate(_raises(error))
    assert outcome == Outcome(Status.INCORRECT, message)


def test_the_answer_check_still_passes_a_right_answer_and_refuses_a_wrong_one():
    assert CallsTheAnswer("q1").evaluate(lambda: 42).status is Status.CORRECT
    assert CallsTheAnswer("q1").evaluate(lambda: 41) == Outcome(Status.INCORRECT, "the answer is 42")


def test_a_right_answer_without_a_success_message_is_just_correct(q1):
    outcome = q1.evaluate({"sub": "alice"}, strict=True)
    assert outcome == Outcome(Status.CORRECT, "")
    assert outcome.text == "✔ Correct"


def test_evaluate_remembers_the_last_outcome(q1):
    assert q1.last_outcome is None
    q1.evaluate({"sub": "mallory"})
    assert q1.last_outcome.status is Status.INCORRECT
    q1.evaluate({"sub": "alice"})
    assert q1.last_outcome.status is Status.CORRECT


def test_an_unnamed_exercise_still_points_to_its_hint_method():
    assert DecodePayload().evaluate(____).message == (
        "replace ____ with your answer, then run the cell again; <exercise>.hint() gives a hint."
    )


def test_numbered_names_the_exercises_in_order():
    first, second = numbered(DecodePayload(), NoHints())
    assert (first.name, second.name) == ("q1", "q2")
    assert second.evaluate(____).message.endswith("; q2.hint() gives a hint.")


def test_an_exercise_reads_as_its_class_and_title(q1):
    assert repr(q1) == "<DecodePayload: Decode the payload>"


# check(): display, never raise


@pytest.mark.parametrize(
    ("answer", "line"),
    [
        (____, f"… Not answered yet: {NUDGE}"),
        ("eyJzdWIiOiJhbGljZSJ9", "✘ Incorrect: that is still base64url text; decode it first"),
        ({}, "✘ Incorrect: your answer raised KeyError: 'sub'"),
        (42, "✘ Incorrect: your answer raised TypeError: 'int' object is not subscriptable"),
        ({"sub": "alice"}, "✔ Correct: that is exactly what the server reads."),
    ],
)
def test_check_prints_one_feedback_line_and_returns_none_outside_jupyter(q1, capsys, answer, line):
    assert q1.check(answer) is None
    assert capsys.readouterr() == (line + "\n", "")


def test_check_falls_back_to_print_when_ipython_is_missing(q1, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython.display", None)  # makes the import fail
    q1.check({"sub": "mallory"})
    assert capsys.readouterr().out == "✘ Incorrect: the 'sub' claim should be 'alice'\n"


def test_check_gives_jupyter_a_plain_text_line_and_coloured_html(q1, shown):
    q1.check({"sub": "mallory"})
    q1.check({"sub": "alice"})
    q1.check(____)
    incorrect, correct, unanswered = map(mime_bundle, shown)
    assert incorrect["text/plain"] == "✘ Incorrect: the 'sub' claim should be 'alice'"
    assert incorrect["text/html"] == (
        '<div style="color:#c62828"><strong>✘ Incorrect</strong>: '
        "the &#x27;sub&#x27; claim should be &#x27;alice&#x27;</div>"
    )
    assert correct["text/plain"] == "✔ Correct: that is exactly what the server reads."
    assert 'style="color:#2e7d32"' in correct["text/html"]
    assert unanswered["text/plain"] == f"… Not answered yet: {NUDGE}"
    assert 'style="color:#546e7a"' in unanswered["text/html"]


def test_check_escapes_the_message_in_html(shown):
    class Echo(Exercise):
        def _check(self, answer):
            raise Incorrect(f"got {answer}")

    Echo().check("<script>alert(1)</script>")
    html = mime_bundle(shown[0])["text/html"]
    assert "<script>" not in html
    assert "got &lt;script&gt;alert(1)&lt;/script&gt;" in html


# hint() and solution()


def test_hints_are_numbered_out_of_the_total(q1, capsys):
    q1.hint()
    q1.hint(2)
    q1.hint(3)
    assert capsys.readouterr().out == (
        "Hint 1/3: Split the token on '.'.\n"
        "Hint 2/3: Decode the middle segment with decode_segment().\n"
        "Hint 3/3: json.loads() the bytes you got.\n"
    )


@pytest.mark.parametrize("n", [0, 4, -1, "2"])
def test_a_hint_number_out_of_range_says_how_many_hints_exist(q1, capsys, n):
    q1.hint(n)
    assert capsys.readouterr().out == "There are 3 hints: q1.hint(1) to q1.hint(3).\n"


def test_a_single_hint_and_no_hints_are_worded_for_their_count(capsys):
    class OneHint(NoHints):
        _hints = ["Look at the header."]

    OneHint("q3").hint(2)
    NoHints("q4").hint()
    assert capsys.readouterr().out == "There is 1 hint: q3.hint(1).\nThis exercise has no hints.\n"


def test_the_solution_prints_as_dedented_code(q1, capsys):
    q1.solution()
    assert capsys.readouterr().out == 'Solution:\npayload = json.loads(decode_segment(token.split(".")[1]))\n'


def test_the_solution_is_a_python_code_block_in_jupyter(q1, shown):
    q1.solution()
    bundle = mime_bundle(shown[0])
    assert bundle["text/plain"] == 'Solution:\npayload = json.loads(decode_segment(token.split(".")[1]))'
    assert bundle["text/markdown"] == (
        '**Solution:**\n\n```python\npayload = json.loads(decode_segment(token.split(".")[1]))\n```\n'
    )


def test_a_solution_containing_backticks_gets_a_longer_fence(shown):
    class Markdown(NoHints):
        def solution_source(self):
            return 'text = "```"'

    Markdown().solution()
    assert mime_bundle(shown[0])["text/markdown"] == '**Solution:**\n\n````python\ntext = "```"\n````\n'


def test_a_function_or_class_that_still_uses_the_placeholder_is_blank():
    from coursekit.kit.exercise import ____, is_blank

    def unfinished(token):
        return ____

    def nested(token):
        return lambda: ____

    def finished(token):
        return token

    class Wrapper:
        def __call__(self, request):
            return ____

    assert is_blank(unfinished) and is_blank(nested) and is_blank(Wrapper)
    assert not is_blank(finished) and not is_blank(len)
