"""Participants per hour of `deepmir predict --input COHORT`: serial, and on a Dask
LocalCluster of 2 workers.

The cohort is N copies (symbolic links) of bench_predict.py's participant: the tests'
simulated anatomy on a 192 x 256 x 120 grid of 1 x 1 x 1.5 mm, SWI, QSM, T2 (on its own
1 mm grid, so registered) and a brain mask. The model is the bundled default (multi-class,
SWI + QSM + T2, base width 16) unless --model is given. Each run is a fresh `deepmir predict`
process into an empty output folder, timed from outside: wall clock, peak resident memory of
the main process (/usr/bin/time -v), and the peak of the summed resident memory of the main
process and all its descendants, the Dask workers included (psutil, sampled every 0.1 s). The
load average (/proc/loadavg) is printed before every run: on a shared machine it says how much
of the CPU the run had. With several cohort sizes (--participants 6 18) the last lines also
give what each further participant costs in a warm run: the difference of the median wall
times over the difference of the sizes, so that start-up (the process, the model, the Dask
cluster) drops out.

    python benchmarks/bench_cohort.py --participants 6 --runs 2
    python benchmarks/bench_cohort.py --participants 6 18 --runs 3 --runtime onnxruntime-int8
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
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_predict import cpu_name, make_participant, peak_memory_gb, runtime_versions, timed_command


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def make_cohort(source: Path, cohort: Path, participants: int) -> Path:
    """`participants` folders of links to the participant in `source`."""
    for index in range(participants):
        member = cohort / f"sub-{index:03d}"
        member.mkdir(parents=True)
        for image in source.iterdir():
            (member / image.name).symlink_to(image)
    return cohort


def tree_memory(process) -> int:
    """Resident bytes of a psutil process and all its descendants now."""
    import psutil

    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:  # ended between listing and reading
            pass
    return total


def timed_cohort_run(arguments: list[str]) -> tuple[float, float, float]:
    """Wall time (s), peak resident memory of the main process (GB, /usr/bin/time -v) and the
    peak of the summed resident memory of the whole process tree (GB) of one `deepmir ...`."""
    import psutil

    start = time.perf_counter()
    with subprocess.Popen(timed_command(arguments), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as child:
        peak = [0]
        stop = threading.Event()

        def sample() -> None:
            process = psutil.Process(child.pid)
            while not stop.wait(0.1):
                try:
                    peak[0] = max(peak[0], tree_memory(process))
                except psutil.Error:
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        stderr = child.communicate()[1]
        stop.set()
        sampler.join()
    seconds = time.perf_counter() - start
    return seconds, peak_memory_gb(child.returncode, stderr), peak[0] / 1024**3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, nargs="+", default=[6], help="cohort sizes (several: also the cost of each further participant)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--model", default="default")
    parser.add_argument("--runtime", nargs="+", default=["auto"],
                        help="passed to deepmir predict (auto, torch, onnxruntime, onnxruntime-int8, openvino, openvino-f32); "
                             "several are run in turn")
    parser.add_argument("--modes", nargs="+", default=["serial", "workers2"], choices=("serial", "workers2"))
    args = parser.parse_args()
    sizes = sorted(set(args.participants))
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; {', '.join(map(str, sizes))} participants; model {args.model}; "
          f"runtime {', '.join(args.runtime)} ({runtime_versions(args.runtime)})")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_participant(tmp / "source")
        cohorts = {size: make_cohort(tmp / "source", tmp / f"cohort-{size}", size) for size in sizes}
        print("| participants | mode | runtime | load average before | wall time (s) | s per participant | participants per hour "
              "| peak memory, main process (GB) | peak memory, all processes (GB) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        results: dict[tuple[int, str, str], list[float]] = {}
        for run in range(args.runs):
            for size in sizes:
                for mode in args.modes:
                    for runtime in args.runtime:
                        out = tmp / f"out-{size}-{mode}-{runtime}-{run}"
                        extra = ["--workers", "2"] if mode == "workers2" else []
                        load = load_average()
                        seconds, main_memory, all_memory = timed_cohort_run(
                            ["predict", "--model", args.model, "--input", str(cohorts[size]), "--out", str(out), "--device", "cpu",
                             "--runtime", runtime, *extra])
                        results.setdefault((size, mode, runtime), []).append(seconds)
                        print(f"| {size} | {mode} | {runtime} | {load} | {seconds:.1f} | {seconds / size:.2f} | "
                              f"{3600 * size / seconds:.0f} | {main_memory:.2f} | {all_memory:.2f} |", flush=True)
        medians = {key: statistics.median(seconds) for key, seconds in results.items()}
        for (size, mode, runtime), median in medians.items():
            print(f"{size} participants, {mode} {runtime}: median {median:.1f} s, {3600 * size / median:.0f} participants per hour")
        if len(sizes) > 1:
            for mode in args.modes:
                for runtime in args.runtime:
                    further = (medians[sizes[-1], mode, runtime] - medians[sizes[0], mode, runtime]) / (sizes[-1] - sizes[0])
                    print(f"{mode} {runtime}: each further participant {further:.2f} s ({3600 / further:.0f} per hour), "
                          f"from the medians at {sizes[0]} and {sizes[-1]} participants")


if __name__ == "__main__":
    main()
