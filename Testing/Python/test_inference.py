import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_modalities

from DeepMIRLib.errors import Cancelled, InputError
from DeepMIRLib.inference import choose_device, class_argmax, labels_from_probabilities, predict_probabilities
from DeepMIRLib.modelfile import LoadedModel, ModelCard
from DeepMIRLib.preprocessing import plan_batches, stack_modalities
from DeepMIRLib.unet import UNet2D
from DeepMIRLib.volumes import to_canonical


@pytest.fixture()
def untrained_model():
    torch.manual_seed(0)
    network = UNet2D(2, 2, base_width=4).eval()
    card = ModelCard.for_network(network, "untrained", "0", "multiclass", ["swi", "qsm"])
    return LoadedModel(network, card, Path("untrained.json"))


@pytest.fixture()
def canonical_inputs(anatomy):
    images = make_modalities(anatomy)
    mask, _ = to_canonical(images["brainmask"])
    arrays = {name: to_canonical(images[name])[0].array for name in ("swi", "qsm")}
    return stack_modalities(arrays, ["swi", "qsm"], mask.array), mask.array


def test_progress_reports_every_brain_slice(untrained_model, canonical_inputs):
    stack, mask = canonical_inputs
    calls = []
    probabilities = predict_probabilities(untrained_model, stack, mask, "cpu", batch_size=5, progress=lambda done, total: calls.append((done, total)))
    brain_slices = int(mask.any(axis=(1, 2)).sum())
    assert calls[-1] == (brain_slices, brain_slices)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert probabilities.shape == (2,) + mask.shape
    assert np.all(probabilities[:, mask == 0] == 0)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def test_batch_size_does_not_change_the_result_on_a_fixed_canvas(untrained_model, canonical_inputs):
    stack, mask = canonical_inputs
    a = predict_probabilities(untrained_model, stack, mask, "cpu", batch_size=1, canvas=(96, 96))
    b = predict_probabilities(untrained_model, stack, mask, "cpu", batch_size=16, canvas=(96, 96))
    assert np.allclose(a, b, atol=1e-5)


def test_batch_boxes_do_not_change_the_result(untrained_model, canonical_inputs):
    """canvas="auto" crops each batch to its own box: one slice per batch gives canvases of
    several shapes, each placed in the same phase modulo 32 as one box for the volume, so the
    U-Net's output is the same as with one box (to float rounding)."""
    stack, mask = canonical_inputs
    assert len({plan.canvas_shape for plan in plan_batches(mask, "auto", 1)}) > 1
    a = predict_probabilities(untrained_model, stack, mask, "cpu", batch_size=1)
    b = predict_probabilities(untrained_model, stack, mask, "cpu", batch_size=16)
    assert np.abs(a - b).max() < 1e-5


def test_cancel_stops_between_batches(untrained_model, canonical_inputs):
    stack, mask = canonical_inputs
    cancel = threading.Event()
    calls = []

    def progress(done, total):
        calls.append(done)
        cancel.set()

    with pytest.raises(Cancelled):
        predict_probabilities(untrained_model, stack, mask, "cpu", batch_size=4, progress=progress, cancel=cancel)
    assert calls == [4]


def test_device_choice():
    assert choose_device("cpu").type == "cpu"
    assert choose_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA device"):
            choose_device("cuda")


def test_label_rules():
    # voxel 0: background most probable; 1: CMB wins; 2: iron wins; 3: CMB 0.4 vs background 0.35
    probabilities = np.array([[0.1, 0.7, 0.2, 0.40], [0.2, 0.1, 0.6, 0.25]], np.float32).reshape(2, 1, 1, 4)
    assert labels_from_probabilities(probabilities, [1, 2]).ravel().tolist() == [0, 1, 2, 1]
    single = np.array([0.2, 0.5, 0.9], np.float32).reshape(1, 1, 1, 3)
    assert labels_from_probabilities(single, [2]).ravel().tolist() == [0, 2, 2]
    assert labels_from_probabilities(single, [1], threshold=0.8).ravel().tolist() == [0, 0, 1]


def test_class_argmax_is_numpys_argmax_and_max(untrained_model, canonical_inputs):
    """On a simulated participant's probabilities, and with ties, where the first class wins."""
    stack, mask = canonical_inputs
    probabilities = predict_probabilities(untrained_model, stack, mask, "cpu", 4, "auto")
    tied = np.stack([probabilities[0], probabilities[0], np.minimum(probabilities[1], 0.3)])
    for case in (probabilities, tied, np.round(probabilities, 1)):
        best, highest = class_argmax(case)
        assert np.array_equal(best, case.argmax(axis=0)) and np.array_equal(highest, case.max(axis=0))
    assert np.any(tied[0] == tied[1]) and not np.any(class_argmax(tied)[0] == 1)


def test_auto_device_is_decided_without_torch_where_it_is_certain():
    """'auto' with ONNX Runtime is the CPU; with a torch built without CUDA or ROCm it is the
    CPU without importing torch; else torch is asked. Either way it is choose_device's answer
    for the torch runtime."""
    probe = ("import sys; from DeepMIRLib import inference; "
             "cpu_only = not inference.torch_gpu_build(); "
             "print(inference.auto_device_type('onnxruntime'), 'torch' in sys.modules); "
             "print(inference.auto_device_type('auto'), cpu_only, 'torch' in sys.modules); "
             "import torch; print(inference.choose_device('auto').type, torch.version.cuda is None and torch.version.hip is None)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    (onnx_type, onnx_torch), (auto_type, cpu_only, auto_torch), (torch_type, torch_cpu_only) = (line.split() for line in result.stdout.splitlines())
    assert (onnx_type, onnx_torch) == ("cpu", "False")
    assert auto_type == torch_type and cpu_only == str(torch_cpu_only == "True")
    if cpu_only == "True":
        assert (auto_type, auto_torch) == ("cpu", "False")


@pytest.mark.parametrize("version, gpu", [
    ("cuda: Optional[str] = None\nhip: Optional[str] = None\n", False),  # a CPU wheel
    ("cuda: Optional[str] = '12.8'\nhip: Optional[str] = None\n", True),
    ("cuda = None\nhip = '6.3.42131'\n", True),  # ROCm
    ("git_version = 'abc'\n", True),  # cannot tell: torch is asked
    (None, True),  # no version.py: torch is asked
])
def test_a_gpu_is_ruled_out_from_torchs_build_without_importing_it(tmp_path, monkeypatch, version, gpu):
    import importlib.machinery

    from DeepMIRLib import inference

    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("")
    if version is not None:
        (tmp_path / "torch" / "version.py").write_text(version)
    spec = importlib.machinery.ModuleSpec("torch", None, origin=str(tmp_path / "torch" / "__init__.py"))
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.setattr(inference.importlib.util, "find_spec", lambda name: spec if name == "torch" else None)
    assert inference.torch_gpu_build() is gpu
    monkeypatch.setattr(inference.importlib.util, "find_spec", lambda name: None)  # torch not installed
    assert inference.torch_gpu_build() is False
