"""The offline token view: splitting, base64url decoding, text and HTML rendering, signature checks."""

import base64
import json

import IPython.display
import jwt
import pytest
from IPython.core.formatters import DisplayFormatter

from coursekit.pictures.tokenview import TokenView, decode_segment, show_token, split_token

KEY = "course-lab-secret-0123456789abcdef"  # 34 bytes: long enough for HS256 without a warning
CLAIMS = {"sub": "alice", "name": "Alice", "iat": 1767261600, "exp": 1767262500, "roles": ["reader"]}
TOKEN = jwt.encode(CLAIMS, KEY, algorithm="HS256")
HEADER, PAYLOAD, SIGNATURE = TOKEN.split(".")


def b64url(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def expected_text(signature_status: str) -> str:
    return f"""\
HEADER  {HEADER}
{{
  "alg": "HS256",
  "typ": "JWT"
}}

PAYLOAD  {PAYLOAD}
{{
  "sub": "alice",
  "name": "Alice",
  "iat": 1767261600,  (2026-01-01T10:00:00Z)
  "exp": 1767262500,  (2026-01-01T10:15:00Z)
  "roles": [
    "reader"
  ]
}}

SIGNATURE  {SIGNATURE}
{signature_status}"""


# The helpers notebooks use


def test_split_token_returns_the_three_segments():
    assert split_token(f"  {TOKEN}\n") == (HEADER, PAYLOAD, SIGNATURE)


def test_split_token_rejects_anything_but_three_segments():
    with pytest.raises(ValueError) as raised:
        split_token("abc.def")
    assert str(raised.value) == "expected 3 dot-separated segments (header.payload.signature), found 2"


def test_decode_segment_puts_the_missing_padding_back():
    assert decode_segment("e30") == b"{}"
    assert decode_segment("YQ") == b"a"
    assert decode_segment("YWI") == b"ab"
    assert decode_segment("YWJj") == b"abc"
    assert decode_segment("YQ==") == b"a"
    assert decode_segment("") == b""


def test_decode_segment_uses_the_url_safe_alphabet():
    assert decode_segment("-_8") == b"\xfb\xff"


@pytest.mark.parametrize("segment", ["+/8", "ab$c", "e30.", "e 30"])
def test_decode_segment_refuses_characters_outside_base64url(segment):
    with pytest.raises(ValueError, match="may appear in base64url"):
        decode_segment(segment)


def test_decode_segment_refuses_an_impossible_length():
    with pytest.raises(ValueError):
        decode_segment("abcde")


# The text rendering (text/plain, what nbval compares)


def test_a_token_renders_as_labelled_segments_and_its_decoded_json():
    assert repr(TokenView(TOKEN)) == expected_text("32 bytes (not verified)")


def test_the_header_and_payload_keep_the_tokens_own_key_order():
    view = TokenView(TOKEN)
    assert list(view.header) == ["alg", "typ"]
    assert list(view.payload) == ["sub", "name", "iat", "exp", "roles"]


def test_time_claims_are_annotated_with_their_utc_time_and_others_are_not():
    claims = {"nbf": 0, "auth_time": 1767261600.5, "exp": 1767262500, "iat_note": 5, "n": 1}
    payload = b64url(json.dumps(claims))
    text = repr(TokenView(f"e30.{payload}.sig"))
    assert """\
{
  "nbf": 0,  (1970-01-01T00:00:00Z)
  "auth_time": 1767261600.5,  (2026-01-01T10:00:00Z)
  "exp": 1767262500,  (2026-01-01T10:15:00Z)
  "iat_note": 5,
  "n": 1
}""" in text


def test_time_claims_that_are_not_times_are_said_to_be_so_or_left_alone():
    payload = b64url(json.dumps({"exp": 10**20, "iat": "yesterday", "nbf": True}))
    text = repr(TokenView(f"e30.{payload}.sig"))
    assert '  "exp": 100000000000000000000,  (not a valid time)\n' in text
    assert '  "iat": "yesterday",\n' in text
    assert '  "nbf": true\n' in text


def test_time_claims_in_the_header_are_not_annotated():
    header = b64url('{"alg":"HS256","exp":1767262500}')
    assert '  "exp": 1767262500\n}' in repr(TokenView(f"{header}.e30.sig"))


def test_a_token_given_as_bytes_renders_the_same():
    assert repr(TokenView(TOKEN.encode())) == repr(TokenView(TOKEN))


def test_show_token_prints_the_text_outside_jupyter(capsys):
    assert show_token(TOKEN) is None
    assert capsys.readouterr() == (expected_text("32 bytes (not verified)") + "\n", "")


# Malformed tokens: render what can be rendered, never raise


def test_a_token_with_two_segments_shows_both_and_says_the_signature_is_missing():
    payload = b64url('{"sub":"alice"}')
    assert repr(TokenView(f"{HEADER}.{payload}")) == f"""\
Malformed token: expected 3 dot-separated segments (header.payload.signature), found 2.

HEADER  {HEADER}
{{
  "alg": "HS256",
  "typ": "JWT"
}}

PAYLOAD  {payload}
{{
  "sub": "alice"
}}

SIGNATURE  (missing)"""


def test_a_single_word_is_shown_as_a_malformed_header():
    assert repr(TokenView("hello")) == """\
Malformed token: expected 3 dot-separated segments (header.payload.signature), found 1.

HEADER  hello
not valid base64url (Invalid base64-encoded string: \
number of data characters (5) cannot be 1 more than a multiple of 4)

PAYLOAD  (missing)

SIGNATURE  (missing)"""


def test_five_segments_are_recognised_as_an_encrypted_jwe():
    assert repr(TokenView("a.b.c.d.e")).startswith(
        "Malformed token: expected 3 dot-separated segments (header.payload.signature), found 5; "
        "5 segments is an encrypted JWE, which cannot be read without the key.\n\n"
    )


def test_bad_base64_non_utf8_and_non_json_segments_each_get_a_clear_message():
    text = repr(TokenView(f"{b64url('not json')}.{b64url(bytes([0xFF, 0xFE]))}.%%%"))
    assert text == f"""\
HEADER  {b64url('not json')}
not JSON: 'not json'

PAYLOAD  __4
not UTF-8 text (2 bytes of binary data)

SIGNATURE  %%%
not valid base64url (only A-Z, a-z, 0-9, '-' and '_' may appear in base64url)"""


def test_a_long_non_json_segment_is_shortened_in_the_message():
    assert "not JSON: '" + "x" * 57 + "...'" in repr(TokenView(f"{b64url('x' * 100)}.e30.sig"))


def test_a_json_header_that_is_not_an_object_is_still_shown():
    assert repr(TokenView(f"{b64url('[1, 2]')}.e30.")) == (
        f"HEADER  {b64url('[1, 2]')}\n[\n  1,\n  2\n]\n\n"
        "PAYLOAD  e30\n{}\n\n"
        "SIGNATURE  (empty)\n0 bytes (not verified)"
    )


def test_json_nested_too_deeply_is_reported_not_raised():
    deep = b64url("[" * 100_000 + "]" * 100_000)
    assert TokenView(f"e30.{deep}.sig").payload_error == "JSON nested too deeply to show"


@pytest.mark.parametrize("token", ["", ".", "..", "...", "a.b.c", "e30.e30.e30", None, 42, "\x00.\u2603.x"])
def test_malformed_tokens_never_raise_in_either_rendering(token):
    view = TokenView(token, verify_key=KEY)
    assert isinstance(repr(view), str)
    assert isinstance(view._repr_html_(), str)


# HTML (what Jupyter shows): colours, wrapping, escaping


def test_the_html_colours_the_segments_like_jwt_io_and_wraps_them():
    html = TokenView(TOKEN)._repr_html_()
    assert (
        f'<div style="word-break:break-all;font-size:1.1em;line-height:1.5">'
        f'<span style="color:#fb015b">{HEADER}</span>.'
        f'<span style="color:#d63aff">{PAYLOAD}</span>.'
        f'<span style="color:#00b9f1">{SIGNATURE}</span></div>'
    ) in html
    assert '&quot;iat&quot;: 1767261600, <span style="color:#757575">(2026-01-01T10:00:00Z)</span>' in html


def test_jupyter_gets_the_plain_text_and_the_html(monkeypatch):
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    show_token(TOKEN)
    data, _ = DisplayFormatter().format(shown[0])
    assert data["text/plain"] == expected_text("32 bytes (not verified)")
    assert data["text/html"] == TokenView(TOKEN)._repr_html_()


def test_html_escapes_script_in_a_decoded_header():
    header = b64url(json.dumps({"alg": "HS256", "kid": "</pre><script>alert(1)</script>"}))
    html = TokenView(f"{header}.e30.sig")._repr_html_()
    assert "<script>" not in html and "</pre><script>" not in html
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_html_escapes_markup_in_the_raw_segments_and_in_error_messages():
    html = TokenView('<img src=x onerror="alert(1)">.' + b64url("<b>not json</b>") + ".sig")._repr_html_()
    assert "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "not JSON: &#x27;&lt;b&gt;not json&lt;/b&gt;&#x27;" in html


def test_the_html_flags_a_malformed_token_and_a_missing_signature():
    html = TokenView(f"{HEADER}.{PAYLOAD}")._repr_html_()
    assert '<div style="color:#c62828">Malformed token: expected 3 dot-separated segments' in html
    missing = '<strong style="color:#00b9f1">SIGNATURE</strong>\n <em style="color:#c62828">(missing)</em>'
    assert missing in html


# Signature checks with a key


def test_the_right_key_makes_the_signature_valid():
    assert repr(TokenView(TOKEN, verify_key=KEY)) == expected_text("32 bytes, signature valid")


def test_a_wrong_key_makes_the_signature_invalid():
    view = TokenView(TOKEN, verify_key="another-secret-key-0123456789abcdef")
    assert view.signature_status == "32 bytes, signature INVALID (Signature verification failed)"
    assert '<div style="color:#c62828">32 bytes, signature INVALID' in view._repr_html_()


def test_a_tampered_payload_makes_the_signature_invalid():
    forged = b64url(json.dumps({**CLAIMS, "roles": ["admin"]}, separators=(",", ":")))
    view = TokenView(f"{HEADER}.{forged}.{SIGNATURE}", verify_key=KEY)
    assert view.signature_status == "32 bytes, signature INVALID (Signature verification failed)"


def test_an_expired_token_with_a_good_signature_is_still_valid_because_only_the_signature_is_checked():
    claims = {"sub": 7, "exp": 1, "nbf": 4102444800, "aud": "someone", "iss": "elsewhere"}  # all bad
    expired = jwt.api_jws.encode(json.dumps(claims).encode(), KEY, algorithm="HS256")
    assert TokenView(expired, verify_key=KEY).signature_status == "32 bytes, signature valid"


def test_a_payload_that_is_not_json_can_still_have_a_valid_signature():
    signing_input = f"{HEADER}.{b64url('hello')}"
    signature = b64url(jwt.get_algorithm_by_name("HS256").sign(signing_input.encode(), KEY.encode()))
    view = TokenView(f"{signing_input}.{signature}", verify_key=KEY)
    assert view.payload_error == "not JSON: 'hello'"
    assert view.signature_status == "32 bytes, signature valid"


def test_pinned_algorithms_reject_a_token_using_another_one():
    view = TokenView(TOKEN, verify_key=KEY, algorithms=["HS512"])
    assert view.signature_status == "32 bytes, signature INVALID (The specified alg value is not allowed)"


def test_an_unsigned_token_is_invalid_when_a_key_is_given():
    header = b64url('{"alg":"none"}')
    view = TokenView(f"{header}.{PAYLOAD}.", verify_key=KEY)
    assert view.signature_status.startswith("0 bytes, signature INVALID (")


def test_a_malformed_token_checked_with_a_key_is_invalid_not_an_error():
    assert TokenView("a.b.c", verify_key=KEY).signature_status.startswith("not valid base64url (")
    assert "signature INVALID" in TokenView("e30.e30.e30", verify_key=KEY).signature_status
