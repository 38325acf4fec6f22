"""coursekit.labtools.signing_keys: the leak lesson 07 plays, the published kids, and the rotation timeline."""

from __future__ import annotations

import jwt
import matplotlib

matplotlib.use("Agg")

from coursekit.labtools.client import log_in  # noqa: E402
from coursekit.labtools.lab import fresh_lab  # noqa: E402
from coursekit.labtools.signing_keys import leaked_key, plot_key_timeline, published_kids  # noqa: E402


def test_the_leaked_key_is_the_one_signing_now_and_mints_tokens_the_lab_accepts():
    lab = fresh_lab()
    lab.rotate_keys()  # a retired key in the file too: the leak must be the active one
    token = log_in(lab, "alice")["access_token"]
    leaked = leaked_key(lab)
    assert leaked["kid"] == jwt.get_unverified_header(token)["kid"]
    assert not any(name.startswith("lab_") for name in leaked)
    assert jwt.decode(token, jwt.PyJWK(leaked).key, algorithms=["HS256"], audience="lab-api",
                      options={"verify_exp": False, "verify_iat": False})["username"] == "alice"


def test_published_kids_follow_a_planned_rotation_and_are_empty_for_hmac():
    es = fresh_lab(algorithm="ES256")
    before = published_kids(es)
    rotated = es.rotate_keys()
    assert published_kids(es) == [*before[-1:], rotated["kid"]]
    assert published_kids(fresh_lab()) == []


def test_the_timeline_has_a_row_per_key_and_token_and_a_line_per_mark():
    t = 1894006800
    fig = plot_key_timeline(
        keys=[{"kid": "old", "signs": (t, t + 600), "published": (t, t + 2400)},
              {"kid": "new", "signs": (t + 600, t + 3600), "published": (t + 600, t + 3600)}],
        tokens=[{"label": "alice", "kid": "old", "iat": t, "exp": t + 1800}],
        marks={"rotation": t + 600, "old key gone": t + 2400})
    ax = fig.axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["key old", "key new", "alice"]
    assert len(ax.lines) == 2
    assert [text.get_text() for text in ax.texts] == [" rotation", " old key gone"]


def test_the_legend_names_every_key_both_ways_and_the_tokens():
    t = 1894006800
    fig = plot_key_timeline(
        keys=[{"kid": "old", "signs": (t, t + 600), "published": (t, t + 2400)},
              {"kid": "new", "signs": (t + 600, t + 3600), "published": (t + 600, t + 3600)}],
        tokens=[{"label": "alice", "kid": "old", "iat": t, "exp": t + 1800}])
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert legend == ["key old: signs new tokens", "key old: published only (verifies)",
                      "key new: signs new tokens", "key new: published only (verifies)",
                      "a token, iat to exp, in its key's colour"]
