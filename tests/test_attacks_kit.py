"""coursekit.labtools.attacks, lesson 06's tools: the flaw markers it reads are where the flaws are, and its helpers work."""

from __future__ import annotations

import re
from pathlib import Path

import jwt
import pytest
import requests

from coursekit.labtools.attacks import FLAW_MODULES, flaw_blocks, hs256_by_hand, serve_jwks, show_flaw, wordlist
from labserver.control.flaws import FLAWS

LABSERVER = Path(__file__).resolve().parent.parent / "labserver"
MARKER = re.compile(r'# DELIBERATELY VULNERABLE \(lab flaw "([a-z0-9-]+)"\):')


@pytest.mark.parametrize("name", FLAWS)
def test_every_flaw_is_marked_in_the_source_and_shown_with_its_code(name, capsys):
    blocks = flaw_blocks(name)
    assert blocks, f"no marked code for {name}"
    for _file, _function, lines in blocks:
        assert MARKER.match(lines[0])
        assert any(line.strip() and not line.strip().startswith("#") for line in lines), lines
    show_flaw(name)
    assert f'(lab flaw "{name}")' in capsys.readouterr().out


def test_every_marker_in_the_server_names_a_flaw_and_lives_where_show_flaw_looks():
    marked = {".".join(path.relative_to(LABSERVER.parent).with_suffix("").parts)
              for path in LABSERVER.rglob("*.py") if MARKER.search(path.read_text())}
    assert marked and marked <= set(FLAW_MODULES), "a flaw marker outside FLAW_MODULES would not be shown in the lesson"
    named = {m for path in LABSERVER.rglob("*.py") for m in MARKER.findall(path.read_text())}
    assert named == set(FLAWS)


def test_show_flaw_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="no lab flaw named 'alg-nope'"):
        show_flaw("alg-nope")


def test_hs256_by_hand_makes_a_token_pyjwt_verifies():
    claims, secret = {"sub": "1", "roles": ["admin"]}, b"k" * 32
    token = hs256_by_hand({"alg": "HS256", "typ": "JWT"}, claims, secret)
    assert jwt.decode(token, secret, algorithms=["HS256"]) == claims
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, b"j" * 32, algorithms=["HS256"])


def test_serve_jwks_serves_on_loopback_and_stops():
    key_set = {"keys": [{"kty": "oct", "k": "AAAA", "kid": "x"}]}
    with serve_jwks(key_set) as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/jwks.json")
        session = requests.Session()
        session.trust_env = False
        assert session.get(url, timeout=5).json() == key_set
        assert session.get(url.replace("/jwks.json", "/other"), timeout=5).status_code == 404
    with pytest.raises(requests.ConnectionError):
        session.get(url, timeout=5)


def test_the_wordlist_is_three_thousand_distinct_words():
    words = wordlist()
    assert len(words) == len(set(words)) == 3000
    assert words[:3] == ["123456", "password", "12345678"]


def test_crack_time_is_half_the_search_space_over_the_rate():
    from coursekit.pictures.crack_time import bits_of, expected_seconds

    assert expected_seconds(1, 1) == 1
    assert expected_seconds(11, 1000) == 1.024
    assert bits_of(2, 8) == 8
    assert round(bits_of(3000), 2) == 11.55


def test_plot_time_to_crack_draws_one_log_scale_axis():
    import matplotlib

    matplotlib.use("Agg")
    from coursekit.pictures.crack_time import plot_time_to_crack

    fig = plot_time_to_crack(1e6)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert "1,000,000 HMAC guesses per second" in ax.get_title()
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["this machine, one Python process: 1,000,000 guesses/s (measured)",
                      "one GPU, hashcat mode 16500: 1,855 million guesses/s (published)"]
    styles = {line.get_linestyle() for line in ax.get_lines()[:2]}
    assert styles == {"-", "--"}  # told apart without colour


def test_eight_random_letters_last_days_here_and_a_minute_on_one_gpu():
    from coursekit.pictures.crack_time import GPU_SOURCE, bits_of, crack_times

    assert crack_times(5e5, bits_of(26, 8)) == "about 2 days here, about 56 seconds on one GPU"
    assert crack_times(5e5, bits_of(94, 12), gpu_rate=1e9) == ("about 1.5 × 10^10 years here, "
                                                              "about 8 million years on one GPU")
    assert "mode 16500" in GPU_SOURCE and "Chick3nman" in GPU_SOURCE


@pytest.mark.parametrize("seconds, words", [(0.2, "under a second"), (1, "about a second"), (119, "about 119 seconds"),
                                            (120, "about 2 minutes"), (3 * 86400, "about 3 days"),
                                            (2.6e6 * 31557600, "about 3 million years"),
                                            (3.2e21 * 31557600, "about 3.2 × 10^21 years")])
def test_durations_in_words(seconds, words):
    from coursekit.pictures.crack_time import in_words

    assert in_words(seconds) == words
