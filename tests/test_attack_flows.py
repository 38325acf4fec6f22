"""coursekit.pictures.attack_flows: each diagram is valid-looking Mermaid that says who does what in words."""

import pytest

from coursekit.pictures import attack_flows

ATTACKS = [attack_flows.algorithm_confusion(), attack_flows.jku_fetch(), attack_flows.certificate_in_token(),
           attack_flows.key_recovery()]
DIAGRAMS = ATTACKS + [attack_flows.refresh_race(), attack_flows.refresh_race(grace=True)]


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda d: d.title)
def test_a_diagram_is_mermaid_with_text_labels_and_no_separator_characters(diagram):
    text = diagram.mermaid()
    lines = text.split("\n")
    assert lines[0] == "sequenceDiagram" and lines[1] == f"    title {diagram.title}"
    assert ";" not in text and "#" not in text  # Mermaid's statement separator and entity escape
    aliases = {alias for alias, _label in diagram.participants}
    for line in diagram.lines:
        assert line.startswith("Note over ") or line.split("-")[0] in aliases, line
    assert repr(diagram) == text and diagram._repr_markdown_() == f"```mermaid\n{text}\n```"


def test_the_attacks_say_which_steps_are_the_attackers_and_what_the_secure_server_does():
    for diagram in ATTACKS:
        assert "ATTACKER" in diagram.mermaid() and "secure" in diagram.mermaid().lower()
    assert "PUBLIC key" in attack_flows.algorithm_confusion().mermaid()
    certificates = attack_flows.certificate_in_token().mermaid()
    assert "x5c" in certificates and "x5u" in certificates and "never chained to a trusted root" in certificates


def test_the_refresh_race_with_and_without_a_grace_period_differs_in_the_second_answer():
    strict, grace = attack_flows.refresh_race().lines, attack_flows.refresh_race(grace=True).lines
    assert "family) is revoked" in strict[4] and "grace period" in grace[4]
