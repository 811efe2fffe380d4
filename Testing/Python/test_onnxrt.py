"""The network on ONNX Runtime (DeepMIRLib.onnxrt, the fast extra) gives PyTorch's
probabilities to float32 rounding and the same labels; the export is made once per model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from DeepMIRLib import onnxrt
from DeepMIRLib.errors import DeepMIRError
from DeepMIRLib.inference import labels_from_probabilities, predict_probabilities
from DeepMIRLib.modelfile import ModelCard, load_model, save_model
from DeepMIRLib.unet import UNet2D


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
    mask = np.zeros((6, 70, 90), np.uint8)
    mask[1:5, 10:60, 12:80] = 1
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
