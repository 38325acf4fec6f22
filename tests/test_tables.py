"""The text tables lessons print: aligned, reproducible, long values cut with their length."""

from coursekit.kit.tables import format_table, show, show_events


def test_rows_become_aligned_columns_with_numbers_on_the_right():
    text = format_table([{"name": "alice", "n": 5}, {"name": "bob", "n": 12}])
    assert text.splitlines() == [
        "name    n",
        "-----  --",
        "alice   5",
        "bob    12",
    ]


def test_long_values_are_cut_to_a_prefix_and_their_length():
    token = "eyJ" + "a" * 361
    (line,) = format_table([{"t": token}], width=30).splitlines()[2:]
    assert len(line) == 30 and line.startswith("eyJaaa") and line.endswith("… (364 chars)")


def test_missing_values_and_none_are_blank_and_columns_keep_their_order():
    text = format_table([{"a": 1, "b": None}, {"c": "x"}])
    assert text.splitlines()[0].split() == ["a", "b", "c"]
    assert text.splitlines()[3].strip() == "x"


def test_a_dict_prints_as_field_and_value(capsys):
    show({"token_type": "Bearer", "expires_in": 1800})
    assert capsys.readouterr().out.splitlines() == [
        "field       value",
        "----------  ------",
        "token_type  Bearer",
        "expires_in  1800",
    ]


def test_audit_events_print_one_a_line_with_time_and_details(capsys):
    show_events([{"id": 3, "at": "2030-01-07T09:31:00Z", "event": "refresh", "username": "bob", "family": "F1"},
                 {"id": 14, "at": "2030-01-07T09:41:00Z", "event": "reuse_detected", "family": "F1"}])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "time", "event", "details"]
    assert lines[2] == " 3  09:31:00  refresh         username=bob family=F1"
    assert lines[3] == "14  09:41:00  reuse_detected  family=F1"


def test_events_on_different_days_show_their_date(capsys):
    show_events([{"id": 1, "at": "2030-01-07T09:00:00Z", "event": "login"},
                 {"id": 2, "at": "2030-02-07T09:00:00Z", "event": "family_revoked", "reason": "idle too long"}])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith(" 1  2030-01-07 09:00:00  login")
    assert lines[3] == " 2  2030-02-07 09:00:00  family_revoked  reason=idle too long"
