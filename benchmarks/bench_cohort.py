"""Participants per hour of `deepmir predict --input COHORT`: serial, and on a Dask
LocalCluster of 2 workers.

The cohort is N copies (symbolic links) of bench_predict.py's participant: the tests'
simulated anatomy on a 192 x 256 x 120 grid of 1 x 1 x 1.5 mm, SWI, QSM, T2 (on its own
1 mm grid, so registered) and a brain mask. The model is the bundled default (multi-class,
SWI + QSM + T2, base width 16) unless --model is given. Each run is a fresh `deepmir predict`
process into an empty output folder, timed from outside (wall clock, peak resident memory of
the main process from /usr/bin/time -v; the Dask workers are separate processes). The load
average (/proc/loadavg) is printed before every run: on a shared machine it says how much
of the CPU the run had.

    python benchmarks/bench_cohort.py --participants 6 --runs 2
    python benchmarks/bench_cohort.py --participants 6 --runs 2 --runtime torch
    python benchmarks/bench_cohort.py --participants 6 --runs 2 --runtime openvino   # bf16 where the CPU has it
    python benchmarks/bench_cohort.py --participants 6 --runs 3 --modes serial --model QUANTIZED.json --runtime onnxruntime onnxruntime-int8

Several runtimes are run in turn, run by run, so that they share the machine's load; the
onnxruntime-int8 runtime needs a --model with an int8 file (`deepmir quantize`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_predict import cpu_name, make_participant, runtime_versions, timed_deepmir


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def make_cohort(folder: Path, participants: int) -> Path:
    source = folder / "source"
    make_participant(source)
    cohort = folder / "cohort"
    for index in range(participants):
        member = cohort / f"sub-{index:03d}"
        member.mkdir(parents=True)
        for image in source.iterdir():
            (member / image.name).symlink_to(image)
    return cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=6)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--model", default="default")
    parser.add_argument("--runtime", nargs="+", default=["auto"],
                        help="passed to deepmir predict (auto, torch, onnxruntime, onnxruntime-int8, openvino, openvino-f32); "
                             "several are run in turn")
    parser.add_argument("--modes", nargs="+", default=["serial", "workers2"], choices=("serial", "workers2"))
    args = parser.parse_args()
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; {args.participants} participants; model {args.model}; "
          f"runtime {', '.join(args.runtime)} ({runtime_versions(args.runtime)})")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cohort = make_cohort(tmp, args.participants)
        print("| mode | runtime | load average before | wall time (s) | s per participant | participants per hour | peak memory, main process (GB) |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        results: dict[tuple[str, str], list[float]] = {}
        for run in range(args.runs):
            for mode in args.modes:
                for runtime in args.runtime:
                    out = tmp / f"out-{mode}-{runtime}-{run}"
                    extra = ["--workers", "2"] if mode == "workers2" else []
                    load = load_average()
                    seconds, memory = timed_deepmir(["predict", "--model", args.model, "--input", str(cohort), "--out", str(out),
                                                     "--device", "cpu", "--runtime", runtime, *extra])
                    results.setdefault((mode, runtime), []).append(seconds)
                    print(f"| {mode} | {runtime} | {load} | {seconds:.1f} | {seconds / args.participants:.2f} | "
                          f"{3600 * args.participants / seconds:.0f} | {memory:.2f} |", flush=True)
        for (mode, runtime), seconds in results.items():
            median = statistics.median(seconds)
            print(f"{mode} {runtime}: median {median:.1f} s, {3600 * args.participants / median:.0f} participants per hour")


if __name__ == "__main__":
    main()
