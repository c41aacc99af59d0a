"""The evidence a report carries: what it was rendered from, attached to its PDF as plain files.

- ``declaration.json``: the resolved declaration (after --set and --quick), its values only;
- ``RUN--record.json`` and ``RUN--FILE`` for each run the report read: its record and the
  result files its record lists (checkpoints never; a file over MAX_FILE_BYTES is left out
  and named in the manifest);
- ``student--PATH``: the student's reflections and own answers, as the report used them;
- ``templates--NAME``: the student's restyled page templates (./templates), where they differ
  from the packaged ones;
- ``remembered--NAME``: results the report remembered beside its figures under a run's key;
- ``labreport-evidence.json``: the manifest, with each attachment's sha256, what each one is,
  and what the page needs besides (the build's date and machine, the runs missing and why).

`labreport verify` (lab.report.verify) reads it back. A grader can extract the files with
any PDF tool (``pdfdetach -saveall``, pypdf).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from lab.core.declaration import Declaration
from lab.core.environment import Environment, current_environment
from lab.core.store import RECORD
from lab.report.items import cache_folder
from lab.report.render import PACKAGED_TEMPLATES
from lab.report.student import answer_files

MANIFEST = "labreport-evidence.json"
DECLARATION = "declaration.json"
FORMAT = 1
MAX_FILE_BYTES = (
    4 * 2**20
)  # a result file above this stays out (the manifest names it; verify then cannot load its run)
SEPARATOR = "--"  # attachment names are flat: RUN--FILE, a folder's slashes as SEPARATOR


@dataclass
class Stamp:
    """When and on which machine a report was built: today and here, unless a verified report says otherwise."""

    built: date
    environment: Environment

    @classmethod
    def now(cls) -> Stamp:
        return cls(date.today(), current_environment())


@dataclass
class Evidence:
    """The attachments by name (the manifest among them) and the manifest itself."""

    files: dict[str, bytes] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)

    def add(self, name: str, data: bytes, kind: str, **about: str) -> None:
        self.files[name] = data
        self.manifest["attachments"][name] = {"kind": kind, "sha256": sha256(data), "bytes": len(data), **about}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def flat_name(*parts: str) -> str:
    return SEPARATOR.join(part.replace("/", SEPARATOR).replace("\\", SEPARATOR) for part in parts)


def wants_evidence(decl: Declaration) -> bool:
    return bool(decl.values["report"].get("attach_evidence", True))


def collect(decl: Declaration, runs: dict, missing: dict[str, str], build: dict, stamp: Stamp) -> Evidence:
    """Everything the page was rendered from. `build`: lang, pdf_variant, command, version."""
    evidence = Evidence(manifest=manifest_head(decl, runs, missing, build, stamp))
    canonical = json.dumps(decl.values, indent=2, sort_keys=True, ensure_ascii=False)
    evidence.add(DECLARATION, canonical.encode(), "declaration")
    for name, run in runs.items():
        if run is not None:
            add_run(evidence, name, Path(run.dir), run.record)
    add_student_files(evidence, decl)
    add_templates(evidence)
    add_remembered(evidence, runs)
    finished = json.dumps(evidence.manifest, indent=2, sort_keys=True, ensure_ascii=False).encode()
    evidence.files[MANIFEST] = finished
    return evidence


def manifest_head(decl: Declaration, runs: dict, missing: dict[str, str], build: dict, stamp: Stamp) -> dict:
    return {
        "format": FORMAT,
        **build,
        "built": stamp.built.isoformat(),
        "environment": asdict(stamp.environment),
        "declaration": {
            "file": decl.name,
            "lab": decl.lab.name,
            "quick": decl.quick,
            "overrides": list(decl.overrides),
            "sha256": decl.sha256,
        },
        "runs": {name: (run.key if run is not None else None) for name, run in runs.items()},
        "missing": dict(missing),
        "attachments": {},
        "left_out": [],
    }


def add_run(evidence: Evidence, name: str, folder: Path, record: dict) -> None:
    """Its record and the result files it lists, each small enough; the others named as left out."""
    evidence.add(flat_name(name, RECORD), (folder / RECORD).read_bytes(), "record", run=name, path=RECORD)
    for relative in sorted(record.get("files") or {}):
        path = folder / relative
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            evidence.manifest["left_out"].append({"run": name, "path": relative, "bytes": size})
            continue
        evidence.add(flat_name(name, relative), path.read_bytes(), "result", run=name, path=relative)


def add_student_files(evidence: Evidence, decl: Declaration) -> None:
    """The reflections and own answers the page shows, by their path in the lab folder."""
    report = decl.values["report"]
    paths = [decl.resolve(report["reflections"])]
    own, _ = answer_files(decl.resolve(report["answers"]), decl.lab.questions)
    for path in [*paths, *own.values()]:
        if not path.is_file():
            continue
        try:
            relative = path.resolve().relative_to(decl.folder.resolve()).as_posix()
        except ValueError:  # outside the lab folder: it cannot be put back where the declaration says
            evidence.manifest["left_out"].append({"path": str(path), "bytes": path.stat().st_size})
            continue
        evidence.add(flat_name("student", relative), path.read_bytes(), "student", path=relative)


def add_templates(evidence: Evidence) -> None:
    """./templates files that are not the packaged ones: the page was rendered from them."""
    local = Path.cwd() / "templates"
    if not local.is_dir() or local.resolve() == PACKAGED_TEMPLATES.resolve():
        return
    for path in sorted(local.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        relative = path.relative_to(local).as_posix()
        packaged = PACKAGED_TEMPLATES / relative
        data = path.read_bytes()
        if packaged.is_file() and packaged.read_bytes() == data:
            continue
        evidence.add(flat_name("templates", relative), data, "template", path=relative)


def add_remembered(evidence: Evidence, runs: dict) -> None:
    """Results remembered beside the figures under the key of a run the report read (a check that
    needed the run's checkpoint, which is not attached)."""
    folder = cache_folder(runs)
    keys = [run.key for run in runs.values() if run is not None]
    if folder is None or not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json")):
        if any(key in path.name for key in keys):
            evidence.add(flat_name("remembered", path.name), path.read_bytes(), "remembered", path=path.name)


def pdf_attachments(evidence: Evidence) -> list[tuple[str, bytes, str]]:
    """(name, contents, description) of each file the PDF carries, the manifest first."""
    names = [MANIFEST, *sorted(name for name in evidence.files if name != MANIFEST)]
    return [(name, evidence.files[name], describe(evidence, name)) for name in names]


def describe(evidence: Evidence, name: str) -> str:
    if name == MANIFEST:
        return "labreport evidence: what this report was rendered from, with checksums (labreport verify)"
    about = evidence.manifest["attachments"][name]
    return f"{about['kind']}: {about.get('run', '')} {about.get('path', '')}".strip()
