"""Exercise kit for the notebooks: the ``____`` placeholder, checkable exercises, hints and solutions.

What is checked is always passed in explicitly; nothing reads the notebook's globals. An exercise::

    class DecodePayload(Exercise):
        title = "Decode the payload"
        _hints = ["Split the token on '.'.", "decode_segment() the middle part, then json.loads() it."]

        def _check(self, payload):
            if not isinstance(payload, dict):
                raise Incorrect(f"expected a dict, got {type(payload).__name__}")
            if payload.get("sub") != "alice":
                raise Incorrect("the 'sub' claim should be 'alice'")
            return "that is exactly what the server reads."

Its reference solution lives apart, in the lesson's module of ``coursekit.answers``, so that a classroom build
can leave it out: ``SOLUTIONS = {"DecodePayload": "payload = json.loads(decode_segment(token.split('.')[1]))"}``.

In the notebook: ``q1 = DecodePayload("q1")``, then ``q1.check(payload)``, ``q1.hint()``, ``q1.solution()``.

In a graded assignment (``tools/build_classroom.py``) the same check runs in a test cell as
``q1.assert_correct(payload)``, which raises ``NotCorrect`` unless the check says Correct; an exercise may also
define ``_check_hidden``, extra cases the lesson does not show, run there as ``q1.assert_correct_hidden(...)``.
"""

from __future__ import annotations

import enum
import html
import importlib
import inspect
import re
import textwrap
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from coursekit.kit import diagnosis, progress
from coursekit.kit.plain import plain, plain_results
from coursekit.kit.timelimit import run_limited
from coursekit.kit.verdicts import Incorrect, NotCorrect

# Where reference solutions live: a module per lesson, apart from the checks (see Exercise.solution_source).
ANSWERS_PACKAGE = "coursekit.answers"

__all__ = ["____", "Blank", "is_blank", "Incorrect", "NotCorrect", "require_function", "require_bearer_request",
           "Status", "Outcome", "Exercise", "numbered"]


class Blank:
    """The type of ``____``, the placeholder learners replace with their answer."""

    _instance: Blank | None = None

    def __new__(cls) -> Blank:
        # A single instance, so identity checks, copies and pickles all agree.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "____"

    def __reduce__(self) -> str:
        return "____"  # copy and pickle look the module global up by this name


____ = Blank()


def is_blank(value: Any, _seen: frozenset[int] = frozenset()) -> bool:
    """Tell whether value is the placeholder or holds it: inside tuples, lists, sets or dicts, or in the
    code of a function or of a class's methods (a learner's function with a ``____`` left in its body)."""
    if isinstance(value, Blank):
        return True
    if id(value) in _seen:  # a container that holds itself
        return False
    if isinstance(value, dict):
        return is_blank([*value.keys(), *value.values()], _seen | {id(value)})
    if isinstance(value, (tuple, list, set, frozenset)):
        return any(is_blank(item, _seen | {id(value)}) for item in value)
    if inspect.isclass(value):
        return any(_code_mentions_blank(member.__code__) for member in vars(value).values()
                   if inspect.isfunction(member))
    if inspect.isfunction(value):
        return _code_mentions_blank(inspect.unwrap(value).__code__)
    return False


def _code_mentions_blank(code: types.CodeType) -> bool:
    """Tell whether code, or code nested in it (inner functions, lambdas), names ``____``."""
    # A notebook's ____ is a global (co_names); one from an enclosing function is a free variable.
    return "____" in code.co_names or "____" in code.co_freevars or any(
        _code_mentions_blank(const) for const in code.co_consts if isinstance(const, types.CodeType))


def require_function(fn: Any, name: str) -> Any:
    """Return fn if it can be called; else explain that the function itself, not its result, is wanted."""
    if not callable(fn):
        raise Incorrect(f"pass your function itself, not {type(fn).__name__}: define {name}(...) and check "
                        f"{name}, without parentheses")
    return plain_results(fn)  # its values judged as values, not by its own __eq__ (coursekit.kit.plain)


def require_bearer_request(response: Any, server: Any, path: str, *, server_name: str, send_token: str,
                           route: str = "the route") -> str:
    """Return the bearer token a request to ``path`` on ``server`` carried; else explain what the request got wrong.

    The messages name the server as the notebook does (``server_name``: ``"lab"``, ``"b"``), say ``route`` for
    ``path`` ("the admin route") and, when no token was sent, how to send one (``send_token``).
    """
    if not isinstance(response, requests.Response):
        raise Incorrect(f"pass the response of requests.get(...) itself, not {type(response).__name__}")
    if not response.url.startswith(server.url + "/"):
        raise Incorrect(f"that request went to another server: send it to {server_name}.url + '{path}'")
    sent_to = urlsplit(response.request.url).path
    if sent_to != path:
        raise Incorrect(f"that request went to {sent_to}; {route} is {path}")
    header = response.request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Incorrect(f"the request carries no bearer token: {send_token}")
    return header[len("Bearer "):]


class Status(enum.Enum):
    """How an answer fared; the value is the start of the feedback line."""

    NOT_ANSWERED = "… Not answered yet"
    INCORRECT = "✘ Incorrect"
    CORRECT = "✔ Correct"


_COLOURS = {Status.CORRECT: "#2e7d32", Status.INCORRECT: "#c62828", Status.NOT_ANSWERED: "#546e7a"}
_INFO_COLOUR = "#1565c0"  # hints


class _Note:
    """Something to display: a deterministic plain-text form (what nbval compares) plus HTML or Markdown."""

    def __init__(self, text: str, *, html_: str | None = None, markdown: str | None = None) -> None:
        self.text, self._html, self._markdown = text, html_, markdown

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str | None:
        return self._html

    def _repr_markdown_(self) -> str | None:
        return self._markdown


def _show(note: _Note) -> None:
    try:
        from IPython.display import display
    except ImportError:  # plain Python without IPython installed
        print(note)
    else:
        display(note)  # outside a running IPython this prints the text form too


@dataclass(frozen=True)
class Outcome:
    """The result of checking an answer: its status and an optional message."""

    status: Status
    message: str = ""

    @property
    def text(self) -> str:
        """The plain-text feedback line, e.g. ``✘ Incorrect: the 'sub' claim should be 'alice'``."""
        return f"{self.status.value}: {self.message}" if self.message else self.status.value

    def _note(self) -> _Note:
        rest = f": {html.escape(self.message)}" if self.message else ""
        line = f"<strong>{html.escape(self.status.value)}</strong>{rest}"
        return _Note(self.text, html_=f'<div style="color:{_COLOURS[self.status]}">{line}</div>')


class Exercise:
    """Base class of an exercise: subclasses set ``title``, ``_hints``, ``_solution`` and ``_check``."""

    title: str = "Exercise"
    _hints: Sequence[str] = ()
    points: int = 1  # what the check is worth in a graded assignment
    # Seconds a whole check may take; past it the answer is stopped and reported (coursekit.kit.timelimit).
    time_limit: float = 120

    def __init__(self, name: str = "") -> None:
        self.name = name  # the notebook variable, so that the nudges can say ``q1.hint()``
        self.last_outcome: Outcome | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.title}>"

    @property
    def _ref(self) -> str:
        return self.name or "<exercise>"

    def _check(self, *answer: Any, **kw: Any) -> str | None:
        """Raise Incorrect if the answer is wrong; return None or a success message if it is right."""
        raise NotImplementedError

    def _check_hidden(self, *answer: Any, **kw: Any) -> str | None:
        """Like _check, for extra cases graded but not shown in the lesson (nbgrader's hidden tests)."""
        raise NotImplementedError

    @property
    def has_hidden_cases(self) -> bool:
        """Whether this exercise defines hidden cases (a subclass overrides _check_hidden)."""
        return type(self)._check_hidden is not Exercise._check_hidden

    def evaluate(self, *answer: Any, **kw: Any) -> Outcome:
        """Check the answer without displaying anything; return the outcome and keep it as last_outcome."""
        return self._evaluate(self._check, answer, kw)

    def _evaluate(self, check: Any, answer: tuple, kw: dict) -> Outcome:
        if is_blank(answer) or is_blank(kw):
            nudge = "replace ____ with your answer, then run the cell again"
            outcome = Outcome(Status.NOT_ANSWERED, f"{nudge}; {self._ref}.hint() gives a hint.")
        else:
            try:
                answer, kw = plain(answer), plain(kw)  # values compared as values (coursekit.kit.plain)
                with diagnosis.watching():  # notes the lab's error answers, so that a raise can be explained
                    message = run_limited(self.time_limit, lambda: check(*answer, **kw), "checking your answer")
            except Incorrect as wrong:
                outcome = Outcome(Status.INCORRECT, str(wrong))
            except Exception as error:  # the learner's answer broke the checker: that is feedback too
                outcome = Outcome(Status.INCORRECT, str(diagnosis.raised("", error, checker=_source_file(type(self)))).replace(
                    "your code raised", "your answer raised", 1))
            else:
                outcome = Outcome(Status.CORRECT, "" if message is None else str(message))
        self.last_outcome = outcome
        return outcome

    def check(self, *answer: Any, **kw: Any) -> None:
        """Check the answer and display the feedback; a learner's mistake never raises. A right answer is
        noted in the learner's progress file (``coursekit.kit.progress``), which nothing displays on its own."""
        outcome = self.evaluate(*answer, **kw)
        if outcome.status is Status.CORRECT:
            progress.record(self)
        _show(outcome._note())

    def assert_correct(self, *answer: Any, **kw: Any) -> None:
        """Check and display like check(), then raise NotCorrect unless the check said Correct (a graded test)."""
        __tracebackhide__ = True  # IPython shows the learner's cell and the message, not the kit's frames
        self._assert(self.evaluate(*answer, **kw))

    def assert_correct_hidden(self, *answer: Any, **kw: Any) -> None:
        """The same for the hidden cases; an exercise without any has nothing to fail."""
        __tracebackhide__ = True
        if self.has_hidden_cases:
            outcome = self._evaluate(self._check_hidden, answer, kw)
            self._assert(Outcome(outcome.status, f"(hidden cases) {outcome.message}".rstrip()))

    def _assert(self, outcome: Outcome) -> None:
        __tracebackhide__ = True
        self.last_outcome = outcome
        _show(outcome._note())
        if outcome.status is not Status.CORRECT:
            raise NotCorrect(f"{self._ref}: {outcome.text}")

    def hint(self, n: int = 1) -> None:
        """Display hint number n, counting from 1; later hints reveal more."""
        count = len(self._hints)
        if isinstance(n, int) and 1 <= n <= count:
            text = f"Hint {n}/{count}: {self._hints[n - 1]}"
        elif count == 0:
            text = "This exercise has no hints."
        elif count == 1:
            text = f"There is 1 hint: {self._ref}.hint(1)."
        else:
            text = f"There are {count} hints: {self._ref}.hint(1) to {self._ref}.hint({count})."
        _show(_Note(text, html_=f'<div style="color:{_INFO_COLOUR}">{html.escape(text)}</div>'))

    @property
    def lesson(self) -> str:
        """The lesson this exercise belongs to, ``"ex03"``: the ``exNN`` part of its module's dotted name."""
        return next((part for part in type(self).__module__.split(".") if re.fullmatch(r"ex\d\d", part)), "")

    def solution_source(self) -> str:
        """The reference solution's code; LookupError where this build of the course leaves solutions out.

        Solutions live apart from the checks, in ``coursekit.answers.<lesson>``'s ``SOLUTIONS``, by class name,
        so that a classroom build can ship the checks without them.
        """
        try:
            answers = importlib.import_module(f"{ANSWERS_PACKAGE}.{self.lesson}")
        except ModuleNotFoundError as missing:
            raise LookupError("the solutions are not part of this copy of the course") from missing
        return textwrap.dedent(answers.SOLUTIONS[type(self).__name__]).strip("\n")

    def solution(self) -> None:
        """Display the solution as a Python code block."""
        try:
            code = self.solution_source()
        except LookupError as missing:
            _show(_Note(f"No solution here: {missing}."))
            return
        # A fence longer than any run of backticks in the code, so the code cannot end the block.
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", code)), default=0))
        _show(_Note(f"Solution:\n{code}", markdown=f"**Solution:**\n\n{fence}python\n{code}\n{fence}\n"))


def _source_file(cls: type) -> str:
    """The file an exercise class is written in: a raise in its own check is not a line of the learner's."""
    try:
        return inspect.getfile(cls)
    except (TypeError, OSError):
        return ""


def numbered(*exercises: Exercise, prefix: str = "q") -> tuple[Exercise, ...]:
    """Name exercises q1, q2, ... in order: ``q1, q2 = numbered(DecodePayload(), ForgeToken())``."""
    for number, exercise in enumerate(exercises, start=1):
        exercise.name = f"{prefix}{number}"
    return exercises
