"""Time the U-Net alone (inference.predict_probabilities) on one prepared participant, in one
process, for several runtimes in turn, round by round (sessions opened and compiled before
timing), with the load average before each round. Reading, registration, the second stage and
start-up are left out: bench_predict.py and bench_cohort.py time those.

    python benchmarks/bench_network.py --model default --participant heldout-200/sim-200-0000 --rounds 5 \\
        --runtimes onnxruntime onnxruntime-int8 openvino openvino-f32
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from DeepMIRLib.inference import predict_probabilities
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.pipeline import participant_from_folder, prepare_participant
from DeepMIRLib.preprocessing import stack_modalities

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_predict import load_average_1min


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--participant", type=Path, required=True, help="a participant folder (swi, qsm, t2, brainmask)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runtimes", nargs="+", default=["onnxruntime", "onnxruntime-int8"])
    args = parser.parse_args()
    model = load_model(args.model)
    prepared = prepare_participant(participant_from_folder(args.participant), model.card.inputs)
    stack = stack_modalities(prepared.canonical, model.card.inputs, prepared.mask)
    for runtime in args.runtimes:  # open the sessions, compile, export
        predict_probabilities(model, stack, prepared.mask, "cpu", runtime=runtime)
    times: dict[str, list[tuple[float, str]]] = {runtime: [] for runtime in args.runtimes}
    for index in range(args.rounds):
        for runtime in args.runtimes if index % 2 == 0 else args.runtimes[::-1]:
            load = load_average_1min()
            start = time.perf_counter()
            predict_probabilities(model, stack, prepared.mask, "cpu", runtime=runtime)
            times[runtime].append((time.perf_counter() - start, load))
    print("| runtime | median (s) | min-max (s) | load average before each round |")
    print("| --- | --- | --- | --- |")
    for runtime, runs in times.items():
        seconds = [s for s, _ in runs]
        print(f"| {runtime} | {statistics.median(seconds):.2f} | {min(seconds):.2f}-{max(seconds):.2f} | {', '.join(l for _, l in runs)} |")


if __name__ == "__main__":
    main()
