"""How long an offline guesser needs to find an HMAC secret, from the secret's entropy and a guessing rate.

A secret drawn uniformly from 2**bits possibilities is found, on average, after half of them:
``expected_seconds(bits, rate) = 2**(bits - 1) / rate``. A wordlist of N words is log2(N) bits, however
long its words look.

Two guessers are drawn: this machine's Python, at the rate the lesson measures, and one GPU running hashcat
on JWTs (its mode 16500), at a rate someone published (GPU_RATE, GPU_SOURCE). The lines differ in style and
carry their names, so the plot reads without colour.
"""

from __future__ import annotations

import math

__all__ = ["expected_seconds", "bits_of", "SECRETS", "plot_time_to_crack", "crack_times", "in_words", "GPU_RATE",
           "GPU_SOURCE"]

YEAR = 365.25 * 24 * 3600
AGE_OF_UNIVERSE = 13.8e9 * YEAR

# hashcat's benchmark (hashcat -b) of mode 16500, "JWT (JSON Web Token)", i.e. HMAC-SHA256 over a token's
# header.payload, on one NVIDIA GeForce RTX 3090 with hashcat v6.1.1: 1854.7 MH/s. Published by Sam Croley
# (Chick3nman) in his benchmark gist; not measured by this course.
GPU_RATE = 1854.7e6
GPU_SOURCE = ("hashcat v6.1.1 benchmark, mode 16500 (JWT), one RTX 3090: 1854.7 MH/s "
              "(Chick3nman, gist.github.com/Chick3nman/e4fcee00cb6d82874dace72106d73fef)")


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


def plot_time_to_crack(rate: float, *, gpu_rate: float = GPU_RATE, secrets=SECRETS):
    """Plot the average time to crack against key entropy, at ``rate`` guesses/s (this machine) and at
    ``gpu_rate`` (one GPU running hashcat), on a log scale; return the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.6))
    bits = [b / 4 for b in range(0, 4 * 256 + 1)]
    # Okabe-Ito blue and vermilion, told apart by line style and label too.
    ax.plot(bits, [expected_seconds(b, rate) for b in bits], color="#0072B2", linestyle="-",
            label=f"this machine, one Python process: {rate:,.0f} guesses/s (measured)")
    ax.plot(bits, [expected_seconds(b, gpu_rate) for b in bits], color="#D55E00", linestyle="--",
            label=f"one GPU, hashcat mode 16500: {gpu_rate / 1e6:,.0f} million guesses/s (published)")
    for label, b in secrets:
        for guesses, marker in ((rate, "o"), (gpu_rate, "s")):
            ax.plot([b], [expected_seconds(b, guesses)], marker, color="#000000", markersize=4)
        seconds = expected_seconds(b, rate)
        right_edge = b > 200  # label to the left of the point, inside the axes
        ax.annotate(f"{label}\n{b:.0f} bits", (b, seconds), textcoords="offset points",
                    xytext=(-8 if right_edge else 6, 8), ha="right" if right_edge else "left", fontsize=8)
    for label, seconds in (("1 second", 1), ("1 day", 86400), ("1 year", YEAR),
                           ("age of the universe", AGE_OF_UNIVERSE)):
        ax.axhline(seconds, color="#9e9e9e", linewidth=0.8, linestyle=":")
        ax.text(256, seconds, label, ha="right", va="bottom", fontsize=8, color="#616161")
    ax.set_yscale("log")
    ax.set_xlim(0, 260)
    ax.set_xlabel("entropy of the secret (bits)")
    ax.set_ylabel("average time to crack (s)")
    ax.set_title(f"Offline guessing of an HMAC secret: {rate:,.0f} HMAC guesses per second here, "
                 "and one GPU", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig


def crack_times(rate: float, bits: float, gpu_rate: float = GPU_RATE) -> str:
    """In words: the average time to find a secret of ``bits`` bits here and on one GPU."""
    return f"{in_words(expected_seconds(bits, rate))} here, {in_words(expected_seconds(bits, gpu_rate))} on one GPU"


def in_words(seconds: float) -> str:
    """A duration in words: "under a second", "about 56 seconds", "about 2 days", "about 4 million years",
    "about 3.2 × 10^21 years"."""
    if seconds < 1:
        return "under a second"
    if seconds < 2:
        return "about a second"
    years = seconds / YEAR
    if years >= 1e9:
        exponent = math.floor(math.log10(years))
        return f"about {years / 10 ** exponent:.2g} × 10^{exponent} years"
    if years >= 1e6:
        return f"about {years / 1e6:,.0f} million years"
    for unit, size in (("years", YEAR), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"about {seconds / size:,.0f} {unit}"
    return f"about {seconds:,.0f} seconds"
