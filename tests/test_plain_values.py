"""Answers are judged by their values, never by their own ``==`` (coursekit/kit/plain.py).

A value whose ``__eq__`` always says True (a str, an int or a dict subclass) would pass any check that
compares with ``==``, whichever side it is on. Every exercise of every lesson is given such values, as its
answer and as what its answer function returns: none may say Correct.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import OrderedDict
from enum import IntEnum

import pytest

from coursekit.exercises import ex03
from coursekit.kit.exercise import Exercise, Status
from coursekit.kit.plain import plain, plain_results


class AnyStr(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__

    def strip(self, *args):
        return self

    lower = upper = casefold = rstrip = lstrip = strip


class AnyInt(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


class AnyDict(dict):
    """A dict that has every key, each worth anything."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

    def __getitem__(self, key):
        return AnyStr("x")

    def get(self, key, default=None):
        return AnyStr("x")

    def __contains__(self, key):
        return True


FAKES = {"str": AnyStr("x"), "int": AnyInt(200), "dict": AnyDict(), "bytes-list": [AnyStr("a"), AnyInt(1)]}


def exercises():
    found = []
    package = importlib.import_module("coursekit.exercises")
    for module_name in sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("ex")):
        module = importlib.import_module(f"coursekit.exercises.{module_name}")
        found += [(f"{module_name}.{name}", q) for name, q in vars(module).items()
                  if isinstance(q, Exercise) and name.startswith("q")]
    return found


@pytest.mark.parametrize("fake", FAKES, ids=list(FAKES))
@pytest.mark.parametrize("name, exercise", exercises(), ids=[n for n, _ in exercises()])
def test_a_value_equal_to_everything_is_never_correct(name, exercise, fake):
    value = FAKES[fake]
    count = len(inspect.signature(exercise._check).parameters)

    def returns_it(*args, **kwargs):
        return value

    for answer in ((value,) * count, (returns_it, *(value,) * (count - 1))):
        outcome = exercise._evaluate(exercise._check, answer, {})
        assert outcome.status is Status.INCORRECT, (name, fake, outcome)


def test_the_signature_exercise_reads_the_text_of_a_str_that_equals_everything():
    outcome = ex03.q2._evaluate(ex03.q2._check, (lambda signing_input, key: AnyStr("x"),), {})
    assert outcome.message.startswith("sign() returns text that is not base64url"), outcome


def test_plain_copies_builtin_subclasses_and_leaves_other_objects():
    class Status(IntEnum):
        UNAUTHORIZED = 401

    marker = object()
    value = plain({AnyStr("k"): [AnyInt(3), (Status.UNAUTHORIZED, marker)], "o": OrderedDict(b=True)})
    assert value == {"k": [3, (401, marker)], "o": {"b": True}}
    assert type(next(iter(value))) is str and type(value["k"][0]) is int and type(value["k"][1][0]) is int
    assert value["k"][1][1] is marker and type(value["o"]) is dict and value["o"]["b"] is True
    assert value["k"] != [4, (401, marker)]  # compared as values now


def test_plain_results_keeps_a_functions_name_and_leaves_classes_alone():
    def sign(signing_input, key):
        return AnyStr("x")

    wrapped = plain_results(sign)
    assert wrapped.__name__ == "sign" and inspect.signature(wrapped) == inspect.signature(sign)
    assert type(wrapped(b"", b"")) is str
    assert plain_results(OrderedDict) is OrderedDict
