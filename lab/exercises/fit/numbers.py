"""Exercise 1's fixed-precision numbers: the 1C errors read alike in its tables and its answer."""

from __future__ import annotations

import math

DECIMALS = 3  # every error in the 1C tables and the 1C answer, so a number reads alike everywhere


def missing(value) -> bool:
    return value is None or not math.isfinite(float(value))


def fixed(value, se=None) -> str:
    """value (± se) with DECIMALS decimals; '—' when missing."""
    if missing(value):
        return "—"
    text = f"{value:.{DECIMALS}f}".replace("-", "\u2212")  # a real minus sign
    if missing(se):
        return text
    return f"{text} ± {se:.{DECIMALS}f}"
