"""One login's life on the lab clock, read from the lab's audit log and drawn as a timeline (lesson 05).

The audit log records each token issue (``login``, ``refresh``) and each refusal, with the lab time. Every
issue starts an access token that lives ``access_ttl`` seconds; the refresh-token family lives from the login
until it is revoked. What the server cannot see, such as the moment a refresh token is copied, is passed in
as a note: the log only shows its consequences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

__all__ = ["LoginLife", "read_login", "plot_login_timeline"]

_ISSUES = ("login", "refresh")


def event_time(event: dict) -> float:
    """The lab time of an audit event, as Unix seconds."""
    return datetime.strptime(event["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


@dataclass
class LoginLife:
    """What one login's audit events say: its access tokens, refreshes, reuses, refusals and its end."""

    family: str
    access_tokens: list[tuple[str, float, float]] = field(default_factory=list)  # (how issued, from, until)
    refreshes: list[float] = field(default_factory=list)
    reuses: list[float] = field(default_factory=list)
    refused: list[tuple[float, str]] = field(default_factory=list)
    revoked: tuple[float, str] | None = None


def read_login(events: list[dict], access_ttl: float, family: str | None = None) -> LoginLife:
    """Collect one family's life from audit events (the first login's family unless ``family`` is given).

    Refusals (``refresh_denied``) name no family: those after this family's first event are counted as its own,
    so pass the events of one story (``lab.audit(since=mark)``).
    """
    if family is None:
        family = next(e["family"] for e in events if e["event"] == "login" and "family" in e)
    life = LoginLife(family)
    started = False
    for event in events:
        mine = event.get("family") == family
        started = started or mine
        at = event_time(event)
        if mine and event["event"] in _ISSUES:
            life.access_tokens.append((event["event"], at, at + access_ttl))
            if event["event"] == "refresh":
                life.refreshes.append(at)
        elif mine and event["event"] == "reuse_detected":
            life.reuses.append(at)
        elif mine and event["event"] == "family_revoked" and life.revoked is None:
            life.revoked = (at, event.get("reason", ""))
        elif started and event["event"] == "refresh_denied":
            life.refused.append((at, event.get("reason", "")))
    if not life.access_tokens:
        raise ValueError(f"no login or refresh of family {family} in these events")
    return life


def _hhmm(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%H:%M")


def plot_login_timeline(events: list[dict], access_ttl: float, *, family: str | None = None,
                        notes: dict[float, str] | None = None, title: str = "One login's life"):
    """Draw the login's access tokens as bars, its refresh-token family above them, and the notes; return the Figure."""
    import matplotlib.pyplot as plt  # here, so that reading the log imports nothing heavy
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    life = read_login(events, access_ttl, family)
    notes = notes or {}
    start = life.access_tokens[0][1]
    end = max([until for _, _, until in life.access_tokens] + [t for t in notes] + [t for t, _ in life.refused])
    rows = len(life.access_tokens)
    fig, ax = plt.subplots(figsize=(9, 1.8 + 0.45 * (rows + 1)))

    # The refresh-token family: from the login to its revocation (or past the last token).
    family_y = rows
    family_end = life.revoked[0] if life.revoked else end
    ax.barh(family_y, family_end - start, left=start, height=0.5, color="#c5cae9", edgecolor="#3949ab")
    ax.scatter(life.refreshes, [family_y] * len(life.refreshes), marker="o", color="#3949ab", zorder=3,
               label="refresh (token rotated)")
    if life.reuses:
        ax.scatter(life.reuses, [family_y] * len(life.reuses), marker="X", s=90, color="#c62828", zorder=4,
                   label="used token presented again")
    if life.refused:
        ax.scatter([t for t, _ in life.refused], [family_y + 0.35] * len(life.refused), marker="v", color="#555555",
                   zorder=4, label="refresh refused")
    if life.revoked:
        ax.axvline(life.revoked[0], color="#c62828", linewidth=1.5)
        ax.annotate(f"family revoked: {life.revoked[1]}", (life.revoked[0], 1), xycoords=("data", "axes fraction"),
                    xytext=(-4, -12), textcoords="offset points", ha="right", fontsize=8, color="#c62828")

    # One bar per access token, newest at the bottom; each lives access_ttl from its issue, revoked family or not.
    for i, (how, since, until) in enumerate(life.access_tokens):
        y = rows - 1 - i
        ax.barh(y, until - since, left=since, height=0.5, color="#ffe0b2" if how == "login" else "#fff3e0",
                edgecolor="#ef6c00")
        ax.text(since + 30, y, f"{_hhmm(since)}–{_hhmm(until)}", va="center", fontsize=8)

    # Notes: what the log cannot show. Text left of its line, stacked so that neighbours do not overlap.
    for i, (at, text) in enumerate(sorted(notes.items())):
        ax.axvline(at, color="#6a1b9a", linestyle="--", linewidth=1)
        ax.annotate(text, (at, 0), xycoords=("data", "axes fraction"), xytext=(-4, 4 + 11 * i),
                    textcoords="offset points", ha="right", fontsize=8, color="#6a1b9a")

    labels = [f"access token {i + 1} ({how})" for i, (how, _, _) in enumerate(life.access_tokens)]
    ax.set_yticks(list(range(rows + 1)))
    ax.set_yticklabels(list(reversed(labels)) + ["refresh-token family"])
    ax.set_ylim(-0.8, rows + 1.1)
    ax.set_xlim(start - 300, end + 300)
    ax.xaxis.set_major_locator(MultipleLocator(900 if end - start <= 4 * 3600 else 3600))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: _hhmm(x)))
    ax.set_xlabel("lab time (UTC)")
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
