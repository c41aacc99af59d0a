"""labreport verify REPORT.pdf: check a report against the evidence it carries (lab.report.evidence).

1. intact: every attachment matches the manifest's checksum, none is missing or added;
2. consistent: the report rendered again from the attached declaration, runs and student files
   alone (in a temporary folder, no training) has the PDF's text, apart from page furniture
   (the lines every page repeats: header, footer, page numbers); the date and the machine are
   the build's, from the manifest. A difference is named with its page and both texts.

Runs in any folder: neither the student's folder nor its store is read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from pathlib import Path

from lab.core.api import default_lab, load_lab
from lab.core.declaration import Declaration, values_sha256
from lab.core.environment import Environment
from lab.core.errors import UserError
from lab.core.store import Store
from lab.report.evidence import DECLARATION, MANIFEST, Stamp, sha256

KEPT_DIFFERENCES = 20  # in --json; the table shows the first
CONTEXT_WORDS = 4


@dataclass
class Check:
    name: str
    ok: bool | None  # None: nothing to check
    detail: str


@dataclass
class Verdict:
    report: Path
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    differences: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok is not False for check in self.checks)

    def as_json(self) -> dict:
        return {
            "report": str(self.report),
            "ok": self.ok,
            "checks": [{"check": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "notes": self.notes,
            "differences": self.differences,
        }


# --- reading the PDF ----------------------------------------------------------------


def read_pdf(path: Path):
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings on a damaged file: our one line says it

    if not path.is_file():
        raise UserError(f"{path}: no such file; give the path of the report's PDF")
    try:
        return PdfReader(path)
    except (PdfReadError, OSError, ValueError) as error:
        raise UserError(f"{path}: not a readable PDF ({error}); give the report's PDF") from None


def attachments(reader) -> dict[str, bytes]:
    return {name: contents[0] for name, contents in reader.attachments.items() if contents}


def page_texts(reader) -> list[str]:
    return [page.extract_text() or "" for page in reader.pages]


# --- the checks ---------------------------------------------------------------------


def verify(path: Path, rerun: str | None = None, epochs: int = 1, data: str | None = None) -> Verdict:
    """The checks; with `rerun` (an exercise or run name) also its runs executed again (lab.report.rerun):
    those that need the data set (at `data`) train their first `epochs` epochs."""
    verdict = Verdict(path)
    reader = read_pdf(path)
    files = attachments(reader)
    if MANIFEST not in files:
        verdict.checks.append(
            Check(
                "evidence",
                None,
                "none: this report carries no evidence (report.attach_evidence = false, "
                "or built by a labreport without it); nothing to check",
            )
        )
        return verdict
    try:
        manifest = json.loads(files[MANIFEST])
    except ValueError as error:
        verdict.checks.append(Check("intact", False, f"{MANIFEST} is not valid JSON ({error})"))
        return verdict
    verdict.notes += notes(manifest)
    verdict.checks.append(intact(manifest, files))
    consistent(manifest, files, page_texts(reader), verdict)
    if rerun:
        from lab.report.rerun import rerun_checks

        verdict.checks += rerun_checks(manifest, files, rerun, epochs, data)
    return verdict


def intact(manifest: dict, files: dict[str, bytes]) -> Check:
    listed = manifest.get("attachments") or {}
    problems = []
    for name, about in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name} missing")
        elif sha256(files[name]) != about.get("sha256"):
            problems.append(
                f"{name} changed (sha256 {sha256(files[name])[:12]}…, manifest {about.get('sha256', '')[:12]}…)"
            )
    problems += [f"{name} not in the manifest" for name in sorted(set(files) - set(listed) - {MANIFEST})]
    if DECLARATION in files and not problems:
        if values_sha256(json.loads(files[DECLARATION])) != manifest["declaration"]["sha256"]:
            problems.append(f"{DECLARATION} does not hash to the declaration's sha256 in the manifest")
    if problems:
        return Check("intact", False, "; ".join(problems))
    left = manifest.get("left_out") or []
    detail = f"{len(listed)} attachments match their sha256 in the manifest"
    if left:
        detail += f" ({len(left)} larger file(s) not attached: {', '.join(item['path'] for item in left)})"
    return Check("intact", True, detail)


def notes(manifest: dict) -> list[str]:
    """What the grader should know before reading the checks: a draft, runs the report lacks, another version."""
    said = []
    declared = manifest.get("declaration", {})
    if declared.get("quick"):
        said.append("built with --quick: a draft with fewer epochs and seeds, not the report to hand in")
    for name, why in sorted((manifest.get("missing") or {}).items()):
        said.append(f"run {name} was {why} when the report was built: the report says so and shows no result of it")
    said.append(
        f"declaration {declared.get('file')} (sha256 {str(declared.get('sha256'))[:12]}…), built {manifest.get('built')} "
        f"with labreport {manifest.get('version')}"
    )
    from lab.core.environment import labreport_version

    if manifest.get("version") != labreport_version():
        said.append(f"this labreport is {labreport_version()}: its words may differ from the build's")
    return said


def consistent(manifest: dict, files: dict[str, bytes], pdf_pages: list[str], verdict: Verdict) -> None:
    """Render again from the evidence alone and compare the text."""
    try:
        with tempfile.TemporaryDirectory(prefix="labreport-verify-") as scratch:
            again = render_again(manifest, files, Path(scratch))
            differences = compare(pdf_pages, again)
    except UserError as error:
        verdict.checks.append(Check("consistent", False, f"the evidence does not render: {error}"))
        return
    verdict.differences = differences[:KEPT_DIFFERENCES]
    if differences:
        first = differences[0]
        detail = (
            f"{len(differences)} difference(s); first on page {first['page']}: "
            f"PDF {first['pdf']!r}, evidence {first['evidence']!r}"
        )
        verdict.checks.append(Check("consistent", False, detail))
    else:
        verdict.checks.append(
            Check("consistent", True, f"the text of all {len(pdf_pages)} pages renders again from the evidence")
        )


# --- rendering again ----------------------------------------------------------------


def render_again(manifest: dict, files: dict[str, bytes], scratch: Path) -> list[str]:
    """The PDF's pages as the attached evidence renders them, in `scratch`."""
    from lab.report.build import build_report

    folder = scratch / "lab"
    decl, store = open_evidence(manifest, files, folder)
    runs = {name: (store.load(name, key) if key else None) for name, key in manifest["runs"].items()}
    missing = dict(manifest.get("missing") or {})
    missing.update({name: "damaged" for name, run in runs.items() if run is None and name not in missing})
    stamp = Stamp(date.fromisoformat(manifest["built"]), Environment(**manifest["environment"]))
    out = folder / "reports" / "again.pdf"
    with working_directory(folder):  # ./templates: the attached ones, never the grader's
        build_report(
            decl,
            runs,
            out,
            lang=manifest["lang"],
            pdf_variant=manifest.get("pdf_variant"),
            command=manifest.get("command") or "",
            missing=missing,
            stamp=stamp,
            attach=False,
        )
    return page_texts(read_pdf(out))


def open_evidence(manifest: dict, files: dict[str, bytes], folder: Path) -> tuple[Declaration, Store]:
    """The attached lab in `folder`: its declaration as the build resolved it, and its run store."""
    store = Store(folder / "reports" / "runs")
    folder.mkdir(parents=True)
    restore(manifest, files, folder, store)
    declared = manifest["declaration"]
    values = json.loads(files[DECLARATION])
    lab = load_lab(values.get("lab", default_lab()))
    decl = Declaration(values, folder / declared["file"], folder, lab, declared["quick"], declared["overrides"])
    return decl, store


def restore(manifest: dict, files: dict[str, bytes], folder: Path, store: Store) -> None:
    """Each attachment back where the build read it."""
    for name, about in manifest["attachments"].items():
        if name not in files or name == DECLARATION:
            continue
        kind, relative = about["kind"], about.get("path", "")
        if kind in ("record", "result"):
            key = manifest["runs"][about["run"]]
            target = store.run_dir(about["run"], key) / relative
        elif kind == "student":
            target = folder / relative
        elif kind == "template":
            target = folder / "templates" / relative
        elif kind == "remembered":
            target = store.root / ".figure-cache" / relative
        else:
            continue
        inside(target, folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[name])


def inside(target: Path, folder: Path) -> None:
    """An attachment's path never leads out of the scratch folder."""
    if ".." in target.relative_to(folder).parts:
        raise UserError(f"the evidence names a path outside its folder: {target}; the report is not as built")


@contextlib.contextmanager
def working_directory(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


# --- comparing the text -------------------------------------------------------------


def furniture(pages: list[str]) -> set[str]:
    """Lines (digits aside) on more than half of the pages: running headers, footers, page numbers."""
    counts: dict[str, int] = {}
    for text in pages:
        for line in {masked(line) for line in text.splitlines() if line.strip()}:
            counts[line] = counts.get(line, 0) + 1
    return {line for line, count in counts.items() if len(pages) > 1 and count > len(pages) / 2}


def masked(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()))


def words(pages: list[str]) -> list[tuple[int, str]]:
    """(page number, word) for the text that is not page furniture."""
    skip = furniture(pages)
    return [
        (number, word)
        for number, text in enumerate(pages, start=1)
        for line in text.splitlines()
        if masked(line) not in skip
        for word in line.split()
    ]


def compare(pdf_pages: list[str], again_pages: list[str]) -> list[dict]:
    """Where the PDF's words differ from those rendered again (white space and line breaks aside)."""
    pdf, again = words(pdf_pages), words(again_pages)
    if "".join(w for _, w in pdf) == "".join(w for _, w in again):
        return []
    a, b = [w for _, w in pdf], [w for _, w in again]
    differences = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal" or "".join(a[i1:i2]) == "".join(b[j1:j2]):
            continue
        page = pdf[min(i1, len(pdf) - 1)][0] if pdf else 1
        differences.append(
            {
                "page": page,
                "pdf": " ".join(a[i1:i2]),
                "evidence": " ".join(b[j1:j2]),
                "context": " ".join(a[max(0, i1 - CONTEXT_WORDS) : i2 + CONTEXT_WORDS]),
            }
        )
    return differences
