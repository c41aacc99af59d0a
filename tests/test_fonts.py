"""Chinese fonts where students have them: Windows, macOS and Linux families, from fake font listings."""

from __future__ import annotations

import re
import subprocess

import pytest

from lab.core.errors import UserError
from lab.report import fonts, plotting
from lab.report.render import PACKAGED_TEMPLATES

WINDOWS = {"Arial", "Times New Roman", "Segoe UI", "Microsoft YaHei", "DengXian", "SimSun", "Consolas"}
MACOS = {"Helvetica", "Helvetica Neue", "PingFang SC", "Hiragino Sans GB", "STHeiti", "Songti SC", "Menlo"}
LINUX = {"DejaVu Sans", "DejaVu Serif", "Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei"}
LATIN_ONLY = {"Arial", "Times New Roman", "DejaVu Sans", "Helvetica"}


@pytest.fixture
def system(monkeypatch):
    """Pretend the system's fonts are `families`, as matplotlib lists them, with no fc-list (Windows)."""

    def pretend(families: set[str]) -> None:
        monkeypatch.setattr(fonts, "matplotlib_families", lambda: frozenset(families))
        monkeypatch.setattr(fonts, "fontconfig_chinese_families", lambda: ())

    return pretend


@pytest.mark.parametrize(
    ("families", "chinese", "figure"),
    [
        (WINDOWS, ("DengXian", "Microsoft YaHei", "SimSun"), "Microsoft YaHei"),
        (MACOS, ("Hiragino Sans GB", "PingFang SC", "STHeiti", "Songti SC"), "PingFang SC"),
        (LINUX, ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei"), "Noto Sans CJK SC"),
        ({"DejaVu Sans", "WenQuanYi Micro Hei"}, ("WenQuanYi Micro Hei",), "WenQuanYi Micro Hei"),
        ({"Noto Sans CJK JP", "DejaVu Sans"}, ("Noto Sans CJK JP",), "Noto Sans CJK JP"),  # a collection's first face
    ],
)
def test_each_systems_chinese_fonts_pass_the_check_and_draw_the_figures(system, families, chinese, figure):
    system(families)
    assert fonts.cjk_font_families() == chinese
    fonts.check_fonts("zh")
    assert plotting.font_families("zh") == [figure, "DejaVu Sans"]


def test_a_system_without_a_chinese_font_is_refused_with_the_fix(system):
    system(LATIN_ONLY)
    with pytest.raises(UserError, match="needs a Chinese \\(CJK\\) font.*apt-get install fonts-noto-cjk"):
        fonts.check_fonts("zh")
    fonts.check_fonts("en")
    assert plotting.font_families("zh") == ["DejaVu Sans"]


def test_fontconfig_is_asked_first_where_it_exists(monkeypatch):
    """Its :lang=zh answer names fonts whatever their name (here one no prefix knows)."""
    monkeypatch.setattr(fonts, "matplotlib_families", lambda: frozenset(LATIN_ONLY))
    monkeypatch.setattr(fonts, "fontconfig_chinese_families", lambda: ("AR PL UMing CN",))
    assert fonts.cjk_font_families() == ("AR PL UMing CN",)


def test_windows_never_runs_fc_list(monkeypatch):
    def no_subprocess(*args, **kwargs):
        raise AssertionError("fc-list started on Windows")

    fonts.fontconfig_chinese_families.cache_clear()
    monkeypatch.setattr(fonts.sys, "platform", "win32")
    monkeypatch.setattr(subprocess, "run", no_subprocess)
    try:
        assert fonts.fontconfig_chinese_families() == ()
    finally:
        fonts.fontconfig_chinese_families.cache_clear()


def stacks(css: str) -> list[list[str]]:
    """Every font stack of the stylesheet, as lists of family names."""
    found = re.findall(r"font(?:-family)?:\s*(?:bold\s+)?(?:[\d.]+pt\s+)?([^;]+);", css)
    return [[name.strip().strip('"') for name in stack.split(",")] for stack in found]


def test_the_stylesheet_names_every_systems_families_in_the_order_the_figures_use():
    css = (PACKAGED_TEMPLATES / "report.css").read_text(encoding="utf-8")
    chinese = [stack for stack in stacks(css) if any(fonts.is_cjk(name) for name in stack)]
    assert len(chinese) >= 5  # the page's margin boxes, the body, the headings, code, formulas
    for stack in chinese:
        if "Noto Sans CJK SC" in stack:
            assert [name for name in stack if name in fonts.CJK_SANS] == list(fonts.CJK_SANS), stack
    body = next(stack for stack in chinese if stack[0] == "Noto Serif CJK SC")
    assert [name for name in body if name in fonts.CJK_SERIF] == list(fonts.CJK_SERIF)
    for family in ("Microsoft YaHei", "DengXian", "SimSun", "PingFang SC", "Songti SC", "Hiragino Sans GB", "STHeiti"):
        assert family in body
