"""Fonts the report needs: a CJK font for Chinese, checked before any long work."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

from lab.core.errors import UserError

INSTALL_HINT = (
    "install a CJK font (Debian/Ubuntu: apt-get install fonts-noto-cjk; "
    "Fedora: dnf install google-noto-sans-cjk-fonts; macOS/Windows: install Noto Sans CJK SC)"
)


@cache
def cjk_font_families() -> tuple[str, ...]:
    """Families fontconfig knows that cover Chinese (what WeasyPrint will find)."""
    if shutil.which("fc-list"):
        try:
            listing = subprocess.run(
                ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=20, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            listing = ""
        families = {name.strip() for line in listing.splitlines() for name in line.split(",") if name.strip()}
        if families:
            return tuple(sorted(families))
    from matplotlib import font_manager

    return tuple(
        sorted(
            {
                f.name
                for f in font_manager.fontManager.ttflist
                if any(mark in f.name for mark in ("CJK", "Han Sans", "Han Serif", "WenQuanYi"))
            }
        )
    )


def check_fonts(lang: str) -> None:
    """Raise UserError when a Chinese report is asked for and no CJK font is installed."""
    if lang == "zh" and not cjk_font_families():
        raise UserError(
            f'report.lang = "zh" needs a Chinese (CJK) font and none is installed: {INSTALL_HINT}; '
            'or set report.lang = "en"'
        )


def font_subsetting_note() -> str | None:
    """None when WeasyPrint subsets fonts with HarfBuzz; otherwise why PDFs will be slow and the fix.

    Without libharfbuzz-subset, WeasyPrint falls back to fontTools, which takes
    tens of seconds per PDF on the large CJK fonts.
    """
    try:
        from weasyprint.text.ffi import harfbuzz_subset
    except (ImportError, OSError):  # no PDF engine at all: doctor's first check says so
        return None
    if harfbuzz_subset is not None:
        return None
    return (
        "HarfBuzz subsetting library not found: PDFs with Chinese fonts take tens of seconds; "
        "install it (Debian/Ubuntu: apt-get install libharfbuzz-subset0)"
    )
