"""The student's own words: answers/<QID>.md and reflections.md, read as Markdown (their
headings placed below the report's), and whether a file is still only a placeholder."""

from __future__ import annotations

import re
from pathlib import Path

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

from lab.core.errors import UserError

# Where the student's Markdown sits: an answer under a question of an exercise's section
# (h3), the reflections under their section (h2); their headings go below those.
ANSWER_HEADINGS_FROM, REFLECTION_HEADINGS_FROM = 4, 3
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)  # the prompts `labreport init` writes stay out of the report
# TODO, TBD, "to be written" (in English or Chinese): what a file that is not an answer yet says
MARKER = r"(?:\b(?:TODO|TBD)\b|\u5f85\u586b\u5199|to be written)"
MARKERS = re.compile(MARKER, re.IGNORECASE)
# a line that is only a marker ("TODO", "- TBD.") or starts one ("TODO: explain the jump")
MARKER_LINE = re.compile(rf"^\W*{MARKER}(?:\W*$|\s*[:\uff1a])", re.IGNORECASE | re.MULTILINE)
MIN_ANSWER_CHARS = 20  # a marker with less than this around it is a placeholder, not an answer


class DemoteHeadings(Treeprocessor):
    """`#` becomes h<first>, `##` the level below it, and so on (at most h6)."""

    def __init__(self, md, first: int):
        super().__init__(md)
        self.shift = first - 1

    def run(self, root):
        for element in root.iter():
            if re.fullmatch(r"h[1-6]", element.tag):
                element.tag = f"h{min(6, int(element.tag[1]) + self.shift)}"


class Demote(Extension):
    def __init__(self, first: int):
        super().__init__()
        self.first = first

    def extendMarkdown(self, md):  # noqa: N802 (Markdown's name)
        md.treeprocessors.register(DemoteHeadings(md, self.first), "demote_headings", 0)


def student_text(path: Path, what: str = "answer") -> str | None:
    """The student's own words in ``path`` (comments left out), or None without the file."""
    if not path.is_file():
        return None
    try:
        return COMMENT.sub("", path.read_text(encoding="utf-8")).strip()
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read your {what} ({error}); save it as UTF-8 Markdown or remove it") from error


def student_markdown(text: str, first_heading: int) -> Markup:
    return Markup(markdown.markdown(text, extensions=["extra", "sane_lists", Demote(first_heading)]))


def student_answer(path: Path) -> Markup:
    return student_markdown(student_text(path) or "", ANSWER_HEADINGS_FROM)


def is_placeholder(text: str | None) -> bool:
    """Empty, a line that is only a TODO (or "to be written" in Chinese), or a marker with hardly
    anything else: not an answer yet. An answer that mentions a TODO ("I filled in the TODO in
    test()") is an answer."""
    if text is None:
        return False
    if not text or MARKER_LINE.search(text):
        return True
    return bool(MARKERS.search(text)) and len(MARKERS.sub("", text).strip()) < MIN_ANSWER_CHARS


def answer_files(answers_dir: Path, qids) -> tuple[dict[str, Path], list[Path]]:
    """(question -> the student's file, files there that answer no question: another case, ID or suffix)."""
    if not answers_dir.is_dir():
        return {}, []
    expected = {f"{qid}.md": qid for qid in qids}
    found, misnamed = {}, []
    for path in sorted(answers_dir.iterdir()):
        if path.name in expected and path.is_file():
            found[expected[path.name]] = path
        elif not path.name.startswith(".") and path.name.lower() != "readme.md":
            misnamed.append(path)
    return found, misnamed
