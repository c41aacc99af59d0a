"""One source for each answer's logic: every answer template is one file for both languages, and
every decision in it is made once, outside the words of either language.

The rule the parse checks is stricter than "no condition on facts inside a language branch": a
language branch (``{% if lang == "zh" %} … {% else %} … {% endif %}``, ``… if lang == "zh" else …``
or ``say(zh=…, en=…)``) holds words and values only, no decision of any kind (if, for, a
conditional expression, a comparison, a test, and/or/not, a selecting filter, a macro). Words need
no decision, and any decision made inside one language's words is one the other language may make
differently: that is how the per-language pairs drifted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import nodes

from lab.core.api import load_lab
from lab.report.render import lab_template_folders, template_environment

ROOT = Path(__file__).resolve().parents[1]
ANSWER_FOLDERS = sorted([*ROOT.glob("lab/exercises/*/answers"), *ROOT.glob("tests/toy/*/answers")])
LANGUAGES = {"zh", "en"}

PER_LANGUAGE = re.compile(r"^(?P<qid>[^.]+)\.(?P<lang>[a-z]{2})\.(?:html|md)\.j2$")
DECISIONS = (
    nodes.If,
    nodes.For,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Test,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
)
SELECTING_FILTERS = {"select", "reject", "selectattr", "rejectattr", "default", "d"}


def answer_templates() -> list[Path]:
    return [path for folder in ANSWER_FOLDERS for path in sorted(folder.glob("*.j2"))]


def names_in(node: nodes.Node) -> set[str]:
    return {name.name for name in node.find_all(nodes.Name)}


def decisions_in(branch: list[nodes.Node]) -> list[str]:
    """Every decision inside a language branch, as 'line N: Kind'."""
    found = []
    for top in branch:
        for node in [top, *top.find_all(nodes.Node)]:
            selecting = isinstance(node, nodes.Filter) and node.name in SELECTING_FILTERS
            if isinstance(node, DECISIONS) or selecting:
                found.append(f"line {node.lineno}: {type(node).__name__} inside a language branch")
    return found


def language_branches(tree: nodes.Template) -> list[tuple[nodes.Node, list[list[nodes.Node]]]]:
    """(the node that chooses the language, its branches) for every such node in the template."""
    chosen: list[tuple[nodes.Node, list[list[nodes.Node]]]] = []
    for node in tree.find_all((nodes.If, nodes.CondExpr)):
        if "lang" not in names_in(node.test):
            continue
        if isinstance(node, nodes.If):
            chosen.append((node, [node.body, *[[elif_] for elif_ in node.elif_], node.else_]))
        else:
            chosen.append((node, [[node.expr1], [node.expr2] if node.expr2 is not None else []]))
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "say":
            chosen.append((call, [[*call.args], *[[keyword.value] for keyword in call.kwargs]]))
    return chosen


def problems(source: str) -> list[str]:
    """What breaks the one-source rule in one template's source."""
    tree = template_environment(lab_template_folders(load_lab())).parse(source)
    found = []
    branches = language_branches(tree)
    if not branches:
        found.append("no language branch: the words are in one language only")
    for chooser, parts in branches:
        if isinstance(chooser, nodes.Call):
            given = {keyword.key for keyword in chooser.kwargs}
            if chooser.args or given != LANGUAGES:
                found.append(f"line {chooser.lineno}: say() takes exactly zh= and en= (given {sorted(given)})")
        else:
            test = chooser.test
            if names_in(test) != {"lang"}:
                found.append(f"line {chooser.lineno}: the language test also reads {sorted(names_in(test) - {'lang'})}")
            if isinstance(chooser, nodes.If) and not (chooser.else_ or chooser.elif_):
                found.append(f"line {chooser.lineno}: a language branch with words for one language only")
        for part in parts:
            if isinstance(chooser, nodes.If) and part and isinstance(part[0], nodes.If) and part[0] in chooser.elif_:
                part = [*part[0].body, *part[0].else_]  # an elif on the language: its words, not its test
            found += decisions_in(part)
    return found


def test_every_answer_is_one_template_for_both_languages():
    assert ANSWER_FOLDERS, "no answers/ folder found"
    pairs = [path.relative_to(ROOT).as_posix() for path in answer_templates() if PER_LANGUAGE.match(path.name)]
    assert pairs == [], "answers written once per language (make them one <QID>.html.j2 with lang blocks)"


@pytest.mark.parametrize(
    "path",
    [p for p in answer_templates() if not PER_LANGUAGE.match(p.name)],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_every_decision_is_made_outside_the_words(path: Path):
    assert problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{% if f.x %}{% if lang == "zh" %}甲{% else %}a{% endif %}{% endif %}', []),
        (
            '{% if lang == "zh" %}{% if f.x %}甲{% endif %}{% else %}a{% endif %}',
            ["line 1: If inside a language branch"],
        ),
        (
            '{% if lang == "zh" %}甲{% else %}{% for v in f.vs %}{{ v }}{% endfor %}{% endif %}',
            ["line 1: For inside a language branch"],
        ),
        ('{% if lang == "zh" and f.x %}甲{% else %}a{% endif %}', ["line 1: the language test also reads ['f']"]),
        ('{% if lang == "zh" %}甲{% endif %}', ["line 1: a language branch with words for one language only"]),
        ('{{ say(zh="甲" if f.x else "乙", en="a") }}', ["line 1: CondExpr inside a language branch"]),
        ('{{ say(zh="甲", en="a" ~ (f.v | default(1))) }}', ["line 1: Filter inside a language branch"]),
        ('{{ say(zh="甲") }}', ["line 1: say() takes exactly zh= and en= (given ['zh'])"]),
        ('{{ "a" if lang == "en" else ("甲" if f.x else "乙") }}', ["line 1: CondExpr inside a language branch"]),
        ("{{ f.x }}", ["no language branch: the words are in one language only"]),
    ],
)
def test_the_rule_catches_a_decision_inside_the_words(source, expected):
    assert problems(source) == expected
