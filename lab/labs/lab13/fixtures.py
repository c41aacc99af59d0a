"""Small but realistic run folders in the contract formats, for report tests and the render benchmark.

Nothing here trains: the numbers follow the shapes real runs show (under-fitting at
100 epochs, the noise being fitted at 50000, lr = 1 diverging, a jump in CIFAR accuracy
at the learning-rate drop), so every branch of the analysis and the answers is exercised.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from lab.core.store import LoadedRun
from lab.labs.lab13.fixture_cifar import PHASES, trim_cifar_to_quick, write_cifar
from lab.labs.lab13.fixture_fit import FUNCTION, NOISE_STD, SAMPLES, SEEDS, trim_fit_to_quick, write_fit_runs
from lab.labs.lab13.fixture_records import rewrite_record

STUDENT = Path(__file__).with_name("fixture_student.toml")


@dataclass
class FixtureDeclaration:
    """Same attributes as lab.core.declaration.Declaration, without reading a file."""

    values: dict
    path: Path
    folder: Path
    quick: bool = False
    overrides: list = field(default_factory=list)

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.values, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def resolve(self, relative: str) -> Path:
        path = Path(relative)
        return path if path.is_absolute() else self.folder / path


def fixture_declaration(folder: Path, lang: str = "zh", quick: bool = False) -> FixtureDeclaration:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lab13.toml"
    path.write_text("# fixture declaration\n", encoding="utf-8")
    values = {
        "student": tomllib.loads(STUDENT.read_text(encoding="utf-8")),
        "report": {"lang": lang, "out": "reports/lab13.pdf", "reflections": "reflections.md", "answers": "answers"},
        "fit": {
            "function": FUNCTION,
            "samples": SAMPLES,
            "x_range": [-5, 5],
            "noise_std": NOISE_STD,
            "seeds": SEEDS,
            "hidden": [64, 64],
        },
        "cifar": {"phases": PHASES},
    }
    return FixtureDeclaration(values=values, path=path, folder=folder, quick=quick)


def write_fixture_store(root: Path, quick: bool = False) -> dict[str, LoadedRun]:
    """All four runs under ``root``, as the runner would hand them to the report."""
    return {**write_fit_runs(root, quick), "cifar": write_cifar(root / "cifar" / "k-cifar", quick)}


def trim_to_quick(runs: dict[str, LoadedRun]) -> dict[str, LoadedRun]:
    """What a quick build leaves: one seed, two snapshot epochs, one CIFAR epoch per phase."""
    trimmed = {}
    for name, run in runs.items():
        params = trim_cifar_to_quick(run) if name == "cifar" else trim_fit_to_quick(name, run)
        trimmed[name] = rewrite_record(run, params=params, quick=True)
    return trimmed
