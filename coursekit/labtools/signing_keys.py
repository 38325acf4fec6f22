"""Helpers of lesson 07, signing keys: the leaked key, the published key ids, and a key-rotation timeline.

    leaked = leaked_key(lab)        # the private JWK of the lab's signing key, as a copy of its key file gives it
    published_kids(lab)             # ['Lo9x3taPpMo', ...]: the kids in the lab's JWK Set
    fig = plot_key_timeline(keys, tokens, marks)

The leak is played by reading the lab server's own key file: what someone gets from a backup, a repository,
a log or a shell on the server. Nothing here is a way in; it stands for one.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import matplotlib.pyplot as plt
from matplotlib.dates import DateFormatter, MinuteLocator, date2num

from coursekit.labtools.client import http_session
from labserver import LabServer

__all__ = ["leaked_key", "published_kids", "plot_key_timeline"]


def leaked_key(lab: LabServer) -> dict:
    """The private JWK (RFC 7517) the lab signs with now, read from its key file: what a leak hands over."""
    with open(lab.keys_path) as f:
        keys = json.load(f)["keys"]
    active = [k for k in keys if k.get("alg") == lab.settings.algorithm and k.get("lab_retired_at") is None][-1]
    return {name: value for name, value in active.items() if not name.startswith("lab_")}


def published_kids(lab: LabServer) -> list[str]:
    """The key ids in the lab's JWK Set, the public keys any verifier may fetch (none for HS256)."""
    keys = http_session().get(lab.url + "/.well-known/jwks.json", timeout=10).json()["keys"]
    return [key["kid"] for key in keys]


def _when(seconds: float) -> float:
    return date2num(datetime.fromtimestamp(seconds, timezone.utc))


def plot_key_timeline(keys: list[dict], tokens: list[dict], marks: dict[str, float] | None = None):
    """Draw keys and tokens on the lab clock; return the figure.

    ``keys``: ``{"kid", "signs": (from, to), "published": (from, to)}``, ``tokens``: ``{"label", "kid",
    "iat", "exp"}`` (a token's bar takes its key's colour), ``marks``: vertical lines, ``{"rotation": t}``.
    """
    from matplotlib.patches import Patch

    # Okabe-Ito colours (safe for colour-blind readers); every key is also named in the legend and on its row.
    colours = dict(zip([k["kid"] for k in keys], ["#0072B2", "#009E73", "#D55E00", "#CC79A7"]))
    rows = len(keys) + len(tokens)
    fig, ax = plt.subplots(figsize=(9, 0.45 * rows + 2.0))
    labels, legend = [], []
    for row, key in enumerate(keys):
        colour = colours[key["kid"]]
        start, end = key["published"]
        ax.barh(row, _when(end) - _when(start), left=_when(start), height=0.6, color=colour, alpha=0.25)
        start, end = key["signs"]
        ax.barh(row, _when(end) - _when(start), left=_when(start), height=0.6, color=colour)
        labels.append(f"key {key['kid']}")
        legend += [Patch(color=colour, label=f"key {key['kid']}: signs new tokens"),
                   Patch(color=colour, alpha=0.25, label=f"key {key['kid']}: published only (verifies)")]
    for row, token in enumerate(tokens, start=len(keys)):
        ax.barh(row, _when(token["exp"]) - _when(token["iat"]), left=_when(token["iat"]), height=0.4,
                color=colours.get(token["kid"], "grey"), hatch="//", alpha=0.6)
        labels.append(token["label"])
    if tokens:
        legend.append(Patch(facecolor="white", edgecolor="black", hatch="//",
                            label="a token, iat to exp, in its key's colour"))
    for name, at in (marks or {}).items():
        ax.axvline(_when(at), color="black", linestyle="--", linewidth=1)
        ax.annotate(f" {name}", (_when(at), 1.0), xycoords=("data", "axes fraction"), fontsize=9, va="bottom")
    ax.set_yticks(range(rows), labels)
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MinuteLocator(byminute=range(0, 60, 10), tz=timezone.utc))
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=timezone.utc))
    ax.set_xlabel("lab clock (UTC)")
    ax.set_title("Keys and the tokens they signed: a token works until its exp, while its key is published", pad=18)
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
