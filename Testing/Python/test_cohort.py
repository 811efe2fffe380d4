"""Cohort runs (DeepMIRLib.cohort): serial and on a real Dask LocalCluster of 2 worker
processes give the same result; a worker killed mid-run loses no participant; a run stopped
part-way continues where it stopped; one participant's failure of any kind is its row.

The cohort is the session's three simulated slab participants (conftest.slab_cohort) and
the bundled default model."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal

import numpy as np
import pytest

from DeepMIRLib import cohort, pipeline
from DeepMIRLib.cli import main
from DeepMIRLib.cohort import DetectionOptions, folder_tasks, run_cohort
from DeepMIRLib.errors import InputError
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.results import LABELS_FILE, LESION_TABLE_FILE, REPORT_FILE, probability_file
from DeepMIRLib.volumes import read_volume

OPTIONS = DetectionOptions(device="cpu")


@pytest.fixture(scope="module")
def model():
    return load_model("default")


@pytest.fixture(scope="module")
def serial_result(slab_cohort, model, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    outcomes = run_cohort(folder_tasks(slab_cohort, out), model, OPTIONS, out)
    assert [o.status for o in outcomes] == ["done"] * 3
    return out


def _table(path):
    with open(path) as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _participants(out):
    return sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))


def assert_same_result(out, reference):
    """Same cohort table and lesion tables, identical label maps, probability maps equal
    to float32 rounding (1e-6: one worker thread sums in another order than two)."""
    assert (out / "cohort.tsv").read_text() == (reference / "cohort.tsv").read_text()
    assert _participants(out) == _participants(reference)
    for name in _participants(reference):
        assert (out / name / LESION_TABLE_FILE).read_text() == (reference / name / LESION_TABLE_FILE).read_text()
        labels = read_volume(out / name / LABELS_FILE, np.uint8).array
        assert np.array_equal(labels, read_volume(reference / name / LABELS_FILE, np.uint8).array)
        for key in ("cmb", "iron"):
            probability = read_volume(out / name / probability_file(key)).array
            assert np.abs(probability - read_volume(reference / name / probability_file(key)).array).max() < 1e-6


@pytest.fixture(scope="module")
def local_cluster():
    """The client of the embedded cluster `deepmir predict --workers 2` starts."""
    pytest.importorskip("distributed", reason="the cohort extra (dask[distributed]) is not installed")
    runner = cohort.DaskRunner(workers=2)
    yield runner.client
    runner.close()


def test_the_embedded_clusters_workers_start_without_dasks_malloc_trim_threshold(local_cluster):
    """With it set, glibc stops raising its mmap threshold and every large array of a
    detection is a fresh mmap (1.1 s of system time per participant; BENCHMARKS.md). Nor does
    the nanny leave it in this process's environment for later clusters to inherit."""
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
    environments = local_cluster.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert len(environments) == 2 and set(environments.values()) == {None}


def test_workers_started_with_dasks_malloc_trim_threshold_are_noted(local_cluster, monkeypatch):
    """Workers started elsewhere (`dask worker`, dask-jobqueue) inherit it; the run says so."""
    assert cohort.DaskRunner(client=local_cluster).trim_threshold_note() is None
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # inherited by the workers started now
    runner = cohort.DaskRunner(workers=1)
    try:
        note = runner.trim_threshold_note()
    finally:
        runner.close()
    assert note.startswith("1 of the cluster's workers run with MALLOC_TRIM_THRESHOLD_ set")


def test_two_dask_workers_give_the_serial_result(slab_cohort, model, serial_result, local_cluster, tmp_path):
    out = tmp_path / "dask"
    runner = cohort.DaskRunner(client=local_cluster)
    outcomes = run_cohort(folder_tasks(slab_cohort, out), model, OPTIONS, out, runner=runner)
    assert [o.status for o in outcomes] == ["done"] * 3
    assert_same_result(out, serial_result)
    # each worker process loaded the model at most once, however many participants it ran
    loads = local_cluster.run(lambda: len(cohort._MODELS))
    assert set(loads.values()) <= {0, 1}


def test_a_worker_killed_mid_run_loses_no_participant(slab_cohort, model, serial_result, local_cluster, tmp_path):
    out = tmp_path / "killed"
    killed = []

    def kill_a_busy_worker(outcome, done, total):
        if killed:
            return
        # one that wrote its participant but had not reported it yet is recomputed and finds the
        # result this run wrote: done too (test_a_result_this_run_wrote_counts_as_done_when_run_again)
        busy = [address for address, keys in local_cluster.processing().items() if keys]
        if busy:
            pid = local_cluster.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    runner = cohort.DaskRunner(client=local_cluster)
    outcomes = run_cohort(folder_tasks(slab_cohort, out), model, OPTIONS, out, runner=runner, on_outcome=kill_a_busy_worker)
    assert killed, "no worker was busy when the first participant finished"
    assert [o.status for o in outcomes] == ["done"] * 3
    assert_same_result(out, serial_result)
    for name in _participants(out):  # every visible participant folder is complete
        assert (out / name / REPORT_FILE).is_file()


def test_a_result_this_run_wrote_counts_as_done_when_run_again(slab_cohort, model, tmp_path):
    """Dask runs a participant again when its worker died after writing the result but before
    reporting it; the result is kept and the participant counts as done. Another run skips it."""
    out = tmp_path / "again"
    task = folder_tasks(slab_cohort, out)[0]
    ref = cohort.ModelRef.of(model)
    first = cohort.run_task(task, ref, OPTIONS, run_id="run-a")
    report = out / task.participant_id / REPORT_FILE
    written = report.stat().st_mtime_ns
    again = cohort.run_task(task, ref, OPTIONS, run_id="run-a")
    later = cohort.run_task(task, ref, OPTIONS, run_id="run-b")
    assert [first.status, again.status, later.status] == ["done", "done", "skipped"]
    assert report.stat().st_mtime_ns == written  # not recomputed
    assert json.loads(report.read_text())["run"] == "run-a"


def test_an_interrupted_run_continues_where_it_stopped(slab_cohort, serial_result, tmp_path, capsys):
    out = tmp_path / "resumed"
    shutil.copytree(serial_result, out)
    shutil.rmtree(out / "sim-41-0002")  # the run was stopped before its last participant
    (out / "cohort.tsv").unlink()
    finished = {name: (out / name / REPORT_FILE).stat().st_mtime_ns for name in _participants(out)}
    assert main(["predict", "--input", str(slab_cohort), "--out", str(out), "--device", "cpu"]) == 0
    assert "(1 done, 2 skipped, 0 failed)" in capsys.readouterr().out
    assert {name: (out / name / REPORT_FILE).stat().st_mtime_ns for name in finished} == finished  # not recomputed
    assert_same_result(out, serial_result)


def test_a_run_stopped_by_the_user_resumes(slab_cohort, model, serial_result, tmp_path):
    out = tmp_path / "stopped"

    def stop(outcome, done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_cohort(folder_tasks(slab_cohort, out), model, OPTIONS, out, on_outcome=stop)
    assert _participants(out) == ["sim-41-0000"] and not (out / "cohort.tsv").exists()
    outcomes = run_cohort(folder_tasks(slab_cohort, out), model, OPTIONS, out)
    assert [o.status for o in outcomes] == ["skipped", "done", "done"]
    assert_same_result(out, serial_result)


def test_other_settings_are_not_taken_for_a_finished_result(slab_cohort, model, serial_result, tmp_path):
    out = tmp_path / "settings"
    shutil.copytree(serial_result, out)
    tasks = folder_tasks(slab_cohort, out)[:1]
    outcome = run_cohort(tasks, model, DetectionOptions(device="cpu", min_size=3), out)[0]
    assert outcome.status == "error" and "--overwrite" in outcome.message
    outcome = run_cohort(tasks, model, DetectionOptions(device="cpu", min_size=3), out, overwrite=True)[0]
    assert outcome.status == "done"


def test_any_failure_is_one_participants_row(slab_cohort, model, tmp_path, monkeypatch):
    cohort_folder = tmp_path / "cohort"
    for name in ("sim-41-0000", "sim-41-0001"):
        shutil.copytree(slab_cohort / name, cohort_folder / name)
    (cohort_folder / "sim-41-0001" / "t2.nii.gz").write_bytes(b"not an image")
    (cohort_folder / "no-swi").mkdir()
    shutil.copy(slab_cohort / "sim-41-0002" / "qsm.nii.gz", cohort_folder / "no-swi" / "qsm.nii.gz")
    real_detect = pipeline.detect

    def detect(participant, *args, **kwargs):
        if participant.participant_id == "sim-41-0000":
            raise MemoryError("out of memory (simulated)")
        return real_detect(participant, *args, **kwargs)

    monkeypatch.setattr("DeepMIRLib.pipeline.detect", detect)
    out = tmp_path / "out"
    outcomes = run_cohort(folder_tasks(cohort_folder, out), model, OPTIONS, out)
    rows = {row["participant"]: row for row in _table(out / "cohort.tsv")}
    assert rows["sim-41-0000"]["status"] == "error" and "MemoryError: out of memory (simulated)" in rows["sim-41-0000"]["message"]
    assert rows["sim-41-0001"]["status"] == "error" and "t2.nii.gz" in rows["sim-41-0001"]["message"]
    assert rows["no-swi"]["status"] == "error" and "no SWI image" in rows["no-swi"]["message"]
    assert [o.input_error for o in outcomes] == [True, False, True]  # sorted: no-swi, sim-41-0000, sim-41-0001
    assert _participants(out) == []  # nothing half-written
    with pytest.raises(InputError, match="no SWI"):  # the first failure stops the run
        run_cohort(folder_tasks(cohort_folder, out), model, OPTIONS, out, stop_on_error=True)
