"""The network on ONNX Runtime (DeepMIRLib.onnxrt, the fast extra) gives PyTorch's
probabilities to float32 rounding and the same labels; the export is made once per model."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from DeepMIRLib import onnxrt
from DeepMIRLib.cli import main
from DeepMIRLib.errors import DeepMIRError
from DeepMIRLib.inference import labels_from_probabilities, predict_probabilities
from DeepMIRLib.modelfile import ModelCard, load_model, save_model
from DeepMIRLib.preprocessing import plan_batches
from DeepMIRLib.unet import UNet2D
from DeepMIRLib.volumes import read_volume


@pytest.fixture()
def small_model(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPMIR_ONNX_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(3)
    network = UNet2D(3, 2, base_width=4)
    with torch.no_grad():  # batch-norm statistics other than the identity, as after training
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    card = ModelCard.for_network(network, "onnx-test", "0", "multiclass", ["swi", "qsm", "t2"], training={"data": "random weights (test)"})
    return load_model(save_model(network, card, tmp_path / "models" / "onnx-test"))


def test_onnxruntime_gives_the_torch_result(small_model):
    pytest.importorskip("onnxruntime", reason="the fast extra (onnxruntime, onnx) is not installed")
    pytest.importorskip("onnx", reason="the fast extra (onnxruntime, onnx) is not installed")
    rng = np.random.default_rng(0)
    mask = np.zeros((8, 70, 90), np.uint8)
    mask[1:4, 10:60, 12:80] = 1
    mask[4:7, 12:22, 14:30] = 1  # a smaller brain section: the second batch has a smaller canvas
    assert [plan.canvas_shape for plan in plan_batches(mask, "auto", 3)] == [(96, 96), (64, 64)]
    stack = (rng.normal(size=(3,) + mask.shape) * mask).astype(np.float32)
    on_torch = predict_probabilities(small_model, stack, mask, "cpu", batch_size=3, runtime="torch")
    on_onnx = predict_probabilities(small_model, stack, mask, "cpu", batch_size=3, runtime="onnxruntime")
    assert np.abs(on_onnx - on_torch).max() < 1e-5
    assert np.array_equal(labels_from_probabilities(on_onnx, [1, 2]), labels_from_probabilities(on_torch, [1, 2]))
    exported = onnxrt.onnx_path(small_model)
    assert exported.is_file() and exported.is_relative_to(onnxrt.cache_folder())
    before = exported.stat().st_mtime_ns
    onnxrt._SESSIONS.clear()  # a new process: the export is found, not made again
    predict_probabilities(small_model, stack, mask, "cpu", batch_size=3, runtime="onnxruntime")
    assert exported.stat().st_mtime_ns == before


def test_runtime_choice():
    assert not onnxrt.wanted("torch", "cpu")
    assert onnxrt.wanted("auto", "cpu") == onnxrt.available()
    assert not onnxrt.wanted("auto", "cuda")
    with pytest.raises(DeepMIRError, match="CPU only"):
        onnxrt.wanted("onnxruntime", "cuda")
    with pytest.raises(DeepMIRError, match="unknown runtime"):
        onnxrt.wanted("tensorrt", "cpu")


def test_threads_are_torchs_without_importing_it():
    """ONNX Runtime's thread count, computed before torch is imported, is the one torch picks."""
    probe = "from DeepMIRLib import onnxrt; n = onnxrt.threads(); import torch; print(n, torch.get_num_threads())"
    for extra in ({}, {"OMP_NUM_THREADS": "1"}, {"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "1"}):
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")} | extra
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)
        assert result.returncode == 0, result.stderr
        ours, torchs = result.stdout.split()
        assert ours == torchs, extra


# `deepmir predict` in a fresh process; then whether torch was imported, and whether the
# installed torch is a CPU-only build (found before anything ran)
PREDICT_PROBE = """
import sys
from DeepMIRLib import inference
from DeepMIRLib.cli import main
cpu_only = not inference.torch_gpu_build()
code = main(sys.argv[1:])
print('torch' in sys.modules, cpu_only)
sys.exit(code)
"""


def test_predict_from_the_cached_export_imports_no_torch(slab_cohort, scoring_two_stage_model, tmp_path):
    """deepmir predict on ONNX Runtime: the first run exports the model (with torch), every later
    run starts from the export and never imports torch (nor does the default runtime and device
    with a torch that has no GPU build); the labels are PyTorch's. The same for a two-stage
    model, whose first run exports both networks."""
    pytest.importorskip("onnxruntime", reason="the fast extra (onnxruntime, onnx) is not installed")
    pytest.importorskip("onnx", reason="the fast extra (onnxruntime, onnx) is not installed")
    participant = slab_cohort / "sim-41-0000"
    cache = tmp_path / "cache"
    env = dict(os.environ, DEEPMIR_ONNX_CACHE=str(cache))

    def predict(out: str, *options: str) -> list[str]:
        command = [sys.executable, "-c", PREDICT_PROBE, "predict", "--input", str(participant), "--out", str(tmp_path / out), *options]
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.split()[-2:]

    predict("exports", "--runtime", "onnxruntime")
    exports = sorted(cache.glob("*.onnx"))
    # the bundled default's U-Net and the classifiers it runs for this participant's echo time (7.5 ms)
    assert len(exports) == 1 + sum(spec.applies_to(7.5) for spec in load_model("default").card.second_stages)
    made = [path.stat().st_mtime_ns for path in exports]
    assert predict("cached", "--runtime", "onnxruntime")[0] == "False"
    imported, cpu_only = predict("defaults")  # --runtime auto --device auto
    assert imported == "False" or cpu_only == "False"
    assert sorted(cache.glob("*.onnx")) == exports and [path.stat().st_mtime_ns for path in exports] == made

    assert main(["predict", "--input", str(participant), "--out", str(tmp_path / "torch"), "--runtime", "torch", "--device", "cpu"]) == 0
    reference = read_volume(tmp_path / "torch" / participant.name / "labels.nii.gz").array
    assert set(np.unique(reference)) == {0, 1, 2}
    for out in ("exports", "cached", "defaults"):
        assert np.array_equal(read_volume(tmp_path / out / participant.name / "labels.nii.gz").array, reference), out

    two = str(scoring_two_stage_model)
    predict("two-exports", "--model", two, "--runtime", "onnxruntime")
    loaded = load_model(two)  # its U-Net's export and its second stage's, named as in the subprocess
    assert {cache / path.name for path in (onnxrt.onnx_path(loaded), onnxrt.second_stage_onnx_path(loaded))} <= set(cache.glob("*.onnx"))
    assert predict("two-cached", "--model", two, "--runtime", "onnxruntime")[0] == "False"
    assert main(["predict", "--model", two, "--input", str(participant), "--out", str(tmp_path / "two-torch"), "--runtime", "torch",
                 "--device", "cpu"]) == 0
    reference = read_volume(tmp_path / "two-torch" / participant.name / "labels.nii.gz").array
    assert set(np.unique(reference)) == {0, 1, 2}
    for out in ("two-exports", "two-cached"):
        assert np.array_equal(read_volume(tmp_path / out / participant.name / "labels.nii.gz").array, reference), out
