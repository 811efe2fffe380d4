"""Where the time of one participant goes: wall and CPU seconds per stage of `deepmir predict`,
in one process, on bench_predict.py's participant (192 x 256 x 120, SWI, QSM, T2 on its own
grid so that it is registered, brain mask) and its untrained width-16 multi-class model, or
another (--model default: the bundled one).

CPU seconds (this process, all its threads) say what a stage costs whatever else runs on the
machine; wall seconds on a shared machine depend on the other jobs (the load average is printed).
The network runs twice: the first call includes opening the ONNX Runtime session (and, the very
first time, exporting the model), the second is what every further participant of a cohort pays;
so does a model's second stage (candidates, patches and the 3-D classifier).
torch is not imported up front: a stage that needs it (PyTorch inference, the ONNX export) pays
for its import, and the last line says whether anything did.

    python benchmarks/bench_stages.py --runtime onnxruntime
    python benchmarks/bench_stages.py --runtime torch
    python benchmarks/bench_stages.py --model default
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START = (time.perf_counter(), time.process_time())
sys.path.insert(0, str(Path(__file__).resolve().parent))


class Stages:
    def __init__(self):
        self.last = START
        self.rows: list[tuple[str, float, float]] = []

    def mark(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.rows.append((name, now[0] - self.last[0], now[1] - self.last[1]))
        self.last = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtime", default="auto", help="auto, torch or onnxruntime")
    parser.add_argument("--model", default="untrained", help="'untrained' (bench_predict's width-16 model) or a model path or registry id, "
                                                              "e.g. default (whose calibrated minimum probability removes lesions)")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)  # internal: write participant and model there
    args = parser.parse_args()
    if args.make:
        from bench_predict import make_model, make_participant

        make_participant(args.make / "sub-bench")
        make_model(args.make, 16)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # made in another process, so that this one has imported nothing yet
        subprocess.run([sys.executable, __file__, "--make", str(folder)], check=True)
        model_path = folder / "bench-w16.json"
        stages = Stages()
        stages.last = (time.perf_counter(), time.process_time())
        import numpy  # noqa: F401
        import SimpleITK  # noqa: F401
        stages.mark("import numpy, SimpleITK")
        from DeepMIRLib import inference, pipeline, preprocessing, results, volumes
        from DeepMIRLib.modelfile import load_model
        stages.mark("import DeepMIRLib (scipy, nibabel, ...)")
        model = load_model(model_path if args.model == "untrained" else args.model)
        stages.mark("load the model")
        images = {name: volumes.read_volume(folder / "sub-bench" / f"{name}.nii.gz") for name in ("swi", "qsm", "t2", "brainmask")}
        stages.mark("read 4 NIfTI files")
        t2 = pipeline._onto_swi_grid("t2", images["t2"], images["swi"], "auto", False, [])
        stages.mark("register T2 to SWI, resample")
        participant = pipeline.ParticipantVolumes("bench", images["swi"], images["qsm"], t2, images["brainmask"])
        prepared = pipeline.prepare_participant(participant, ["swi", "qsm", "t2"])
        stages.mark("checks, mask, canonical orientation")
        stack = preprocessing.stack_modalities(prepared.canonical, model.card.inputs, prepared.mask)
        stages.mark("normalise, stack")
        for call in ("first", "second"):
            probabilities = inference.predict_probabilities(model, stack, prepared.mask, "cpu", 8, "auto", runtime=args.runtime)
            stages.mark(f"network, {call} call")
        if model.has_second_stage:
            labels = inference.labels_from_probabilities(probabilities, [c.label for c in model.card.lesion_classes])
            for call in ("first", "second"):
                for index in range(len(model.card.second_stages)):
                    pipeline._second_stage(model, index, stack, labels, probabilities, 1, "cpu", args.runtime)
                stages.mark(f"second stage, {call} call")
        inputs = pipeline.participant_from_folder(folder / "sub-bench")
        detection = pipeline.detect(inputs, model, device="cpu", runtime=args.runtime)
        stages.mark("whole detect again (a warm cohort's next participant)")
        results.write_detection(detection, folder / "out")
        stages.mark("write the outputs")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"runtime {args.runtime}; model {args.model}; load average after the run {load}; torch imported: {'torch' in sys.modules}")
    print("| stage | wall (s) | CPU (s) |")
    print("| --- | --- | --- |")
    for name, wall, cpu in stages.rows:
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    print(f"| total | {sum(row[1] for row in stages.rows):.2f} | {sum(row[2] for row in stages.rows):.2f} |")


if __name__ == "__main__":
    main()
