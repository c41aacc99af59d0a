"""Fonts the report needs: a CJK font for Chinese, checked before any long work.

A Chinese report renders with the CJK fonts a student's system already has:
Windows (Microsoft YaHei, DengXian, SimSun), macOS (PingFang SC, Hiragino Sans GB,
STHeiti, Songti SC) or Linux (Noto CJK, Source Han, WenQuanYi). templates/report.css
names the same families in the same order (a test keeps them in step), and the
figures take the first installed sans family of that order, as the headings,
captions and tables do.

Installed fonts are listed portably by matplotlib's font manager (it scans each
system's font folders); where fontconfig's `fc-list` exists (Linux, and the macOS or
MSYS2 fontconfig WeasyPrint uses) it is asked too, for the families it says cover
Chinese.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable
from functools import cache

from lab.core.errors import UserError

# Sans, in the report's order of preference: the CSS stack for headings, captions, tables and figures.
CJK_SANS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "PingFang SC",
    "Hiragino Sans GB",
    "Microsoft YaHei",
    "DengXian",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "STHeiti",
)
# Serif, for the body text (the sans stack follows it in the CSS for systems without a CJK serif).
CJK_SERIF = ("Noto Serif CJK SC", "Source Han Serif SC", "Source Han Serif CN", "Songti SC", "STSong", "SimSun")
# What a family name starts with when the font covers Chinese (fonts list a collection under several names).
CJK_PREFIXES = (
    "Noto Sans CJK",
    "Noto Serif CJK",
    "Noto Sans Mono CJK",
    "Source Han",
    "WenQuanYi",
    "Microsoft YaHei",
    "Microsoft JhengHei",
    "DengXian",
    "SimSun",
    "NSimSun",
    "SimHei",
    "KaiTi",
    "FangSong",
    "PingFang",
    "Hiragino Sans GB",
    "STHeiti",
    "Heiti",
    "Songti",
    "STSong",
    "STKaiti",
)
INSTALL_HINT = (
    "install a CJK font (Debian/Ubuntu: apt-get install fonts-noto-cjk; Fedora: dnf install google-noto-sans-cjk-fonts; "
    "Windows and macOS have one: Microsoft YaHei, PingFang SC)"
)


def is_cjk(family: str) -> bool:
    return family.startswith(CJK_PREFIXES)


def cjk_families(installed: Iterable[str]) -> tuple[str, ...]:
    """The families among `installed` that cover Chinese."""
    return tuple(sorted({family for family in installed if is_cjk(family)}))


@cache
def matplotlib_families() -> frozenset[str]:
    """Every font family installed here, as matplotlib lists them (on any system)."""
    from matplotlib import font_manager

    return frozenset(entry.name for entry in font_manager.fontManager.ttflist)


@cache
def fontconfig_chinese_families() -> tuple[str, ...]:
    """fc-list's families that cover Chinese (fontconfig knows each face of a collection); none without it."""
    if sys.platform == "win32" or not shutil.which("fc-list"):
        return ()
    try:
        listing = subprocess.run(
            ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(sorted({name.strip() for line in listing.splitlines() for name in line.split(",") if name.strip()}))


def cjk_font_families() -> tuple[str, ...]:
    """The Chinese families installed here: fontconfig's answer where it has one (fast, and what
    WeasyPrint uses), else matplotlib's listing of the system's fonts (Windows has no fc-list)."""
    return fontconfig_chinese_families() or cjk_families(matplotlib_families())


def figure_family(installed: Iterable[str] | None = None) -> str | None:
    """The family figures use for Chinese: the first of the report's sans stack that matplotlib finds."""
    present = set(matplotlib_families() if installed is None else installed)
    listed = next((family for family in CJK_SANS if family in present), None)
    # else a collection matplotlib lists under another face's name (Noto Sans CJK JP for the SC font, say)
    return listed or next((f for f in sorted(present) if is_cjk(f) and "Sans" in f and "Mono" not in f), None)


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
