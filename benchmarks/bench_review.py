"""Time the reading station as a reader sees it, in headless Chromium: `deepmir review`.

For each run a fresh server (`deepmir review COHORT --datastore ... --port 0`) and a fresh
browser; measured from the browser's side (selenium polling every 50 ms):
- page to first image: from asking for the page until the SWI axial view shows an image;
- case to first image: from the click on the second case of the worklist until that view
  shows the second case's image;
- detection: from the click on "Run detection" until the page's lesion table shows a row per
  lesion found (the background worker: model loading, alignment, inference; then the segments);
- server memory: resident memory (VmRSS) of the server process with the second case open,
  before and after its detection, and its peak (VmHWM); the worker is a separate process.
Medians over the runs. The cohort: two simulated participants (`deepmir simulate --n 2
--seed 41`, full size by default, `--slab N` for N slices), made once in a temporary folder
or given with --cohort.

    python benchmarks/bench_review.py --runs 3
    python benchmarks/bench_review.py --runs 3 --slab 16
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Testing" / "Python"))

from review_helpers import Page, ReviewServer, chromium_driver, is_blank

SWI_VIEW = "SWI_axial"


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def image_digest(page: Page) -> tuple[str, bool]:
    pixels = page.view_pixels(SWI_VIEW)
    return hashlib.sha1(pixels.tobytes()).hexdigest(), is_blank(pixels)


def table_rows(page: Page) -> int:
    """Rows the lesion table shows."""
    return page.driver.execute_script("return document.querySelectorAll('#lesion-table tbody tr').length")


def one_run(cohort: Path, scratch: Path) -> dict[str, float]:
    server = ReviewServer(cohort, scratch / "trainingset")
    driver = chromium_driver()
    page = Page(driver, timeout=600)
    try:
        start = time.perf_counter()
        driver.get(server.url)
        page.wait(lambda: page.state("phase") == "open" and not image_digest(page)[1], "the first image", poll=0.05)
        first_image = time.perf_counter() - start
        cases = page.state("cases")
        before = image_digest(page)[0]
        page.element(f"case-{cases[1]['id']}")
        start = time.perf_counter()
        page.click(f"case-{cases[1]['id']}")
        page.wait(lambda: page.state("case_id") == cases[1]["id"] and page.state("phase") == "open"
                  and image_digest(page)[0] != before, "the second case's image", poll=0.05)
        case_image = time.perf_counter() - start
        open_memory = memory_mb(server.process.pid)
        start = time.perf_counter()
        page.click("run-detection")
        page.wait(lambda: page.state("phase") == "detected" and table_rows(page) == len(page.state("lesions")) > 0,
                  "the detection", timeout=900, poll=0.05)
        detection = time.perf_counter() - start
        detected_memory = memory_mb(server.process.pid)
    finally:
        driver.quit()
        server.stop()
    return {"first_image_s": first_image, "case_image_s": case_image, "detection_s": detection,
            "rss_open_mb": open_memory["VmRSS"], "rss_detected_mb": detected_memory["VmRSS"], "peak_mb": detected_memory["VmHWM"]}


def make_cohort(folder: Path, slab: int) -> Path:
    command = [sys.executable, "-m", "DeepMIRLib.cli", "simulate", "--n", "2", "--seed", "41", "--out", str(folder)]
    if slab:
        command += ["--slab", str(slab)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slab", type=int, default=0, help="simulate slab participants of this many slices (default: full size)")
    parser.add_argument("--cohort", type=Path, help="an existing cohort of at least two participants")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        cohort = args.cohort or make_cohort(scratch / "cohort", args.slab)
        results = []
        for run in range(args.runs):
            run_folder = scratch / f"run{run}"
            run_folder.mkdir()
            results.append(one_run(cohort.resolve(), run_folder))
            print(f"run {run + 1}: " + ", ".join(f"{key} {value:.2f}" for key, value in results[-1].items()), flush=True)
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    for key in results[0]:
        values = [result[key] for result in results]
        print(f"{key}: median {statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f}, {len(values)} runs)")


if __name__ == "__main__":
    main()
