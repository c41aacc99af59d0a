"""Wall time of the commands a student repeats: --help, list, build --no-run after a template edit.

    flock /tmp/cpu.lock python bench/everyday.py            # prepares a tiny lab with finished runs
    flock /tmp/cpu.lock python bench/everyday.py --lab DIR  # a lab folder of yours (runs finished)

Each command runs as a user runs it (a fresh `python -m lab` process in the lab folder, what
the `labreport` command starts); before every timed build the lab's copy of the report
template is edited, so the build re-renders while the figures come from the cache.
Prints median and minimum over the repetitions, and the CPU model.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.core.environment import cpu_model  # noqa: E402


def labreport(lab: Path, *args: str) -> float:
    """Run the command in `lab`; its wall time in seconds (it must succeed)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120"}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "lab", *args], cwd=lab, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"labreport {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return seconds


def prepare_tiny_lab(folder: Path) -> Path:
    """The tests' tiny lab, every run finished (about a minute on 2 cores)."""
    from lab.exercises.cifar.data.synthetic import make_tiny_cifar

    tiny = REPO / "tests" / "fixtures" / "tiny.toml"
    (folder / "lab13.toml").write_text(tiny.read_text(encoding="utf-8"), encoding="utf-8")
    make_tiny_cifar(folder / "data", "pickle", n_per_class=6)
    print("preparing a tiny lab with finished runs ...", flush=True)
    labreport(folder, "run")
    return folder


def editable_template(lab: Path) -> tuple[Path, list[Path]]:
    """The lab's own copy of the report template (as the README's Restyling section says),
    and the files copied to make it (removed afterwards)."""
    template = lab / "templates" / "report.html.j2"
    copied = []
    if not template.exists():
        template.parent.mkdir(exist_ok=True)
        for name in ("report.html.j2", "report.css"):
            if not (template.parent / name).exists():
                copied.append(Path(shutil.copy(REPO / "templates" / name, template.parent / name)))
    return template, copied


def build_after_edit(lab: Path, template: Path, lang: str, out: Path, repetition: int) -> float:
    with template.open("a", encoding="utf-8") as file:
        file.write(f"\n<!-- everyday bench: edit {repetition} -->\n")
    return labreport(lab, "build", "--no-run", "--lang", lang, "--out", str(out))


def report(label: str, times: list[float]) -> None:
    print(
        f"{label:<44} median {statistics.median(times):6.2f} s   min {min(times):6.2f} s   ({len(times)} runs)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", type=Path, help="a lab folder whose runs are finished (default: a tiny one made here)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical cores), Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="everyday-") as scratch:
        lab = args.lab.resolve() if args.lab else prepare_tiny_lab(Path(scratch))
        template, copied = editable_template(lab)
        original = template.read_text(encoding="utf-8")
        out = Path(scratch) / "out"
        out.mkdir()
        try:
            for lang in ("en", "zh"):  # once untimed: fills the figure cache, compiles bytecode
                labreport(lab, "build", "--no-run", "--lang", lang, "--out", str(out / f"{lang}.pdf"))
            report("labreport --help", [labreport(lab, "--help") for _ in range(args.repeat)])
            report("labreport --version", [labreport(lab, "--version") for _ in range(args.repeat)])
            report("labreport list", [labreport(lab, "list") for _ in range(args.repeat)])
            for lang in ("en", "zh"):
                report(
                    f"build --no-run --lang {lang} (template edited)",
                    [build_after_edit(lab, template, lang, out / f"{lang}.pdf", i) for i in range(args.repeat)],
                )
        finally:
            template.write_text(original, encoding="utf-8")
            for path in copied:
                path.unlink()


if __name__ == "__main__":
    main()
