"""The progress view: check() notes a solved exercise in a local file; nothing else writes it or shows it."""

import json

import pytest

from coursekit.exercises import course_exercises, ex00, ex01, ex09, show_progress
from coursekit.kit import progress
from coursekit.kit.exercise import Exercise, Incorrect


class Add(Exercise):
    title = "Add two and two"

    def _check(self, answer):
        if answer != 4:
            raise Incorrect("not 4")


@pytest.fixture
def progress_file(tmp_path, monkeypatch):
    where = tmp_path / "progress.json"
    monkeypatch.setenv(progress.ENV, str(where))
    return where


def test_the_test_suite_runs_with_progress_off():
    assert progress.path() is None


def test_only_a_correct_check_is_noted(progress_file, capsys):
    q = Add("q1")
    q.check(5)
    q.evaluate(4)  # evaluate() is for tests and tools: not a learner solving it
    assert not progress_file.exists()
    q.check(4)
    assert list(json.loads(progress_file.read_text())) == ["test_progress.q1"]
    assert progress.solved()["test_progress.q1"]["title"] == "Add two and two"


def test_graded_runs_do_not_write(progress_file):
    Add("q1").assert_correct(4)
    assert not progress_file.exists()


def test_show_lists_every_exercise_of_the_course(progress_file, capsys):
    ex01.q3.check({"status": 401, "alice_row_in_store": False})
    capsys.readouterr()
    show_progress()
    out = capsys.readouterr().out
    assert "01      q3        20" in out and ex01.q3.title in out
    assert "00      q1        -" in out and ex00.q1.title in out
    assert "1 of " in out and str(progress_file) in out
    progress.forget()
    assert not progress_file.exists()


def test_an_unwritable_place_never_breaks_a_check(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(progress.ENV, str(blocker / "progress.json"))  # its folder is a file
    Add("q1").check(4)
    assert "Correct" in capsys.readouterr().out


def test_every_exercise_of_the_course_is_listed_under_its_lesson():
    listed = [f"{exercise.lesson}.{exercise.name}" for exercise in course_exercises()]
    assert listed[:2] == ["ex00.q1", "ex01.q1"] and listed[-5:] == ["ex09.q1", "ex09.q2", "ex10.q1", "ex10.q2",
                                                                     "ex10.q3"]
    assert len(listed) == len(set(listed)) == 32


def test_the_capstone_is_noted_under_lesson_09_and_shown_solved(progress_file, capsys):
    progress.record(ex09.q2)
    show_progress()
    assert "09      q2        20" in capsys.readouterr().out
    assert list(json.loads(progress_file.read_text())) == ["ex09.q2"]


def test_progress_saved_under_the_capstone_modules_old_names_is_kept(progress_file, capsys):
    progress_file.write_text(json.dumps({"capstone_client.q1": {"title": "t", "at": "2030-01-07 09:00 UTC"},
                                         "ex01.q3": {"title": "t", "at": "2030-01-07 09:05 UTC"}}))
    assert set(progress.solved()) == {"ex09.q1", "ex01.q3"}
    show_progress()
    out = capsys.readouterr().out
    assert "09      q1        2030-01-07 09:00 UTC" in out and "2 of 32 solved" in out
