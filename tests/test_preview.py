"""`labreport preview`: the page geometry it reads off the stylesheet, the page it serves, and the
real command on a tiny lab (edit, break, fix, declaration change, Ctrl-C), waiting on its event
stream, never on the clock. The same steps in a real browser: tests/test_preview_browser.py."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import lab.exercises.fit
from lab.report.preview.pages import page_geometry
from lab.report.preview.renderer import Rendered
from lab.report.preview.server import PreviewState
from lab.report.render import PACKAGED_TEMPLATES
from tests.conftest import labreport, start_labreport

WAIT_S = 120  # a bound on any one wait, so a broken preview fails the test instead of hanging it
TITLE_LINE = '<h1 class="title">{{ title }}</h1>'


# --- the page geometry ------------------------------------------------------------------------


def style(css: str) -> str:
    return f"<html><head><style>{css}</style></head><body></body></html>"


def test_the_packaged_stylesheet_gives_a4_its_margins_and_the_page_boxes():
    css = (PACKAGED_TEMPLATES / "report.css").read_text(encoding="utf-8")
    template_rule = '@page { @bottom-center { content: "Page " counter(page) " of " counter(pages); } }'
    geometry = page_geometry(style(css) + style(template_rule)).as_json()
    assert (geometry["width"], geometry["height"]) == (210, 297)
    assert geometry["margin"] == [22, 20, 22, 20]
    bottom = geometry["boxes"]["bottom-center"]
    assert bottom["content"] == [["text", "Page "], ["counter", "page"], ["text", " of "], ["counter", "pages"]]
    assert "8.5pt" in bottom["style"] and "content" not in bottom["style"]  # report.css's style, the template's words
    assert geometry["first"]["top-right"]["content"] is None  # @page :first { @top-right { content: none } }


@pytest.mark.parametrize(
    ("rule", "size", "margin"),
    [
        ("size: letter landscape; margin: 1in", (279.4, 215.9), [25.4] * 4),
        ("size: 100mm 150mm; margin: 10mm 5mm", (100, 150), [10, 5, 10, 5]),
        ("size: A5; margin: 1cm 2cm 3cm; margin-left: 72pt", (148, 210), [10, 20, 30, 25.4]),
        ("size: nonsense; margin: auto", (210, 297), [75 * 25.4 / 96] * 4),  # WeasyPrint's defaults stay
    ],
)
def test_page_sizes_and_margins_follow_css(rule, size, margin):
    geometry = page_geometry(style(f"@page {{ {rule} }}"))
    assert (geometry.width, geometry.height) == pytest.approx(size)
    assert geometry.margin == pytest.approx(margin)


def test_a_margin_box_string_keeps_its_escapes_and_semicolons():
    geometry = page_geometry(style('@page { @top-right { content: "A \\3c b; \\"c\\"" counter(page); color: red } }'))
    assert geometry.as_json()["boxes"]["top-right"] == {
        "content": [["text", 'A <b; "c"'], ["counter", "page"]],
        "style": "color: red",
    }


# --- the served page --------------------------------------------------------------------------


def test_a_failed_render_keeps_the_last_good_page_and_adds_its_error():
    state = PreviewState()
    state.publish(Rendered("<html><head><title>t</title></head><body><h1>good</h1></body></html>", None, 0.1))
    state.publish(Rendered(None, "templates/report.html.j2:3: template syntax error: boom", 0.1))
    page = state.served_page()
    assert "<h1>good</h1>" in page and '<script src="/_preview/preview.js" defer></script>\n</head>' in page
    settings = page_settings(page)
    assert settings["version"] == 2 and settings["error"].startswith("templates/report.html.j2:3:")
    assert settings["page"]["width"] == 210


def page_settings(page: str) -> dict:
    """What the served page tells its script: version, error, page geometry."""
    return json.loads(page.split('type="application/json">')[1].split("</script>")[0])


# --- the command --------------------------------------------------------------------------------


class Preview:
    """`labreport preview --no-browser --port 0` in a lab folder: its URL, page, state and events."""

    def __init__(self, lab: Path):
        self.lab = lab
        self.process = start_labreport(lab, "preview", "--no-browser", "--port", "0")
        self.output = []
        for line in self.process.stdout:  # a blocking read of its own words: no clock involved
            self.output.append(line)
            if line.startswith("preview: "):
                self.url = line.split()[1]
                break
        else:
            raise AssertionError(f"preview ended ({self.process.wait()}):\n{self.process.stderr.read()}")
        self.events = urllib.request.urlopen(self.url + "_preview/events", timeout=WAIT_S)
        self.version = self.next_version()

    def next_version(self) -> int:
        """Block until the event stream announces a version newer than the last one seen."""
        for raw in self.events:
            line = raw.decode().strip()
            if line.startswith("data: "):
                self.version = int(line.removeprefix("data: "))
                return self.version
        raise AssertionError("the event stream ended")

    def get(self, path: str = "") -> str:
        with urllib.request.urlopen(self.url + path, timeout=WAIT_S) as response:
            return response.read().decode("utf-8")

    def state(self) -> dict:
        return json.loads(self.get("_preview/state"))

    def stop(self) -> subprocess.CompletedProcess:
        self.events.close()
        self.process.send_signal(signal.SIGINT)
        stdout, stderr = self.process.communicate(timeout=WAIT_S)
        return subprocess.CompletedProcess(
            self.process.args, self.process.returncode, "".join(self.output) + stdout, stderr
        )


def own_template(lab: Path) -> Path:
    """The lab's copy of the report template, as the README's Restyling section says."""
    (lab / "templates").mkdir(exist_ok=True)
    template = lab / "templates" / "report.html.j2"
    template.write_text((PACKAGED_TEMPLATES / "report.html.j2").read_text(encoding="utf-8"), encoding="utf-8")
    return template


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_preview_follows_edits_shows_errors_and_stops_on_ctrl_c(tiny_lab):
    template = own_template(tiny_lab)
    (tiny_lab / "answers").mkdir()
    (tiny_lab / "templates" / "fit").mkdir()
    preview = Preview(tiny_lab)
    try:
        page = preview.get()
        assert "Lab 13: PyTorch" in page and "Test Student" in page and "/_preview/preview.js" in page

        edit(template, TITLE_LINE, '<h1 class="title">{{ title }} (restyled)</h1>')
        preview.next_version()
        assert "(restyled)</h1>" in preview.get() and preview.state()["error"] is None

        edit(template, "(restyled)</h1>", "(restyled)</h1>{% if %}")
        broken_line = line_of(template, "{% if %}")
        preview.next_version()
        error = preview.state()["error"]
        assert f"templates/report.html.j2:{broken_line}: template syntax error" in error
        assert "(restyled)</h1>" in preview.get()  # the last good render stays
        assert page_settings(preview.get())["error"] == error  # the page carries it too (its script shows it)

        edit(template, "{% if %}", "")
        preview.next_version()
        assert preview.state()["error"] is None

        section = (Path(lab.exercises.fit.__file__).parent / "section.html.j2").read_text(encoding="utf-8")
        own_section = tiny_lab / "templates" / "fit" / "section.html.j2"  # a new file shadows the packaged one
        own_section.write_text(section + "<p>My own note under Exercise 1.</p>\n", encoding="utf-8")
        preview.next_version()
        assert "<p>My own note under Exercise 1.</p>" in preview.get()

        (tiny_lab / "reflections.md").write_text("The learning-rate drop surprised me.\n", encoding="utf-8")
        preview.next_version()
        assert "<p>The learning-rate drop surprised me.</p>" in preview.get()

        (tiny_lab / "answers" / "1A.md").write_text("My own answer to 1A, in my words.\n", encoding="utf-8")
        preview.next_version()
        assert "<p>My own answer to 1A, in my words.</p>" in preview.get()

        edit(tiny_lab / "lab13.toml", 'name = "Test Student"', 'name = "Renamed Student"')
        preview.next_version()  # the declaration changed: the runs are loaded again with it
        assert "Renamed Student" in preview.get()
    finally:
        stopped = preview.stop()
    assert stopped.returncode == 0, stopped.stderr
    assert "preview stopped" in stopped.stdout
    for run in ("fit.epochs", "fit.lr", "fit.custom", "cifar"):
        assert f"missing: {run} (missing); the report says so. Compute it with: labreport run --only {run}" in (
            stopped.stderr
        )
    assert f"templates/report.html.j2:{broken_line}: template syntax error" in stopped.stderr  # and the terminal
    written = (
        [p for p in (tiny_lab / "reports").rglob("*") if p.suffix in (".pdf", ".html")]
        if (tiny_lab / "reports").exists()
        else []
    )
    assert written == []  # HTML on demand only: no PDF, no HTML file, no training


def test_a_port_in_use_is_one_line_and_exit_2(tiny_lab):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = labreport(tiny_lab, "preview", "--no-browser", "--port", str(port), check=2)
    assert f"error: --port {port}: cannot listen there" in result.stderr
    assert "--port 0 for any free one" in result.stderr


def test_without_no_browser_it_opens_the_page_in_the_browser(tiny_lab, tmp_path):
    """The webbrowser module opens the URL; $BROWSER names the browser (here a script that hands it back)."""
    handed = tmp_path / "handed-url"
    os.mkfifo(handed)
    browser = tmp_path / "browser"
    browser.write_text(f"#!{sys.executable}\nimport sys\nopen({str(handed)!r}, 'w').write(sys.argv[1])\n")
    browser.chmod(0o755)
    reader = os.open(handed, os.O_RDONLY | os.O_NONBLOCK)  # opened first, so the script's open does not block
    process = start_labreport(tiny_lab, "preview", "--port", "0", env={"BROWSER": str(browser)})
    try:
        printed = next(line.split()[1] for line in process.stdout if line.startswith("preview: "))
        assert select.select([reader], [], [], WAIT_S)[0], "the browser was not opened"
        assert os.read(reader, 1000).decode() == printed
    finally:
        os.close(reader)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=WAIT_S)
    assert process.returncode == 0
