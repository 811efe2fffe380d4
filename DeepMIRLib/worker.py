"""Background detection for the Slicer module: `python -m DeepMIRLib.worker ...`.

The Slicer module saves the input volumes to a temporary folder and starts this entry point
with PythonSlicer (`slicer_python()`), so that inference never freezes the application:

    python -m DeepMIRLib.worker --swi swi.nii.gz [--qsm qsm.nii.gz] [--t2 t2.nii.gz]
        --model <registry id | model file> --device auto --out <folder>

It calls the same entry point as `deepmir predict` (pipeline.detect, then
results.write_detection) and reports on stdout, one JSON object per line:

    {"event": "progress", "fraction": 0.4, "stage": "inference"}
    {"event": "done", "out": "...", "lesions": [<lesion table rows>], "model": {...}, ...}   exit status 0
    {"event": "error", "message": "...", "kind": "input"}                 exit status 2 (bad input)
    {"event": "error", "message": "...", "kind": "internal"}              exit status 1

The output folder is written all or nothing, so a failed or cancelled run leaves none.
`WorkerProcess` starts the entry point in its own process group, collects its events without
blocking (the module polls it from a QTimer) and cancels it by killing the whole group.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .errors import InputError

if TYPE_CHECKING:
    from .results import Detection

EXIT_OK, EXIT_ERROR, EXIT_INPUT = 0, 1, 2

# where each stage starts on the progress bar; inference advances slice by slice up to the next
STAGE_START = {"loading model": 0.0, "reading and aligning images": 0.02, "inference": 0.15, "writing results": 0.95}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m DeepMIRLib.worker",
        description="Detect microbleeds and iron deposits in one participant, reporting progress as JSON lines (used by the Slicer module).",
    )
    parser.add_argument("--swi", type=Path, required=True, help="SWI image")
    parser.add_argument("--qsm", type=Path, help="QSM image")
    parser.add_argument("--t2", type=Path, help="T2-weighted image")
    parser.add_argument("--mask", type=Path, help="brain mask (computed from SWI when not given)")
    parser.add_argument("--model", default="default", help="registry id or model file (default: the registry's default model)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--id", dest="participant_id", help="participant id (default: the --out folder name)")
    parser.add_argument("--swi-echo-time", type=float, metavar="MS", help="the SWI's echo time in ms (for a second stage that takes it)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (must not exist)")
    return parser


def emit(event: str, stream: TextIO | None = None, **fields: object) -> None:
    """Write one event as a JSON line and flush, so the reader sees it at once."""
    stream = stream or sys.stdout
    stream.write(json.dumps({"event": event, **fields}) + "\n")
    stream.flush()


def run_detection_job(args: argparse.Namespace, report: Callable[..., None] = emit) -> dict:
    """Detect lesions for the parsed arguments, write them to args.out; returns the fields of
    the 'done' event (the lesions as lesion-table rows, the model summary, the notes)."""
    from .pipeline import ParticipantInputs, detect
    from .results import write_detection

    for path in (args.swi, args.qsm, args.t2, args.mask):
        if path is not None and not path.exists():
            raise InputError(path, "file not found")
    if args.out.exists():
        raise InputError(args.out, "output folder already exists (the worker writes a new folder)")

    def stage(name: str) -> None:
        report("progress", fraction=STAGE_START[name], stage=name)

    def progress(done: int, total: int) -> None:
        start, end = STAGE_START["inference"], STAGE_START["writing results"]
        report("progress", fraction=round(start + (end - start) * done / max(total, 1), 4), stage="inference", slices_done=done, slices=total)

    inputs = ParticipantInputs(args.participant_id or args.out.name, args.swi, args.qsm, args.t2, args.mask, args.swi_echo_time)
    detection = detect(inputs, args.model, device=args.device, progress=progress, stage=stage)
    stage("writing results")
    write_detection(detection, args.out)
    return {
        "out": str(args.out),
        "participant": detection.participant_id,
        "lesions": [lesion.row() for lesion in detection.lesions],
        "model": detection.model.to_dict(),
        "notes": detection.notes,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run_detection_job(args)
    except InputError as err:
        emit("error", message=str(err), kind="input")
        return EXIT_INPUT
    except Exception as err:  # noqa: BLE001 (anything else is a bug: report it, with the traceback on stderr)
        traceback.print_exc()
        emit("error", message=f"{type(err).__name__}: {err}", kind="internal")
        return EXIT_ERROR
    emit("done", **result)
    return EXIT_OK


# --- the caller's side (no Qt: the module polls WorkerProcess from a QTimer) ----------------

def slicer_python() -> str:
    """Slicer's PythonSlicer launcher, which sets up Slicer's library paths; Slicer puts it on
    PATH. Inside the Slicer application sys.executable is Slicer itself, so there is no
    fallback: without PythonSlicer the worker cannot run (as in slicer.util._executePythonModule)."""
    import shutil

    path = shutil.which("PythonSlicer")
    if path is None:
        raise RuntimeError("PythonSlicer executable not found: DeepMIR runs its detection with Slicer's PythonSlicer, "
                           "which Slicer puts on PATH; restart Slicer, or reinstall it if this persists")
    return path


def worker_command(swi: Path | str, out: Path | str, model: Path | str = "default", device: str = "auto", qsm: Path | str | None = None,
                   t2: Path | str | None = None, participant_id: str | None = None, python: Path | str | None = None,
                   swi_echo_time_ms: float | None = None) -> list[str]:
    """The worker's command line; `python` defaults to this interpreter (the Slicer module
    passes slicer_python())."""
    command = [python or sys.executable, "-m", "DeepMIRLib.worker", "--swi", str(swi), "--model", str(model), "--device", str(device), "--out", str(out)]
    for option, value in (("--qsm", qsm), ("--t2", t2), ("--id", participant_id), ("--swi-echo-time", swi_echo_time_ms)):
        if value is not None:
            command += [option, str(value)]
    return command


def parse_event(line: str) -> dict:
    """One line of worker output as an event; lines that are not event JSON (library warnings,
    tracebacks) become {"event": "log", "message": line}."""
    text = line.rstrip("\r\n")
    try:
        event = json.loads(text)
    except json.JSONDecodeError:
        return {"event": "log", "message": text}
    if not isinstance(event, dict) or "event" not in event:
        return {"event": "log", "message": text}
    return event


class WorkerProcess:
    """The worker running in its own process group (session on POSIX), read by a thread.

    poll() never blocks: it returns the events that arrived since the last call. cancel() kills
    the whole process tree, since torch may have started helper processes of its own."""

    def __init__(self, command: list[str]):
        self.command = command
        self.process: subprocess.Popen | None = None
        self._events: queue.Queue = queue.Queue()
        self._reader: threading.Thread | None = None
        self.cancelled = False

    def start(self) -> None:
        library_root = str(Path(__file__).resolve().parent.parent)  # the folder holding DeepMIRLib
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (library_root, env.get("PYTHONPATH", "")) if p)
        if os.name == "nt":
            group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW}
        else:
            group = {"start_new_session": True}
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, encoding="utf-8", errors="replace", bufsize=1, cwd=library_root, env=env, **group,
        )
        self._reader = threading.Thread(target=self._read, name="DeepMIR worker output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._events.put(parse_event(line))
        self.process.stdout.close()

    def poll(self) -> list[dict]:
        events = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def finished(self) -> bool:
        """True once the process has exited and all of its output has been read."""
        return self.process is not None and self.process.poll() is not None and not self._reader.is_alive()

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        return code

    def cancel(self) -> None:
        """Kill the worker and everything it started."""
        self.cancelled = True
        if self.running:
            kill_process_tree(self.process)


def kill_process_tree(process: subprocess.Popen) -> None:
    if os.name == "nt":
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(process.pid)], capture_output=True, check=False)
    else:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the group that start_new_session created
        except ProcessLookupError:
            pass
    process.wait()


def read_result(done_event: dict) -> Detection:
    """The `results.Detection` of a finished run: its label map read from the folder the
    'done' event names, its lesions and model from the event itself (the rows of the lesion
    table the worker wrote). Imports neither torch nor the network code."""
    import numpy as np

    from .lesions import Lesion
    from .results import LABELS_FILE, Detection, ModelSummary
    from .volumes import read_volume

    out = Path(done_event["out"])
    labels = read_volume(out / LABELS_FILE, dtype=np.uint8)
    lesions = [Lesion.from_row(row) for row in done_event["lesions"]]
    return Detection(done_event["participant"], labels, {}, lesions, ModelSummary.from_dict(done_event["model"]), list(done_event.get("notes", [])))


if __name__ == "__main__":
    sys.exit(main())
