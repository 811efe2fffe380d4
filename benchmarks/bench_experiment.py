"""Time a small leave-one-out `deepmir experiment`, and the share of it spent preparing cases.

Each timed run is a fresh process with an empty --out folder (so a run that caches its
prepared cases inside --out starts cold, as a user's first run does). Medians over --runs.
One more run under cProfile counts the preparation calls and the seconds spent in them.

    deepmir simulate --n 4 --seed 41 --slab 16 --load dense --out /tmp/loo/cohort
    python benchmarks/bench_experiment.py --data /tmp/loo/cohort --runs 3
"""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_predict import cpu_name, timed_deepmir

EXPERIMENT = ["--folds", "loo", "--modalities", "swi", "swi+qsm+t2", "--epochs", "1", "--width", "8",
              "--crop", "64", "--copies", "1", "--threads", "1"]
# preparation of the training cases: training.prepare_case per fold and modality set (before
# the cache), casecache.prepare_arrays once per case and read_entry / write_entry (with it);
# prepare_participant and register_rigid also count the test participants' preparation
PREPARATION = {"prepare_case", "prepare_arrays", "read_entry", "write_entry", "file_digest", "prepare_participant",
               "register_rigid", "stack_modalities"}


def profile_once(data: Path, out: Path) -> None:
    profile = out.parent / "experiment.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "DeepMIRLib.cli", "experiment",
               "--data", str(data), "--out", str(out), *EXPERIMENT]
    subprocess.run(command, check=True, capture_output=True)
    stats = pstats.Stats(str(profile))
    print("| function | calls | cumulative seconds |")
    print("| --- | --- | --- |")
    for (filename, _, name), (_, calls, _, cumulative, _) in sorted(stats.stats.items(), key=lambda item: -item[1][3]):
        if name in PREPARATION and "DeepMIRLib" in filename:
            print(f"| {Path(filename).stem}.{name} | {calls} | {cumulative:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="cohort made by deepmir simulate")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    print(f"deepmir experiment --data {args.data} --out OUT {' '.join(EXPERIMENT)}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        timings = []
        for _ in range(args.runs):
            shutil.rmtree(out, ignore_errors=True)
            timings.append(timed_deepmir(["experiment", "--data", str(args.data), "--out", str(out), *EXPERIMENT]))
            print(f"run: {timings[-1][0]:.1f} s, {timings[-1][1]:.2f} GB", flush=True)
        seconds = [t for t, _ in timings]
        memory = [m for _, m in timings]
        print(f"median wall time {statistics.median(seconds):.1f} s (min-max {min(seconds):.1f}-{max(seconds):.1f}), "
              f"median peak memory {statistics.median(memory):.2f} GB, {args.runs} runs")
        shutil.rmtree(out, ignore_errors=True)
        profile_once(args.data, out)


if __name__ == "__main__":
    main()
