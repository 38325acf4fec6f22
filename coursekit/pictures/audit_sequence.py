"""A sequence diagram (client, server, store) of what the lab's audit log recorded, for lesson 05's token flows.

Each audit event of the token endpoint stands for messages between the three: a client's request, what the
server read or wrote in its store, and the answer. ``messages`` turns events into those messages (tested
as data); ``plot_sequence`` draws them, one arrow a line, with the lab time in the margin.
"""

from __future__ import annotations

__all__ = ["LANES", "messages", "plot_sequence"]

LANES = ("client", "server", "store")

# event -> the messages it stands for: (from, to, text). Events of other kinds are left out.
_FLOWS = {
    "login": [("client", "server", "POST /oauth/token  grant_type=password"),
              ("server", "store", "new family; keep the refresh token's hash"),
              ("server", "client", "200  access token + refresh token")],
    "refresh": [("client", "server", "POST /oauth/token  grant_type=refresh_token"),
                ("server", "store", "read the user; mark token used; keep new hash"),
                ("server", "client", "200  new access token + new refresh token")],
    "reuse_within_interval": [("client", "server", "POST /oauth/token  with a token used seconds ago"),
                              ("server", "store", "within the reuse interval: let it through")],
    "reuse_detected": [("client", "server", "POST /oauth/token  with a token already used"),
                       ("server", "store", "already used: a reuse")],
    "family_revoked": [("server", "store", "revoke the family: {reason}")],
    "refresh_denied": [("server", "client", "400 invalid_grant: {reason}")],
    "revocation": [("client", "server", "POST /oauth/revoke  token={token_type}"),
                   ("server", "client", "200")],
}


def messages(events: list[dict]) -> list[tuple[str, str, str, str]]:
    """The messages the events stand for, as (lab time "HH:MM:SS", sender, receiver, text), in order."""
    out = []
    for event in events:
        for sender, receiver, text in _FLOWS.get(event["event"], ()):
            out.append((event["at"][11:19], sender, receiver, text.format_map(_Missing(event))))
    return out


class _Missing(dict):
    def __missing__(self, key):
        return "?"


def plot_sequence(events: list[dict], *, title: str = "What the audit log recorded"):
    """Draw the events' messages as a sequence diagram with three lifelines; return the Figure."""
    import matplotlib.pyplot as plt  # here, so that reading the log imports nothing heavy

    steps = messages(events)
    if not steps:
        raise ValueError("none of these events is a token-endpoint event")
    x = {lane: i * 4.0 for i, lane in enumerate(LANES)}
    height = len(steps)
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.38 * height))
    for lane, lx in x.items():
        ax.plot([lx, lx], [0.3, height + 0.2], color="#9e9e9e", linewidth=1, zorder=1)
        ax.text(lx, height + 0.5, lane, ha="center", va="bottom", fontsize=10, weight="bold",
                bbox={"boxstyle": "round", "facecolor": "#eeeeee", "edgecolor": "#9e9e9e"})
    last_time = None
    for i, (time, sender, receiver, text) in enumerate(steps):
        y = height - i
        if time != last_time:
            ax.text(-1.2, y, time, ha="right", va="center", fontsize=8, color="#616161")
            last_time = time
        bad = text.startswith(("400", "already used", "revoke"))
        color = "#c62828" if bad else "#1565c0" if sender == "client" else "#2e7d32"
        ax.annotate("", xy=(x[receiver], y), xytext=(x[sender], y),
                    arrowprops={"arrowstyle": "->", "color": color, "linewidth": 1.2})
        ax.text((x[sender] + x[receiver]) / 2, y + 0.1, text, ha="center", va="bottom", fontsize=7.5, color=color)
    ax.set_xlim(-2.6, x[LANES[-1]] + 1.5)
    ax.set_ylim(0, height + 1.2)
    ax.axis("off")
    ax.set_title(title)
    fig.tight_layout()
    return fig
