"""A cohort run: every participant through `pipeline.detect`, one output folder each and one
table (`cohort.tsv`) at the end, serially in this process or as tasks on a Dask cluster.

- A participant is one task: detect, write its folder all-or-nothing
  (`results.write_detection`), return its row of the cohort table. Any exception of one
  participant becomes its row (status "error" and the message) and the others go on,
  unless `stop_on_error`.
- A participant whose folder already holds a result of the same model (name, version,
  weights' sha256) made with the same settings (`pipeline.detection_settings`) is skipped:
  its row is read back from the folder. Rows are always read from the written folder, so a
  run that was killed and run again gives the same table as one that was not.
- Each process loads the model once (`model_for`), whatever number of participants it runs.
- `DaskRunner`: an embedded `distributed.LocalCluster` of N worker processes (one thread
  each), or an existing cluster by its scheduler's address (workers must see the input, the
  output and the model files at the same paths: a shared file system). When a worker dies
  mid-participant, the scheduler runs that task again on another worker; its half-written
  output was only ever a hidden staging folder. Needs the `cohort` extra (dask[distributed]).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_text_atomic
from .classes import BRAIN_MASK, MODALITIES
from .dicomseg import SEG_FILE
from .errors import Cancelled, DeepMIRError, InputError
from .lesions import lesion_counts, read_lesions
from .results import LABELS_FILE, LESION_TABLE_FILE, REPORT_FILE, ModelSummary, probability_file, write_detection
from .volumes import find_image

COHORT_TABLE = "cohort.tsv"


@dataclass(frozen=True)
class DetectionOptions:
    """The options of `pipeline.detect` that a cohort run passes to every participant."""

    device: str = "auto"
    batch_size: int = 8
    canvas: str | tuple[int, int] = "auto"
    threshold: float = 0.5
    min_size: int = 1
    min_probability: float | dict | None = None
    register: str = "auto"
    n4: bool = False
    # the networks' runtime (onnxrt.RUNTIMES); recorded in the settings only on OpenVINO, with its precision
    # (openvinort.settings): the float32 runtimes give the same labels, bfloat16 may not
    runtime: str = "auto"
    stages: int | None = None  # 1 the U-Net alone, 2 with the card's second stage, None: 2 when the card has one

    def check(self) -> None:
        from .pipeline import check_detection_options

        check_detection_options(self.batch_size, self.threshold, self.min_size, self.min_probability)
        if self.runtime != "auto":  # ONNX Runtime or OpenVINO on a GPU, or without its extra: fail before any participant
            from .inference import network_runtime

            network_runtime(self.runtime, self.device)

    def detect_arguments(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ModelRef:
    """A model as workers find it: its card's absolute path and what it must hold."""

    path: str
    summary: ModelSummary

    @classmethod
    def of(cls, model) -> ModelRef:
        return cls(str(Path(model.path).resolve()), model.card.summary())


@dataclass(frozen=True)
class ParticipantTask:
    """One participant of a cohort and where its result goes. `problem`: why it cannot run
    (found while discovering, e.g. a folder with QSM but no SWI); it becomes its error row.
    `file_prefix`: the start of its file names in a BIDS derivatives dataset (sub-01_ses-1)."""

    participant_id: str
    out_dir: Path
    inputs: object | None = None  # pipeline.ParticipantInputs
    problem: InputError | None = None
    file_prefix: str = ""


@dataclass
class Outcome:
    """What became of one participant: 'done' (this run wrote its result), 'skipped' (an earlier
    run's result was there) or 'error'."""

    participant_id: str
    status: str
    row: dict
    notes: list[str] = field(default_factory=list)
    input_error: bool = False

    @property
    def message(self) -> str:
        return self.row.get("message", "")


# --- one participant ------------------------------------------------------------------------

_MODELS: dict[ModelRef, object] = {}  # per process: each worker loads the model once


def model_for(ref: ModelRef, loaded=None):
    """The model `ref` names, loaded once per process (or `loaded`, when the caller has it)."""
    if ref not in _MODELS:
        if loaded is None:
            from .modelfile import load_model

            loaded = load_model(ref.path)
        if loaded.card.summary() != ref.summary:
            raise InputError(ref.path, "the model file changed since the cohort run started")
        _MODELS.clear()
        _MODELS[ref] = loaded
    return _MODELS[ref]


def result_row(participant_id: str, folder: Path) -> dict:
    """A participant's row of the cohort table, read from its result folder."""
    report = json.loads((folder / REPORT_FILE).read_text(encoding="utf-8"))
    return table_row(participant_id, report, folder / LESION_TABLE_FILE)


def table_row(participant_id: str, report: dict, lesion_table: Path) -> dict:
    """A participant's row of the cohort table from its report (prediction.json's content)
    and lesion table: status ok, lesion counts and volumes per class, the notes."""
    model = ModelSummary.from_dict(report["model"])
    counts = lesion_counts(read_lesions(lesion_table), model.lesion_classes)
    return {"participant": participant_id, "status": "ok", **counts, "message": "; ".join(report.get("notes", []))}


def existing_result(folder: Path, model: ModelSummary) -> dict | None:
    """prediction.json of a complete result in `folder` made by `model`, else None."""
    files = [LABELS_FILE, LESION_TABLE_FILE] + [probability_file(c.key) for c in model.lesion_classes]
    return complete_report(folder / REPORT_FILE, [folder / name for name in files], model)


def complete_report(report_path: Path, files: list[Path], model: ModelSummary) -> dict | None:
    """The report (a dict with 'model', 'settings', 'notes') at `report_path` when it was made
    by `model` and every one of `files` is there; else None. A report inside a JSON sidecar
    sits under its "DeepMIR" key."""
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        report = report.get("DeepMIR", report)
        summary = ModelSummary.from_dict(report["model"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if summary != model or not all(path.is_file() for path in files):
        return None
    return report


class FolderLayout:
    """DeepMIR's own output layout: OUT/<participant>/ with results.write_detection's files;
    with `dicom_seg`, also seg.dcm (dicomseg) for a participant whose SWI is a DICOM series."""

    def __init__(self, dicom_seg: bool = False):
        self.dicom_seg = dicom_seg

    def prepare(self, out: Path, model) -> None:
        """Dataset-level files before any participant runs: none here."""

    def _seg_source(self, task: ParticipantTask) -> Path | None:
        swi = getattr(task.inputs, "swi", None)
        return Path(swi) if self.dicom_seg and swi is not None and Path(swi).is_dir() else None

    def write(self, detection, task: ParticipantTask, overwrite: bool, run_id: str | None = None) -> None:
        extra = None
        series = self._seg_source(task)
        if series is not None:
            from .dicomseg import write_dicom_seg

            def extra(folder: Path) -> None:
                write_dicom_seg(detection, series, folder / SEG_FILE)
        write_detection(detection, task.out_dir, overwrite=overwrite, extra=extra, run_id=run_id)

    def report(self, task: ParticipantTask, model: ModelSummary) -> dict | None:
        report = existing_result(task.out_dir, model)
        if report is not None and self._seg_source(task) is not None and not (task.out_dir / SEG_FILE).is_file():
            return None  # asked for a DICOM SEG that the earlier run did not write
        return report

    def row(self, task: ParticipantTask) -> dict:
        return result_row(task.participant_id, task.out_dir)


def run_participant(task: ParticipantTask, ref: ModelRef, options: DetectionOptions, overwrite: bool = False,
                    layout=None, progress=None, run_id: str | None = None) -> Outcome:
    """Detect one participant and write its folder (in `layout`, default FolderLayout), or skip
    it when its result is there. Raises whatever fails (the caller decides whether that stops
    the run). `run_id` goes into the report, so that a result this run wrote (a task run again
    after its worker died between writing and reporting) counts as 'done', not 'skipped'."""
    from .pipeline import detect, detection_settings, needed_echo_time, resolve_stages

    layout = layout or FolderLayout()
    if task.problem is not None:
        raise task.problem
    model = model_for(ref)
    if not overwrite:
        report = layout.report(task, ref.summary)
        stages = resolve_stages(model, options.stages)
        settings = detection_settings(model.card, options.canvas, options.threshold, options.min_size, options.min_probability,
                                      options.register, options.n4, stages, options.runtime, needed_echo_time(model, stages, task.inputs))
        if report is not None and report.get("settings") == json.loads(json.dumps(settings)):
            status = "done" if run_id is not None and report.get("run") == run_id else "skipped"
            return Outcome(task.participant_id, status, layout.row(task), report.get("notes", []))
        if task.out_dir.exists():
            raise InputError(task.out_dir, "output folder exists already and holds no result of this model with these settings "
                                           "(use --overwrite to replace it)")
    detection = detect(task.inputs, model, **options.detect_arguments(), progress=progress)
    layout.write(detection, task, overwrite, run_id)
    return Outcome(task.participant_id, "done", layout.row(task), list(detection.notes))


def failed(task: ParticipantTask, error: BaseException | str) -> Outcome:
    """The error row of a participant: the message of an InputError, else the exception's
    type, message and where it was raised."""
    if isinstance(error, InputError):
        message = str(error)
    elif isinstance(error, BaseException):
        where = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
        place = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
        message = f"{type(error).__name__}: {error}{place}"
    else:
        message = error
    row = {"participant": task.participant_id, "status": "error", "message": message}
    return Outcome(task.participant_id, "error", row, input_error=isinstance(error, InputError))


def run_task(task: ParticipantTask, ref: ModelRef, options: DetectionOptions, overwrite: bool = False, layout=None,
             run_id: str | None = None) -> Outcome:
    """`run_participant` with any exception turned into the participant's error row: what a
    runner calls (on a Dask worker: the task)."""
    try:
        return run_participant(task, ref, options, overwrite, layout, run_id=run_id)
    except (KeyboardInterrupt, Cancelled):
        raise
    except Exception as error:  # noqa: BLE001 - one participant's failure of any kind is its row
        return failed(task, error)


# --- runners --------------------------------------------------------------------------------

class SerialRunner:
    """Participants one after another in this process."""

    def run(self, tasks: list[ParticipantTask], ref: ModelRef, options: DetectionOptions, overwrite: bool, layout=None,
            run_id: str | None = None) -> Iterator[Outcome]:
        for task in tasks:
            yield run_task(task, ref, options, overwrite, layout, run_id)

    def close(self) -> None:
        pass


# Dask's nanny starts its workers with MALLOC_TRIM_THRESHOLD_ set, which also stops glibc from
# raising its mmap threshold: every large array of a detection is then a fresh mmap, paid in
# page faults (1.1 s of system time per participant here; BENCHMARKS.md, "Two Dask workers").
# Unset for the embedded cluster; a cluster started elsewhere takes the same setting.
WORKER_ENVIRONMENT = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


class DaskRunner:
    """Participants as tasks on a Dask cluster: an embedded LocalCluster of `workers`
    processes, or the existing cluster at `scheduler`, or a given `client`. Outcomes come in
    the order participants finish."""

    def __init__(self, workers: int | None = None, scheduler: str | None = None, client=None):
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise DeepMIRError("--workers and --scheduler need Dask: pip install 'DeepMIRLib[cohort]'") from None
        self._cluster = None
        self._own_client = client is None
        if client is not None:
            self.client = client
        elif scheduler is not None:
            self.client = Client(scheduler)
        else:
            # the scheduler serves HTTP even without a dashboard: on a free port (":0"), since with
            # None it takes 8787 and warns when another cluster holds it
            with dask.config.set(WORKER_ENVIRONMENT):
                self._cluster = LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=True,
                                             dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = Client(self._cluster)

    def run(self, tasks: list[ParticipantTask], ref: ModelRef, options: DetectionOptions, overwrite: bool, layout=None,
            run_id: str | None = None) -> Iterator[Outcome]:
        from distributed import as_completed

        run_id = run_id or new_run_id()
        futures = {}
        for index, task in enumerate(tasks):
            key = f"deepmir-{run_id}-{index}-{task.participant_id}"
            futures[self.client.submit(run_task, task, ref, options, overwrite, layout, run_id, key=key, pure=False)] = task
        try:
            for future in as_completed(futures):
                task = futures[future]
                try:
                    yield future.result()
                except (KeyboardInterrupt, Cancelled):
                    raise
                except Exception as error:  # noqa: BLE001 - e.g. KilledWorker: the task killed worker after worker
                    yield failed(task, f"its worker process died ({type(error).__name__}: {error})")
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def trim_threshold_note(self) -> str | None:
        """A note naming how many of the cluster's workers (those there now) run with Dask's
        MALLOC_TRIM_THRESHOLD_ set (WORKER_ENVIRONMENT says what it costs); None if none does."""
        found = [value for value in self.client.run(_trim_threshold).values() if value is not None]
        if not found:
            return None
        return (f"{len(found)} of the cluster's workers run with MALLOC_TRIM_THRESHOLD_ set, which costs each participant "
                "about 1 s of system time; start them without it (README, 'On several processes or machines')")

    def close(self) -> None:
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _trim_threshold() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


# --- the cohort -----------------------------------------------------------------------------

OutcomeCallback = Callable[[Outcome, int, int], None]  # (outcome, participants finished, participants in all)


def new_run_id() -> str:
    """What tells this run's results from an earlier run's (written into each report)."""
    return uuid.uuid4().hex[:12]


def run_cohort(tasks: list[ParticipantTask], model, options: DetectionOptions, out: Path, *, overwrite: bool = False,
               stop_on_error: bool = False, runner=None, on_outcome: OutcomeCallback | None = None, layout=None) -> list[Outcome]:
    """Run every task (serially when no `runner` is given), each written in `layout`
    (FolderLayout, or bids.DerivativesLayout), then write `out`/cohort.tsv with
    one row per participant in the order of `tasks`. Returns the outcomes in that order. With
    `stop_on_error`, the first failure stops the run (nothing more is started, no table is
    written) and is raised: an InputError as such, anything else as a DeepMIRError."""
    names = [task.participant_id for task in tasks]
    if len(set(names)) != len(names):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise InputError(out, f"two participants would share an output folder: {', '.join(duplicates)}")
    ref = ModelRef.of(model)
    model_for(ref, model)
    runner = runner or SerialRunner()
    layout = layout or FolderLayout()
    layout.prepare(Path(out), model)
    outcomes: dict[str, Outcome] = {}
    results = runner.run(tasks, ref, options, overwrite, layout, new_run_id())
    try:
        for outcome in results:
            outcomes[outcome.participant_id] = outcome
            if on_outcome is not None:
                on_outcome(outcome, len(outcomes), len(tasks))
            if outcome.status == "error" and stop_on_error:
                raise (InputError(None, outcome.message) if outcome.input_error else DeepMIRError(outcome.message))
    finally:
        results.close()
    ordered = [outcomes[name] for name in names]
    write_text_atomic(Path(out) / COHORT_TABLE, cohort_table([outcome.row for outcome in ordered]))
    return ordered


def cohort_table(rows: list[dict]) -> str:
    """The cohort table as TSV: participant, status, the count and volume columns, message."""
    columns = ["participant", "status"]
    for row in rows:
        columns += [k for k in row if k not in columns and k != "message"]
    columns.append("message")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, delimiter="\t", restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def folder_tasks(folder, out) -> list[ParticipantTask]:
    """The participants of a participant folder or of a folder of them (sorted by name), each
    writing to `out`/<name>. A sub-folder that holds QSM, T2 or a brain mask but no SWI is a
    participant with a problem (its error row), not silently left out."""
    from .pipeline import discover_participants, participant_from_folder

    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise InputError(folder, "input folder not found")
    if find_image(folder, "swi") is not None:
        return [ParticipantTask(folder.name, out / folder.name, participant_from_folder(folder))]
    tasks = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if find_image(sub, "swi") is not None:
            tasks.append(ParticipantTask(sub.name, out / sub.name, participant_from_folder(sub)))
        elif any(find_image(sub, stem) is not None for stem in (*MODALITIES[1:], BRAIN_MASK)):
            problem = InputError(sub, "no SWI image found (expected swi.nii.gz, swi.nrrd, swi.mha or a DICOM folder swi/)")
            tasks.append(ParticipantTask(sub.name, out / sub.name, problem=problem))
    if not tasks:
        discover_participants(folder)  # raises the message for a folder without participants
    return tasks
