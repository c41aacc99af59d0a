"""Save-to-page time of `labreport preview`: edit the report template, time until the new text is there.

    flock /tmp/cpu.lock python bench/preview.py                       # a tiny lab with finished runs, made here
    flock /tmp/cpu.lock python bench/preview.py --lab DIR -- --quick  # a lab folder of yours; after --: preview's options

Starts `labreport preview --no-browser --port 0` in the lab folder (as a user does, its own
process), then edits the lab's copy of templates/report.html.j2 (copied there if missing,
removed afterwards) `--repeat` times in each of two ways:
- served: until the preview's event stream announces the render and GET / carries the new title;
- browser: until the page open in headless Chromium (Debian's, driven by Playwright) shows it,
  updated in place: the whole loop a student sees (skipped without Chromium or Playwright).
Prints the median and range of each, the render times the preview reports, the page count,
the CPU model and the load average before and after (other work on the machine slows it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from everyday import editable_template, prepare_tiny_lab  # noqa: E402

from lab.core.environment import cpu_model  # noqa: E402

TITLE = re.compile(r'<h1 class="title">\{\{ title \}\}[^<]*</h1>')
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
CHROMIUM_ARGS += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]


def start_preview(lab: Path, options: list[str]) -> tuple[subprocess.Popen, str, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "preview", "--no-browser", "--port", "0", *options],
        cwd=lab,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("preview: "):
            return process, line.split()[1], lines
    sys.exit(f"labreport preview ended ({process.wait()}):\n{''.join(lines)}")


def retitle(template: Path, text: str) -> None:
    source = template.read_text(encoding="utf-8")
    template.write_text(TITLE.sub(f'<h1 class="title">{{{{ title }}}}{text}</h1>', source, count=1), encoding="utf-8")


def served(url: str, template: Path, repeat: int) -> list[float]:
    times = []
    with urllib.request.urlopen(url + "_preview/events", timeout=60) as events:
        next_event(events)  # the current version
        for i in range(repeat):
            marker = f" served-edit-{i}"
            started = time.perf_counter()
            retitle(template, marker)
            while True:
                next_event(events)
                with urllib.request.urlopen(url, timeout=60) as page:
                    if marker + "</h1>" in page.read().decode("utf-8"):
                        break
            times.append(time.perf_counter() - started)
    return times


def next_event(events) -> None:
    for raw in events:
        if raw.startswith(b"data: "):
            return
    sys.exit("the preview's event stream ended")


def in_browser(url: str, template: Path, repeat: int) -> tuple[list[float], int] | None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(chromium).exists():
        return None
    times = []
    with sync_playwright() as driver, tempfile.TemporaryDirectory() as profile:
        context = driver.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1000, "height": 1200},
        )
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("document.documentElement.dataset.previewVersion !== undefined", timeout=120_000)
        for i in range(repeat):
            marker = f" browser-edit-{i}"
            started = time.perf_counter()
            retitle(template, marker)
            page.wait_for_function(
                "m => (document.querySelector('.lr-book h1.title') || {}).textContent?.endsWith(m)", arg=marker
            )
            times.append(time.perf_counter() - started)
        pages = page.evaluate("document.querySelectorAll('.lr-page').length")
        context.close()
    return times, pages


def summary(label: str, times: list[float]) -> str:
    return (
        f"{label:<34} median {statistics.median(times):5.2f} s   min {min(times):5.2f} s   "
        f"max {max(times):5.2f} s   ({len(times)} edits)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", type=Path, help="a lab folder whose runs are finished (default: a tiny one made here)")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("options", nargs="*", help="after --: labreport preview's options (--quick, --lang en, …)")
    args = parser.parse_args()

    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical cores), Python {sys.version.split()[0]}")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="preview-bench-") as scratch:
        lab = args.lab.resolve() if args.lab else prepare_tiny_lab(Path(scratch))
        template, copied = editable_template(lab)
        original = template.read_text(encoding="utf-8")
        process, url, lines = start_preview(lab, args.options)
        print(f"lab: {lab}  preview options: {' '.join(args.options) or '(none)'}")
        print("".join(lines), end="", flush=True)
        try:
            print(summary("served (GET / has the new title)", served(url, template, args.repeat)), flush=True)
            browser = in_browser(url, template, args.repeat)
            if browser is None:
                print("browser: skipped (needs Debian's chromium and playwright)")
            else:
                print(summary(f"browser ({browser[1]} pages, updated)", browser[0]))
        finally:
            process.terminate()
            output = process.communicate()[0]
            template.write_text(original, encoding="utf-8")
            for path in copied:
                path.unlink()
    renders = [float(s) for s in re.findall(r"rendered in ([\d.]+) s \((?!first)", output)]
    if renders:
        print(f"{'render step (the preview says)':<34} median {statistics.median(renders):5.2f} s   ({len(renders)})")
    after = os.getloadavg()
    print(f"load average (1, 5, 15 min): before {json.dumps(rounded(load_before))}, after {json.dumps(rounded(after))}")


def rounded(values) -> list[float]:
    return [round(value, 2) for value in values]


if __name__ == "__main__":
    main()
