"""Time `deepmir simulate` for one participant: full size and the fast slab mode.

Each run is a fresh process (`/usr/bin/time -v` for peak memory), so the MNI template is
loaded every time, as it is for a user's first participant. Medians over --runs.

    python benchmarks/bench_simulate.py --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_predict import cpu_name, timed_deepmir


def run_once(out: Path, extra: list[str]) -> tuple[float, float]:
    return timed_deepmir(["simulate", "--n", "1", "--seed", "1", "--out", str(out), "--overwrite", *extra])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {cpu_name()}")
    print("| mode | grid | median wall time (s) | min-max (s) | median peak memory (GB) | runs |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for mode, extra, grid in (("full size", [], "192 x 256 x 104"), ("slab (--slab 16)", ["--slab", "16"], "192 x 256 x 16")):
            timings = [run_once(Path(tmp), extra) for _ in range(args.runs)]
            seconds = [t for t, _ in timings]
            memory = [m for _, m in timings]
            print(f"| {mode} | {grid} | {statistics.median(seconds):.1f} | {min(seconds):.1f}-{max(seconds):.1f} | {statistics.median(memory):.2f} | {args.runs} |", flush=True)


if __name__ == "__main__":
    main()
