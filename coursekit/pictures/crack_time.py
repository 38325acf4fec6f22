"""How long an offline guesser needs to find an HMAC secret, from the secret's entropy and a guessing rate.

A secret drawn uniformly from 2**bits possibilities is found, on average, after half of them:
``expected_seconds(bits, rate) = 2**(bits - 1) / rate``. A wordlist of N words is log2(N) bits, however
long its words look.
"""

from __future__ import annotations

import math

__all__ = ["expected_seconds", "bits_of", "SECRETS", "plot_time_to_crack"]

YEAR = 365.25 * 24 * 3600
AGE_OF_UNIVERSE = 13.8e9 * YEAR


def expected_seconds(bits: float, rate: float) -> float:
    """Average time to find a secret of ``bits`` bits of entropy at ``rate`` guesses per second."""
    return 2 ** (bits - 1) / rate


def bits_of(choices: int, length: int = 1) -> float:
    """The entropy of ``length`` independent, uniform picks among ``choices`` values."""
    return length * math.log2(choices)


# (label, bits): secrets a server might be given, weakest first.
SECRETS = (
    ("a word from the course's 3000-word list", bits_of(3000)),
    ("8 random lowercase letters", bits_of(26, 8)),
    ("12 random printable characters", bits_of(94, 12)),
    ("16 random bytes", 128.0),
    ("32 random bytes (secrets.token_bytes(32))", 256.0),
)


def plot_time_to_crack(rate: float, *, secrets=SECRETS):
    """Plot the average time to crack against key entropy at ``rate`` guesses/s (log scale); return the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2))
    bits = [b / 4 for b in range(0, 4 * 256 + 1)]
    ax.plot(bits, [expected_seconds(b, rate) for b in bits], color="#1565c0")
    for label, b in secrets:
        seconds = expected_seconds(b, rate)
        ax.plot([b], [seconds], "o", color="#c62828")
        right_edge = b > 200  # label to the left of the point, inside the axes
        ax.annotate(f"{label}\n{b:.0f} bits", (b, seconds), textcoords="offset points",
                    xytext=(-8 if right_edge else 6, -22), ha="right" if right_edge else "left", fontsize=8)
    for label, seconds in (("1 second", 1), ("1 year", YEAR), ("age of the universe", AGE_OF_UNIVERSE)):
        ax.axhline(seconds, color="#9e9e9e", linewidth=0.8, linestyle="--")
        ax.text(256, seconds, label, ha="right", va="bottom", fontsize=8, color="#616161")
    ax.set_yscale("log")
    ax.set_xlim(0, 260)
    ax.set_xlabel("entropy of the secret (bits)")
    ax.set_ylabel("average time to crack (s)")
    ax.set_title(f"Offline guessing at {rate:,.0f} HMAC guesses per second (measured on this machine)")
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig
