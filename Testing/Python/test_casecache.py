"""The cache of prepared training cases: same arrays as a fresh preparation, keyed by the
bytes of the input files, damaged or half-written entries never read back as valid, one
preparation when two workers ask for the same case, and the same trained weights with or
without it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from DeepMIRLib import casecache
from DeepMIRLib.casecache import CaseCache, DamagedEntry, read_entry
from DeepMIRLib.errors import InputError
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.training import TrainingConfig, case_for_model, find_training_cases, prepare_case, train_model
from DeepMIRLib.volumes import read_volume, write_volume


@pytest.fixture
def one_case(slab_cohort, tmp_path):
    """A copy of one slab participant that a test may change."""
    folder = tmp_path / "data" / "sim-41-0000"
    shutil.copytree(slab_cohort / "sim-41-0000", folder)
    return find_training_cases(tmp_path / "data")[0]


@pytest.fixture
def one_thread():
    """Registration and CPU training are bitwise reproducible with one thread; with more,
    the order of float sums can vary from run to run on a busy machine (ITK's multi-threaded
    metric, PyTorch's reductions), with or without the cache."""
    threads, itk_threads = torch.get_num_threads(), sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    torch.set_num_threads(1)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    yield
    torch.set_num_threads(threads)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(itk_threads)


def _entries(folder):
    return sorted(folder.glob("*.npz"))


def test_cached_case_is_the_fresh_preparation_for_every_modality_set_and_task(one_case, tmp_path, one_thread):
    cold = CaseCache(tmp_path / "cache")
    stored = cold.get(one_case, ["swi"])
    assert (cold.prepared, cold.read) == (1, 0) and stored.modalities == ("swi", "qsm", "t2")
    warm = CaseCache(tmp_path / "cache")
    arrays = warm.get(one_case, ["swi"])
    assert (warm.prepared, warm.read) == (0, 1) and len(_entries(tmp_path / "cache")) == 1
    for inputs, task in ((["swi"], "multiclass"), (["swi", "qsm", "t2"], "cmb"), (["swi", "t2"], "iron"), (["swi", "t2", "qsm"], "union")):
        cached, fresh = case_for_model(arrays, inputs, task), prepare_case(one_case, inputs, task)
        for name in ("stack", "labels", "mask", "mimics"):
            assert np.array_equal(getattr(cached, name), getattr(fresh, name)), (inputs, task, name)
    assert case_for_model(arrays, ["swi", "t2"], "multiclass").stack.base is not None  # evenly spaced channels: a view


def test_a_changed_input_file_is_prepared_again(one_case, tmp_path):
    cache = CaseCache(tmp_path / "cache")
    before = cache.get(one_case, ["swi"])
    qsm = read_volume(one_case.inputs.qsm)
    write_volume(qsm.with_array(qsm.array * 2 + 0.01), one_case.inputs.qsm)
    after = CaseCache(tmp_path / "cache")
    changed = after.get(one_case, ["swi"])
    assert after.prepared == 1 and len(_entries(tmp_path / "cache")) == 2
    assert not np.array_equal(changed.stack[1], before.stack[1]) and np.array_equal(changed.stack[0], before.stack[0])


def test_a_missing_modality_names_the_participant(one_case, tmp_path):
    one_case.inputs.t2.unlink()
    arrays = CaseCache(tmp_path / "cache").get(find_training_cases(tmp_path / "data")[0], ["swi"])
    assert arrays.modalities == ("swi", "qsm")
    with pytest.raises(InputError, match="sim-41-0000.*no T2"):
        case_for_model(arrays, ["swi", "t2"], "multiclass")


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _flip_a_byte, lambda path: path.write_bytes(b"")], ids=["truncated", "flipped byte", "empty"])
def test_a_damaged_entry_is_detected_and_prepared_again(one_case, tmp_path, damage, one_thread):
    folder = tmp_path / "cache"
    good = CaseCache(folder).get(one_case, ["swi"])
    (entry,) = _entries(folder)
    damage(entry)
    key = entry.stem.split("-")[-1]
    with pytest.raises(DamagedEntry):
        read_entry(entry, key)
    lines = []
    again = CaseCache(folder, log=lines.append)
    arrays = again.get(one_case, ["swi"])
    assert again.prepared == 1 and "damaged" in lines[0] and np.array_equal(arrays.stack, good.stack)
    assert np.array_equal(read_entry(entry, key).stack, good.stack)  # rewritten whole


def test_an_entry_of_another_key_is_not_read(one_case, tmp_path):
    folder = tmp_path / "cache"
    CaseCache(folder).get(one_case, ["swi"])
    (entry,) = _entries(folder)
    with pytest.raises(DamagedEntry, match="another key"):
        read_entry(entry, "0" * 32)


KILLED_WRITER = """
import sys, io, time
from pathlib import Path
import numpy as np
from DeepMIRLib.casecache import CaseCache
from DeepMIRLib.training import find_training_cases

data, cache, flag = (Path(a) for a in sys.argv[1:])
real_savez = np.savez_compressed

def slow_savez(handle, **arrays):  # write half of the entry, then wait to be killed
    buffer = io.BytesIO()
    real_savez(buffer, **arrays)
    handle.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    handle.flush()
    flag.touch()
    time.sleep(120)

np.savez_compressed = slow_savez
CaseCache(cache).get(find_training_cases(data)[0], ["swi"])
"""


def test_kill_9_while_writing_leaves_no_entry_that_reads_as_valid(one_case, tmp_path):
    folder, flag = tmp_path / "cache", tmp_path / "half-written"
    data = one_case.inputs.swi.parent.parent
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILLED_WRITER), str(data), str(folder), str(flag)])
    try:
        deadline = time.monotonic() + 120
        while not flag.exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert flag.exists(), "the writer did not reach the middle of its write"
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
    (half_written,) = [p for p in folder.iterdir() if p.suffix != ".lock"]
    assert half_written.name.startswith(".") and not _entries(folder)  # a temporary name, never the entry's
    cache = CaseCache(folder)
    arrays = cache.get(one_case, ["swi"])
    assert cache.prepared == 1 and len(_entries(folder)) == 1 and not half_written.exists()
    assert np.array_equal(arrays.stack, CaseCache(folder).get(one_case, ["swi"]).stack)


def test_two_workers_asking_for_one_case_prepare_it_once(one_case, tmp_path, monkeypatch):
    """The entry's lock is an flock on its own open file, which makes threads of one process
    wait for each other as it makes processes (torchrun ranks) wait."""
    calls = []
    real_prepare = casecache.prepare_arrays

    def slow_prepare(*args, **kwargs):
        calls.append(1)
        time.sleep(1.0)  # long enough for the other worker to reach the lock
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(casecache, "prepare_arrays", slow_prepare)
    results = [None, None]

    def work(index):
        results[index] = CaseCache(tmp_path / "cache").get(one_case, ["swi"])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(calls) == 1 and np.array_equal(results[0].stack, results[1].stack)


def test_training_from_the_cache_gives_the_same_weights(slab_cohort, tmp_path, one_thread):
    cases = find_training_cases(slab_cohort)
    config = TrainingConfig(inputs=("swi", "t2"), task="multiclass", base_width=4, epochs=1, batch_size=8, crop=32, copies=1, seed=3, device="cpu")
    quiet = {"log": lambda *_: None}
    plain = load_model(train_model(cases, config, tmp_path / "plain", "p", "0", "test", **quiet))
    models = []
    for run in ("cold", "warm"):
        cache = CaseCache(tmp_path / "cache")
        models.append(load_model(train_model(cases, config, tmp_path / run, run, "0", "test", cache=cache, **quiet)))
        assert (cache.prepared, cache.read) == ((3, 0) if run == "cold" else (0, 3))
    for model in models:
        for key, value in plain.network.state_dict().items():
            assert torch.equal(value, model.network.state_dict()[key]), key
