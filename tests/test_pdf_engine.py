"""Without the PDF engine's native libraries (WeasyPrint without Pango, as on a fresh Windows or
macOS), `build` still writes the HTML, says how to fix it on this system and exits 3; `doctor`
checks it first. Simulated: `import weasyprint` raises what WeasyPrint raises without GTK."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lab.report import pdf_engine
from tests.conftest import labreport

NO_GTK = """
import importlib.abc, importlib.machinery, sys


class NoGtk(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name == "weasyprint" or name.startswith("weasyprint."):
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):  # as weasyprint/text/ffi.py does: a banner on stdout, then the error
        print("-----\\n\\nWeasyPrint could not import some external libraries. Please carefully follow ...")
        raise OSError("cannot load library 'libgobject-2.0-0': error 0x7e.  Additionally, ctypes.util.find_library() did not manage to locate a library called 'libgobject-2.0-0'")


sys.meta_path.insert(0, NoGtk())
"""


@pytest.fixture
def without_gtk(tmp_path: Path) -> dict:
    site = tmp_path / "no-gtk"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_GTK)
    return {"PYTHONPATH": os.pathsep.join([str(site), str(Path.cwd())])}


def test_build_writes_the_html_and_one_message_with_the_fix_then_exits_3(tiny_lab, without_gtk):
    result = labreport(tiny_lab, "build", "--no-run", "--lang", "en", env=without_gtk, check=3)
    assert (tiny_lab / "reports" / "lab13.html").stat().st_size > 10_000
    assert not (tiny_lab / "reports" / "lab13.pdf").exists()
    assert "Traceback" not in result.stderr and "WeasyPrint could not import" not in result.stdout + result.stderr
    [message] = [line for line in result.stderr.splitlines() if line.startswith("no PDF")]
    assert "cannot load library 'libgobject-2.0-0'" in message
    assert pdf_engine.fix_for_this_system() in message and pdf_engine.GUIDE in message
    assert f"wrote {tiny_lab / 'reports' / 'lab13.html'}" in result.stdout


def test_doctor_checks_the_pdf_engine_first(tiny_lab, without_gtk):
    result = labreport(tiny_lab, "doctor", "--lang", "en", env=without_gtk)
    checks = [line for line in result.stdout.splitlines() if line.startswith(("ok", "fail"))]
    assert checks[0].startswith("fail  PDF engine: the PDF engine (WeasyPrint) cannot load its libraries")
    assert result.returncode == 2
    assert labreport(tiny_lab, "doctor", "--lang", "en").stdout.count("ok    PDF engine: WeasyPrint") == 1


@pytest.mark.parametrize(
    ("platform", "fix"),
    [
        (
            "win32",
            r"pacman -S mingw-w64-ucrt-x86_64-pango` in its shell, then in a new terminal `set WEASYPRINT_DLL_DIRECTORIES=C:\msys64\ucrt64\bin`",
        ),
        ("darwin", "brew install pango"),
        ("linux", "apt-get install libpango-1.0-0 libpangoft2-1.0-0"),
    ],
)
def test_the_fix_is_the_one_for_the_users_system(platform, fix):
    assert fix in pdf_engine.fix_for_this_system(platform)


def test_the_exit_code_is_the_documented_one():
    from lab import cli

    assert cli.EXIT_NO_PDF_ENGINE == pdf_engine.EXIT_NO_PDF_ENGINE == 3
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "3 the\nHTML report was written but no PDF" in readme
    assert sys.modules["lab.cli"].__doc__.count("3 the HTML was written but no PDF") == 1


def weasyprint_imported() -> bool:
    return "weasyprint" in sys.modules


def test_the_engine_loads_in_a_process_of_its_own_before_the_pdf_is_asked_for():
    """lab.report.pdf_process: WeasyPrint is imported there as soon as it starts (the first task),
    and the calls made afterwards run there, in order."""
    from lab.report import pdf_process

    pdf_process.start()
    try:
        assert pdf_process.call(os.getpid) != os.getpid()
        assert pdf_process.call(weasyprint_imported)
    finally:
        pdf_process.stop()
    assert pdf_process.call(os.getpid) == os.getpid()  # stopped: calls run here again
