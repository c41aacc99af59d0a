"""The words of answers: number formats shared with the tables and the answer templates, and the Answer."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from lab.report.messages import Messages

msg = Messages(Path(__file__).parent)

# --- number formatting (shared with the tables) ----------------------------------


def num(value, digits: int = 3) -> str:
    """A measured quantity to ``digits`` significant figures; '—' when not finite."""
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 10**digits:
        return f"{value:,.0f}"
    if magnitude < 1e-3:
        return f"{value:.2e}"
    decimals = max(digits - 1 - int(math.floor(math.log10(magnitude))), 0)
    return f"{value:.{decimals}f}"


def pm(mean, std) -> str:
    """mean ± std; the std alone when it is meaningful (two seeds or more)."""
    if std is None or not math.isfinite(std) or not math.isfinite(mean):
        return num(mean)
    if std <= 1e-9 * max(abs(mean), 1.0):  # identical values up to rounding
        std = 0.0
    shown = num(mean)
    if "e" in shown:
        return f"{shown} ± {num(std, 2)}"
    decimals = len(shown.partition(".")[2])  # the std to the mean's last digit: 7.71 ± 0.56, 28.0 ± 25.0
    return f"{shown} ± {std:,.{decimals}f}"


def signed(value, decimals: int = 2) -> str:
    """+1.23 / −1.23 with a real minus sign."""
    return f"{value:+.{decimals}f}".replace("-", "−")


def plain(value) -> str:
    """A value as given (−5, 0.01) with a real minus sign, as the figures write it."""
    return f"{value:g}".replace("-", "−")


def real_minus(text: str) -> str:
    """A cell's text with each negative number's sign a real minus (−0.63, not -0.63), as the figures
    and the intervals write it; a hyphen inside a word, a date or an exponent (1e-05) stays."""
    return re.sub(r"(?<![\w.])-(?=\.?\d)", "\u2212", text)


def pct(value) -> str:
    return f"{value:.2f}%" if value is not None and math.isfinite(value) else "—"


def lr_text(lr: float) -> str:
    return f"{lr:g}"


def seconds_text(seconds: float | None, lang: str) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [msg(lang, "hours", n=hours)] if hours else []
    if minutes or hours:
        parts.append(msg(lang, "minutes", n=minutes))
    return " ".join([*parts, msg(lang, "seconds", n=secs)])


def count(n: int) -> str:
    """A whole number with thousands separators: 1,000."""
    return f"{n:,}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def join_values(values, lang: str) -> str:
    items = [lr_text(v) if isinstance(v, float) else f"{v:,}" for v in values]
    return msg(lang, "list_separator").join(items)


@jinja2.pass_context
def say(context, **words):
    """The words of the page's language among ``say(zh=…, en=…)``: a template writes each condition
    once and only its words per language. The words are the template's own text (with formatted
    numbers joined in by ``~``), so they are as safe as the template around them: not escaped."""
    lang = context["lang"]
    if lang not in words:
        raise ValueError(f"say(): no words for language {lang!r} (given: {', '.join(words)})")
    chosen = words[lang]
    return Markup(chosen) if isinstance(chosen, str) else chosen


# --- the answer object -----------------------------------------------------------


@dataclass
class Answer:
    id: str
    question: str
    body: Markup
    source: str  # "generated" | "student" | "missing"
    student_file: Path | None = None


Ref = Callable[[str], str]  # figure/table key -> its numbered label, as a link


def code(text) -> Markup:
    return Markup("<code>{}</code>").format(escape(str(text)))


# The number formats every template (page, sections, answers) may call; an exercise adds its own.
FORMATS: dict[str, Callable] = {
    "num": num,
    "pm": pm,
    "pct": pct,
    "signed": signed,
    "plain": plain,
    "lr_text": lr_text,
    "seconds_text": seconds_text,
    "count": count,
    "plural": plural,
    "join_values": join_values,
    "code": code,
    "say": say,
}
