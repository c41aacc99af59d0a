"""2A's proof: the course-style test(epoch) (lab.exercises.cifar.course), run on the final
checkpoint over the run's test images through a DataLoader, must return the test accuracy
the run reported for its last epoch, to TOLERANCE points (course_check.py runs it).

The result is remembered beside the figures under the hash of the checkpoint and of the
code, so rendering again (the other language, a template edit) needs no torch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from lab.core import fingerprint
from lab.core.atomic import write_text_atomic
from lab.core.store import CHECKPOINT

TOLERANCE = 0.01  # percentage points: one image in 10 000
CHECKING_CODE = "lab.exercises.cifar.course_check"  # with all it imports (course, data, model, numerics)


@dataclass
class CrossCheck:
    """The accuracy course.test returned next to the one the run reported."""

    reported: float
    epoch: int
    course: float | None = None  # None: could not be run (why says why)
    images: int = 0
    why: str = ""
    same_numerics: bool = True

    @property
    def checked(self) -> bool:
        return self.course is not None

    @property
    def matches(self) -> bool:
        return self.course is not None and abs(self.course - self.reported) <= TOLERANCE + 1e-9


def last_epoch_accuracy(run) -> tuple[float, int]:
    """The test accuracy the run reported for its last epoch, and that epoch."""
    import pandas as pd

    last = pd.read_csv(Path(run.dir) / "epochs.csv").iloc[-1]
    return float(last["test_acc"]), int(last["epoch"])


def remembered_cross_check(run, cache_dir: Path, data: str | None, folder: Path | None) -> CrossCheck:
    """`cross_check`, kept in `folder` under the hash of the checkpoint and of this code:
    rendering again (the other language, a template edit) does not evaluate again. It is also
    kept under the run's key, for a render without the checkpoint (a report's attached evidence)."""
    checkpoint = Path(run.dir) / CHECKPOINT
    by_run = Path(folder) / f"crosscheck-run-{run.key}.json" if folder is not None else None
    if not checkpoint.is_file():
        if by_run is not None and by_run.is_file():  # a report's evidence carries this, not the checkpoint
            return CrossCheck(**json.loads(by_run.read_text(encoding="utf-8")))
        return CrossCheck(*last_epoch_accuracy(run), course=None, why="no checkpoint")
    if folder is None or by_run is None:
        return run_cross_check(run, cache_dir, data)
    digest = fingerprint.code_digest([CHECKING_CODE], files=[checkpoint])
    path = Path(folder) / f"crosscheck-{digest[:16]}.json"
    if path.is_file():
        result = CrossCheck(**json.loads(path.read_text(encoding="utf-8")))
    else:
        result = run_cross_check(run, cache_dir, data)
    if result.checked:
        path.parent.mkdir(parents=True, exist_ok=True)
        for remembered in (path, by_run):
            write_text_atomic(remembered, json.dumps(asdict(result)))
    return result


def run_cross_check(run, cache_dir: Path, data: str | None) -> CrossCheck:
    from lab.exercises.cifar.course_check import cross_check

    return cross_check(run, cache_dir, data)
