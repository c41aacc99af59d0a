"""How long rendering the report takes: figures, HTML and PDF, cold and from cached figures.

    python bench/render.py                     # fixture runs (tests/fixtures/)
    python bench/render.py reports/runs        # the latest finished run of each name in a store
    python bench/render.py --lang en --repeat 3

Rendering never trains: with a store, only finished runs are used, and a missing one
shows up in the report as missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.core.api import load_lab  # noqa: E402
from lab.core.store import FINISHED, LoadedRun  # noqa: E402
from lab.report.build import build_report  # noqa: E402
from tests.fixtures import fixture_declaration, write_fixture_store  # noqa: E402


def latest_runs(store: Path) -> dict:
    """The most recently finished run of each name in a store folder (the lab's runs and any sweep's)."""
    runs = {}
    names = [run for exercise in load_lab().loaded() for run in exercise.runs]
    names += sorted(
        p.name for p in store.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in names
    )
    for name in names:
        found = []
        for record_path in (store / name).glob("*/record.json"):
            record = json.loads(record_path.read_text(encoding="utf-8"))
            if record.get("status") in FINISHED:
                found.append((record.get("finished", ""), record_path.parent, record))
        if found:
            _, folder, record = max(found, key=lambda item: item[0])
            runs[name] = LoadedRun(name, folder.name, record.get("params", {}), folder, record)
        else:
            runs[name] = None
    return runs


def render_once(runs: dict, work: Path, lang: str, cache: Path) -> dict:
    decl = fixture_declaration(work / "decl", lang)
    timings: dict = {}
    started = time.perf_counter()
    build_report(decl, runs, work / "out" / f"lab13-{lang}.pdf", lang=lang, timings=timings, figure_cache=cache)
    timings["total"] = time.perf_counter() - started
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", nargs="?", type=Path, help="a run store (default: write fixture runs)")
    parser.add_argument("--lang", default="zh", choices=["zh", "en"])
    parser.add_argument("--repeat", type=int, default=2, help="renders from cached figures after the cold one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs = latest_runs(args.store) if args.store else write_fixture_store(work / "store")
        cache = work / "figure-cache"
        print(f"runs: {', '.join(n for n, r in runs.items() if r)}; lang {args.lang}")
        for attempt in range(1 + args.repeat):
            t = render_once(runs, work, args.lang, cache)
            label = "cold (draw figures)" if attempt == 0 else "cached figures"
            print(
                f"{label:>20}: figures {t['figures']:5.2f} s  html {t['html']:5.2f} s  "
                f"pdf {t['pdf']:5.2f} s  total {t['total']:5.2f} s"
            )


if __name__ == "__main__":
    main()
