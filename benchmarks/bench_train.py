"""Training throughput: augmented slices per second of `Trainer.train_epoch` (forward, loss,
backward, step) for the default configuration, on simulated slab participants.

    python benchmarks/bench_train.py --width 16 --crop 128 --runs 3 [--threads 1] [--device cuda]

--threads sets PyTorch's CPU threads (default: its own choice, one per core); --busy N keeps
N other processes spinning on the CPU during the timed epochs, as on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_predict import cpu_name

from DeepMIRLib.simulation.phantom import Protocol, simulate_cohort
from DeepMIRLib.simulation.placement import LesionLoad
from DeepMIRLib.training import Trainer, TrainingConfig, epoch_samples, find_training_cases, prepare_case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes running beside the benchmark")
    args = parser.parse_args()
    import numpy as np
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        simulate_cohort(3, 77, Path(tmp), Protocol(slab_slices=24), LesionLoad.named("dense"))
        config = TrainingConfig(base_width=args.width, crop=args.crop, batch_size=args.batch_size, device=args.device, copies=2)
        cases = [prepare_case(c, list(config.inputs), config.task) for c in find_training_cases(tmp)]
        trainer = Trainer(config, cases, [])
        slices = len(epoch_samples(cases, np.random.default_rng([config.seed, 0]), config.copies))
        trainer.train_epoch(0)  # warm-up
        rates = []
        spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
        try:
            for run in range(args.runs):
                start = time.perf_counter()
                trainer.train_epoch(run + 1)
                if trainer.device.type == "cuda":
                    torch.cuda.synchronize()
                rates.append(slices / (time.perf_counter() - start))
        finally:
            for spinner in spinners:
                spinner.kill()
    print(f"machine: {cpu_name()}, device {trainer.device}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"width {args.width}, crop {args.crop}, batch {args.batch_size}, {args.busy} busy processes beside: median {statistics.median(rates):.1f} slices/s "
          f"(runs: {', '.join(f'{r:.1f}' for r in rates)}; {slices} slices per epoch)")


if __name__ == "__main__":
    main()
