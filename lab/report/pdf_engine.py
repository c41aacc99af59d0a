"""The PDF engine, WeasyPrint, and the native libraries it needs (Pango, GObject, HarfBuzz).

`pip install` brings WeasyPrint but not those libraries: on Windows and macOS a fresh
Python cannot load them, and `import weasyprint` raises
``OSError: cannot load library 'libgobject-2.0-0'``. Then `labreport build` still
writes the HTML (it prints well from a browser), prints one message with the fix
for this system, and exits with EXIT_NO_PDF_ENGINE; `labreport doctor` checks this
first. The fixes follow WeasyPrint's own installation guide ("First Steps").
"""

from __future__ import annotations

import contextlib
import io
import sys

from lab.core.errors import UserError

EXIT_NO_PDF_ENGINE = 3  # the HTML was written, the PDF was not
GUIDE = "https://doc.courtbouillon.org/weasyprint/stable/first_steps.html"

FIXES = {
    "win32": (
        "install MSYS2 (https://www.msys2.org) with its default options, run `pacman -S mingw-w64-ucrt-x86_64-pango` "
        r"in its shell, then in a new terminal `set WEASYPRINT_DLL_DIRECTORIES=C:\msys64\ucrt64\bin` and build again"
    ),
    "darwin": (
        "install Pango with Homebrew (`brew install pango`); on Apple silicon also "
        "`export DYLD_FALLBACK_LIBRARY_PATH=/opt/homebrew/lib`, then build again"
    ),
    "linux": (
        "install Pango (Debian/Ubuntu: `apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0`; "
        "Fedora: `dnf install pango`), then build again"
    ),
}


class PdfEngineMissing(UserError):
    """WeasyPrint cannot load its native libraries here."""


def fix_for_this_system(platform: str | None = None) -> str:
    platform = platform or sys.platform
    return FIXES["win32" if platform == "win32" else "darwin" if platform == "darwin" else "linux"]


def load_weasyprint():
    """The weasyprint module, or PdfEngineMissing with the fix for this system."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # WeasyPrint prints a banner of its own before it raises
            import weasyprint
    except OSError as error:  # a native library is missing: WeasyPrint's own wording names it
        raise PdfEngineMissing(
            f"the PDF engine (WeasyPrint) cannot load its libraries ({error}): {fix_for_this_system()}; see {GUIDE}"
        ) from None
    return weasyprint


def engine_status() -> str:
    """doctor's line: the WeasyPrint version, or PdfEngineMissing."""
    return f"WeasyPrint {load_weasyprint().__version__} and its libraries load"
