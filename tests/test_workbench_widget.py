"""The workbench widget, driven without a browser: its buttons, its colours and labels, its text view."""

from __future__ import annotations

import html
import json

import pytest

import labserver
from coursekit.labtools import workbench as wb
from coursekit.labtools.attacks import x5c_of
from coursekit.pictures.tokenview import decode_segment
from coursekit.labtools.workbench_widget import workbench

# Okabe & Ito (2008), "Color Universal Design": the eight colours told apart with every common deficiency.
OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}


@pytest.fixture(scope="module")
def lab():
    with labserver.start(frozen_at="2030-01-07T09:00:00Z", seed=23, issuer="https://lab.jwt-course.test") as server:
        yield server


@pytest.fixture
def alice(lab) -> str:
    r = lab.http.post(lab.url + "/oauth/token", timeout=10,
                      data={"grant_type": "password", "username": "alice", "password": "alice-password"})
    return r.json()["access_token"]


@pytest.fixture
def secret(lab) -> bytes:
    with open(lab.keys_path) as f:
        return decode_segment(json.load(f)["keys"][0]["k"])


def test_change_a_claim_send_it_and_read_the_refusal_then_re_sign_and_get_in(lab, alice, secret):
    bench = workbench(lab, alice, secret=secret, route="GET /api/admin")
    assert bench.sign_choice.value == "keep"
    bench.claims_box.value = bench.claims_box.value.replace('"user"', '"admin"')
    bench.send_button.click()
    assert (bench.reply.status, bench.reply.error) == (401, "invalid_token")
    assert "REFUSED" in bench.reply_view.value and "signature is invalid" in bench.reply_view.value
    assert "verification_failed" in repr(bench)
    bench.sign_choice.value = "lab-secret"
    bench.send_button.click()
    assert (bench.reply.status, bench.reply.body) == (200, {"message": "welcome to the admin area",
                                                            "username": "alice"})
    assert "ACCEPTED" in bench.reply_view.value
    assert wb.read_token(bench.token_box.value).claims["roles"] == ["admin"]


def test_a_generated_key_shows_its_public_jwk_and_can_travel_in_the_header(lab, alice):
    bench = workbench(lab, alice)
    bench.sign_choice.value = "ec"
    bench.embed.value = True
    bench.sign_button.click()
    header = wb.read_token(bench.token).header
    assert header["alg"] == "ES256" and header["jwk"]["kty"] == "EC" and "d" not in header["jwk"]
    assert "Public JWK" in bench.key_view.value and header["jwk"]["x"] in bench.key_view.value
    assert "x5c" not in header and "-----BEGIN CERTIFICATE-----" in bench.key_view.value
    bench.embed.value, bench.embed_x5c.value = False, True
    bench.sign_button.click()
    header = wb.read_token(bench.token).header
    assert "jwk" not in header and header["x5c"] == x5c_of(bench._signers["ec"].certificate)


def test_bad_json_in_an_editor_is_a_message_and_nothing_is_sent(lab, alice):
    bench = workbench(lab, alice)
    before = lab.audit()
    bench.claims_box.value = '{"roles": ["admin"'
    bench.send_button.click()
    assert bench.reply is None and lab.audit() == before
    assert bench.problem.startswith("the claims editor does not hold valid JSON")
    assert "PROBLEM" in bench.segments_view.value and "[vermillion]" in bench.segments_view.value
    bench.header_box.value = "[]"
    bench.claims_box.value = "{}"
    bench.sign_button.click()
    assert bench.problem == "the header editor must hold a JSON object {...}"


def test_a_pasted_token_is_decoded_and_its_signature_is_the_one_kept(lab, alice, secret):
    bench = workbench(lab)
    assert bench.parts is None and "keep" not in dict((v, k) for k, v in bench.sign_choice.options)
    bench.token_box.value = alice
    bench.decode_button.click()
    assert json.loads(bench.claims_box.value) == wb.read_token(alice).claims
    assert bench.sign_choice.value == "keep" and bench.sign() == alice
    bench.token_box.value = "not.a token"
    bench.decode_button.click()
    assert bench.problem == "expected 3 dot-separated segments (header.payload.signature), found 2"


def test_a_new_token_from_the_lab_without_code(lab):
    bench = workbench(lab)
    assert bench.user_choice.options == ("alice", "bob", "admin")
    bench.user_choice.value = "bob"
    bench.login_button.click()
    assert bench.problem == "" and bench.token_box.value == bench.token
    claims = json.loads(bench.claims_box.value)
    assert (claims["username"], claims["roles"]) == ("bob", ["user"]) and bench.sign_choice.value == "keep"
    bench.route.value = "GET /api/me"
    bench.send_button.click()
    assert bench.reply.status == 200 and bench.reply.body["username"] == "bob"
    assert "a new one for alice | bob | admin" in repr(bench)


def test_a_refused_login_is_a_message(lab):
    bench = workbench(lab)
    bench.user_choice.options = ("nobody",)
    bench.login_button.click()
    assert bench.parts is None and bench.problem.startswith("the lab refused to log nobody in: ")


def test_colours_are_colour_blind_safe_and_each_is_named_beside_its_text(lab, alice):
    assert {hex_code for hex_code, _name in wb.COLOURS.values()} <= OKABE_ITO
    bench = workbench(lab, alice)
    for label, kind in (("HEADER", "header"), ("PAYLOAD", "payload"), ("SIGNATURE", "signature")):
        assert f"<b>{label}</b> <small>[{wb.COLOURS[kind][1]}]</small>" in bench.segments_view.value
        assert f"{label} [{wb.COLOURS[kind][1]}]:" in repr(bench)
    assert "valid</b> <small>[blue]</small>" in bench.times_view.value


def test_the_widget_says_no_token_leaves_the_machine_and_escapes_what_a_token_says(lab):
    hostile = wb.build({"typ": "<script>alert(1)</script>"}, {"sub": "<img src=x onerror=alert(1)>"}, wb.unsigned())
    bench = workbench(lab, hostile)
    html_shown = "".join(child.value for child in bench.widget.children if hasattr(child, "value")
                         and isinstance(child.value, str) and child not in (bench.header_box, bench.claims_box,
                                                                            bench.token_box))
    assert "No token leaves this machine" in html_shown and wb.OFFLINE_NOTICE in repr(bench)
    assert "<script>" not in html_shown and "<img" not in html_shown


def test_the_text_view_is_the_outputs_text_and_repeats_exactly(lab, alice):
    first, second = workbench(lab, alice, route="GET /api/me"), workbench(lab, alice, route="GET /api/me")
    bundle = first._repr_mimebundle_()
    assert bundle["text/plain"] == repr(first) == repr(second)
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert repr(first).splitlines()[-1] == ("Send to: GET /api/me | GET /api/admin | GET /admin/users "
                                            "(chosen: GET /api/me)")


def test_a_flaw_offered_beside_an_attack_is_on_only_while_its_box_is_ticked(lab, alice):
    bench = workbench(lab, alice, route="GET /api/admin", flaws=("alg-none",))
    bench.sign_choice.value = "none"
    bench.claims_box.value = bench.claims_box.value.replace('"user"', '"admin"')
    bench.send_button.click()
    assert (bench.reply.status, bench.reply.body["error_description"]) == (401, "algorithm must be HS256")
    assert 'Lab flaw "alg-none" (DELIBERATELY VULNERABLE): off for sending' in repr(bench)
    bench.flaw_boxes["alg-none"].value = True
    bench.send_button.click()
    assert (bench.reply.status, bench.reply.flaws) == (200, ("alg-none",)) and lab.flaws.enabled() == []
    assert "with lab flaw alg-none on -> 200 (ACCEPTED)" in html.unescape(bench.reply_view.value)


def test_the_text_view_leaves_out_what_differs_from_run_to_run(lab, alice):
    """ECDSA signs with fresh randomness: two signatures of the same token differ, their text views do not."""
    parts, how = wb.read_token(alice), wb.signer("ec")
    one, two = (workbench(lab, wb.build(parts.header, parts.claims, how)) for _ in range(2))
    assert one.token != two.token and repr(one) == repr(two)
    assert "SIGNATURE [green]: 64 bytes" in repr(one)


def test_a_stopped_lab_is_a_message_not_a_traceback(alice):
    with labserver.start(frozen_at="2030-01-07T09:00:00Z", seed=23) as gone:
        bench = workbench(gone, alice)
    bench.send_button.click()
    assert bench.problem == "the lab server did not answer (ConnectionError): is it still running?"
