"""Exercise 2: ResNet-20 on CIFAR-10, with a learning-rate drop.

Its section of the declaration is ``[cifar]``; its one run, cifar, is
`train.run`. The data set's checksum is part of the run's parameters, so
another copy of CIFAR-10 makes another run.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.api import Exercise, Inputs, Progress
from lab.core.schema import Rule, integer, listof, number, text
from lab.exercises.cifar.variants import VARIANTS, variant_params

VARIANT_NAMES = tuple(VARIANTS)

LEARNING_RATE = number(0, 1e6, low_open=True)
HASHED = ("phases", "batch_size", "weight_decay", "momentum", "seed", "precision")
QUICK_TRAIN, QUICK_TEST = 2000, 500
COURSE_RUN = "cifar"  # the course schedule on the declared seed


@dataclass(frozen=True)
class Cell:
    """Which schedule on which seed a run of this exercise is; its name says it (`cell_of`)."""

    seed: int | None = None  # cifar.seed<N>: the course schedule on another seed
    variant: str | None = None  # cifar.<variant>: a named schedule on the declared seed

    @property
    def suffix(self) -> str:
        """What follows "cifar." in its run's name ("" for the course run)."""
        return f"seed{self.seed}" if self.seed is not None else self.variant or ""

    @property
    def run(self) -> str:
        return f"{COURSE_RUN}.{self.suffix}" if self.suffix else COURSE_RUN


def cell_of(run: str) -> Cell:
    """The one reading of a run's name: cifar, cifar.seed<N>, cifar.<variant>."""
    suffix = run.removeprefix(COURSE_RUN).removeprefix(".")
    if suffix.startswith("seed") and suffix[4:].isdigit():
        return Cell(seed=int(suffix[4:]))
    return Cell(variant=suffix or None)


class Cifar(Exercise):
    name = "cifar"
    report = "lab.exercises.cifar.report"
    runs = {COURSE_RUN: "lab.exercises.cifar.train:run"}
    needs_data = True
    data_label = "CIFAR-10 data"
    input_files = ("data",)  # the archive or folder: a Ray node without it gets the driver's copy
    node_folders = ("cache_dir",)  # the decoded data set: a node that cannot write the driver's path keeps its own
    schema = {
        "phases": listof({"lr": LEARNING_RATE, "epochs": integer(1, 1000)}, 1, 10),
        "batch_size": integer(1, 8192),
        "weight_decay": number(0, 1),
        "momentum": number(0, 0.999),
        "data": text(),
        "download": Rule(bool),
        "seed": integer(0, 2**32 - 1),
        "precision": text(
            "auto",
            "fp32",
            "bf16",
            help="Exercise 2's numerics; auto is bf16 where the hardware has it, fp16 on older GPUs.",
        ),
        "train_subset": integer(10, 50_000, optional=True),
        "test_subset": integer(10, 10_000, optional=True),
        "seeds": listof(integer(0, 2**32 - 1), 1, 50, optional=True),
        "variants": listof(text(*VARIANT_NAMES), 1, len(VARIANT_NAMES), optional=True),
    }

    def declared_runs(self, section: dict) -> dict[str, str]:
        """cifar (the course schedule, `seed`), cifar.seed<N> for each other seed in `seeds`,
        cifar.<variant> for each named variant (on `seed`)."""
        cells = [Cell(), *(Cell(seed=seed) for seed in extra_seeds(section))]
        cells += [Cell(variant=variant) for variant in section.get("variants") or []]
        return dict.fromkeys((cell.run for cell in cells), self.runs[COURSE_RUN])

    def scale_down(self, section: dict) -> dict:
        return {
            **section,
            "phases": [{**phase, "epochs": 1} for phase in section["phases"]],
            "train_subset": min(section.get("train_subset") or QUICK_TRAIN, QUICK_TRAIN),
            "test_subset": min(section.get("test_subset") or QUICK_TEST, QUICK_TEST),
        }

    def prepare(self, section: dict, inputs: Inputs, progress: Progress) -> dict:
        """Find, check and (the first time) decode CIFAR-10; its checksum keys the run."""
        from lab.exercises.cifar import data

        options = self.options(section, inputs)
        fingerprint = data.preflight(options["data"], options["cache_dir"], options["download"], progress=progress)
        return {"data_fingerprint": fingerprint}

    def params(self, run: str, section: dict, quick: bool, data_fingerprint: str = "") -> dict:
        course = {
            **{key: section[key] for key in HASHED},
            "data_fingerprint": data_fingerprint,
            "train_subset": section.get("train_subset"),
            "test_subset": section.get("test_subset"),
            "quick": quick,
        }
        cell = cell_of(run)
        if cell.seed is not None:
            return {**course, "seed": cell.seed}
        if cell.variant is not None:
            return {**course, **variant_params(cell.variant, section), "variant": cell.variant}
        return course

    def options(self, section: dict, inputs: Inputs) -> dict:
        return {
            "data": inputs.data or str(inputs.resolve(section["data"])),
            "download": section["download"] and inputs.download,
            "cache_dir": str(inputs.cache_dir),
        }

    def stand_in(self, store, run: str, section: dict, quick: bool):
        """With the data gone, a finished run with the same settings still renders."""
        wanted = self.params(run, section, quick)
        wanted.pop("data_fingerprint")
        for found in store.finished([run]):
            params = dict(found.params)
            params.pop("data_fingerprint", None)
            if params == wanted:
                return found
        return None


def extra_seeds(section: dict) -> list[int]:
    """The seeds in `seeds` besides `seed` (whose run is cifar itself), in order."""
    return [seed for seed in dict.fromkeys(section.get("seeds") or []) if seed != section["seed"]]


EXERCISE = Cifar()
