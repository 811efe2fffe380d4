"""The networks on OpenVINO (DeepMIRLib.openvinort, the openvino extra), asked for by name:
"openvino-f32" gives ONNX Runtime's probabilities to float32 rounding and its labels, for one
and two stages; "openvino" runs in bfloat16 where the CPU has it and, with the U-Net alone and
every lesion kept, finds the same lesions, with probabilities within 0.1 and label voxels that
differ only at lesion borders. The
precision is recorded with the settings; "auto" never picks OpenVINO; a GPU or a missing
extra is a clear error. Once the exports are cached, torch is not imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from DeepMIRLib import onnxrt, openvinort
from DeepMIRLib.cli import main
from DeepMIRLib.cohort import DetectionOptions
from DeepMIRLib.errors import InputError
from DeepMIRLib.inference import network_runtime
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.pipeline import detect, participant_from_folder
from DeepMIRLib.volumes import read_volume

pytest.importorskip("openvino", reason="the openvino extra (openvino, onnx) is not installed")
pytest.importorskip("onnxruntime", reason="the fast extra (onnxruntime, onnx) is not installed: the reference")
pytest.importorskip("onnx", reason="the openvino extra (openvino, onnx) is not installed")

BF16_PROBABILITY_TOLERANCE = 0.1  # measured: 0.043 on these slab participants, 0.06 on full-size ones


def _largest_difference(one, other) -> float:
    return max(float(np.abs(one.probabilities[key].array - other.probabilities[key].array).max()) for key in one.probabilities)


def _unmatched(labels: np.ndarray, other: np.ndarray) -> list[np.ndarray]:
    """The lesions (26-connected components of each class, as masks) of `labels` that have no
    voxel of their class in `other`: lesions that appear in `labels` only."""
    masks = []
    for label in (1, 2):
        components, n = ndimage.label(labels == label, np.ones((3, 3, 3)))
        masks += [components == index for index in range(1, n + 1) if not (other[components == index] == label).any()]
    return masks


def test_openvino_f32_gives_onnxruntimes_result(slab_cohort, unet_only_model, scoring_two_stage_model):
    """In float32, OpenVINO gives ONNX Runtime's probabilities and labels, with the U-Net alone
    and with a second stage whose scores spread (some candidates removed, some kept)."""
    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    for model in (unet_only_model, scoring_two_stage_model):
        reference = detect(participant, model, device="cpu", runtime="onnxruntime")
        detection = detect(participant, model, device="cpu", runtime="openvino-f32")
        assert set(np.unique(reference.labels.array)) == {0, 1, 2}
        assert _largest_difference(detection, reference) < 1e-5
        assert np.array_equal(detection.labels.array, reference.labels.array)
        assert detection.lesion_counts() == reference.lesion_counts()
        assert detection.settings == {**reference.settings, "runtime": "openvino", "precision": "f32"}
        assert "runtime" not in reference.settings  # the float32 runtimes give the same labels: not recorded


def test_openvino_bf16_finds_the_same_lesions(slab_cohort, unet_only_model):
    """In bfloat16 (where the CPU has it) the probabilities move by less than 0.1 and a few label
    voxels (at most 5 %) change, each beside a lesion in both label maps (at its border); a lesion
    of either without a voxel of its class in the other is a single voxel whose arg-max flipped
    (measured: none with 0.5.5's U-Net; with 0.5.6's one such voxel in bfloat16 on each of the two
    participants), and a changed border voxel may split or join touching lesions (90 lesions
    against 91). Every lesion of the arg-max is kept (minimum probability 0): one whose highest
    probability sits at a calibrated minimum can fall on either side of it (README)."""
    if not openvinort.cpu_has_bf16():
        pytest.skip("OpenVINO does not compute bfloat16 natively on this CPU: --runtime openvino runs in float32 here")
    assert openvinort.precision("openvino") == "bf16"
    changed = 0
    for name in ("sim-41-0000", "sim-41-0001"):
        participant = participant_from_folder(slab_cohort / name)
        reference = detect(participant, unet_only_model, device="cpu", runtime="onnxruntime", min_probability=0)
        detection = detect(participant, unet_only_model, device="cpu", runtime="openvino", min_probability=0)
        assert detection.settings["runtime"] == "openvino" and detection.settings["precision"] == "bf16"
        assert 0 < _largest_difference(detection, reference) < BF16_PROBABILITY_TOLERANCE  # bfloat16 did run
        ours, theirs = detection.labels.array, reference.labels.array
        unmatched = _unmatched(ours, theirs) + _unmatched(theirs, ours)
        assert all(mask.sum() == 1 for mask in unmatched), name  # only single voxels appear or vanish
        flipped = np.logical_or.reduce(unmatched) if unmatched else np.zeros(ours.shape, bool)
        near_both = ndimage.binary_dilation(ours > 0, np.ones((3, 3, 3))) & ndimage.binary_dilation(theirs > 0, np.ones((3, 3, 3)))
        differ = ours != theirs
        assert np.all((near_both | flipped)[differ]), name
        assert differ.sum() <= 0.05 * (theirs > 0).sum(), name  # measured: 2 to 3 voxels of 75 to 492 (0.5.5), 1 and 5 of 100 and 588 (0.5.6)
        assert abs(len(detection.lesions) - len(reference.lesions)) <= differ.sum(), name
        changed += differ.sum()
    assert changed > 0  # these participants do show changed border voxels


def test_the_precision_is_recorded_and_results_of_another_are_not_taken(slab_cohort, tmp_path):
    """prediction.json records the runtime and its precision; a cohort run on OpenVINO does not
    take a folder made on ONNX Runtime (or in another precision) for its result."""
    participant = slab_cohort / "sim-41-0002"
    out = tmp_path / "out"
    assert main(["predict", "--input", str(participant), "--out", str(out), "--runtime", "openvino"]) == 0
    settings = json.loads((out / participant.name / "prediction.json").read_text())["settings"]
    assert settings["runtime"] == "openvino" and settings["precision"] == openvinort.precision("openvino")
    assert main(["predict", "--input", str(participant), "--out", str(out), "--runtime", "openvino"]) == 0  # skipped: the same
    assert main(["predict", "--input", str(participant), "--out", str(out), "--runtime", "onnxruntime"]) != 0
    assert "holds no result of this model with these settings" in (out / "cohort.tsv").read_text()


def test_auto_never_picks_openvino_and_it_runs_on_the_cpu_only(monkeypatch, capsys, tmp_path):
    assert network_runtime("auto", "cpu") == ("onnxruntime" if onnxrt.available() else "torch")
    assert network_runtime("openvino", "cpu") == network_runtime("openvino-f32", "auto") == "openvino"
    assert openvinort.settings("auto") == openvinort.settings("onnxruntime") == {}
    assert openvinort.settings("openvino-f32") == {"runtime": "openvino", "precision": "f32"}
    for device in ("cuda", "cuda:1", "mps"):
        with pytest.raises(InputError, match="CPU only"):
            network_runtime("openvino", device)
    with pytest.raises(InputError, match="CPU only"):
        DetectionOptions(device="cuda", runtime="openvino-f32").check()  # a cohort fails before its first participant
    assert main(["predict", "--swi", str(tmp_path / "swi.nii.gz"), "--out", str(tmp_path / "out"),
                 "--runtime", "openvino", "--device", "cuda"]) == 2
    assert "--runtime: openvino runs on the CPU only" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

    monkeypatch.setattr(openvinort, "available", lambda: False)
    assert network_runtime("auto", "cpu") != "openvino"
    for runtime in openvinort.RUNTIMES:
        with pytest.raises(InputError, match=r"needs the openvino extra, which is not installed: pip install 'DeepMIRLib\[openvino\]'"):
            network_runtime(runtime, "cpu")
    with pytest.raises(InputError, match="openvino extra"):
        openvinort.settings("openvino")


def test_the_networks_are_compiled_with_the_precision_and_threads_set(unet_only_model):
    """The precision is always set, never OpenVINO's own choice, and the threads are ONNX
    Runtime's (OpenVINO ignores OMP_NUM_THREADS); each is compiled once per process."""
    loaded = load_model(unet_only_model)
    for runtime in openvinort.RUNTIMES:
        network = openvinort.network_for(loaded, runtime)
        compiled = openvinort._COMPILED[(str(onnxrt.onnx_path(loaded)), onnxrt.threads(), openvinort.precision(runtime))]
        assert compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name() == openvinort.precision(runtime)
        assert compiled.get_property("INFERENCE_NUM_THREADS") == onnxrt.threads()
        assert network.inputs == ["slices"]
        compiled_before = len(openvinort._COMPILED)
        openvinort.network_for(loaded, runtime)
        assert len(openvinort._COMPILED) == compiled_before  # compiled once per process
    assert {key[2] for key in openvinort._COMPILED if key[0] == str(onnxrt.onnx_path(loaded))} == {"f32", openvinort.precision("openvino")}


# `deepmir predict` in a fresh process; then whether torch was imported
PREDICT_PROBE = "import sys; from DeepMIRLib.cli import main; code = main(sys.argv[1:]); print('torch' in sys.modules); sys.exit(code)"


def test_predict_on_openvino_from_the_cached_exports_imports_no_torch(slab_cohort, scoring_two_stage_model, tmp_path):
    """With a two-stage model's exports in the cache (ONNX Runtime's files: OpenVINO reads the
    same), deepmir predict --runtime openvino never imports torch and gives the labels of ONNX
    Runtime in float32."""
    loaded = load_model(scoring_two_stage_model)
    exports = [onnxrt.exported_network(loaded), onnxrt.exported_second_stage(loaded)]
    made = [path.stat().st_mtime_ns for path in exports]
    participant = slab_cohort / "sim-41-0000"
    reference = detect(participant_from_folder(participant), loaded, device="cpu", runtime="onnxruntime")
    command = [sys.executable, "-c", PREDICT_PROBE, "predict", "--model", str(scoring_two_stage_model), "--input", str(participant),
               "--out", str(tmp_path / "out"), "--runtime", "openvino-f32"]
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split()[-1] == "False"
    assert [path.stat().st_mtime_ns for path in exports] == made  # read, not made again
    labels = read_volume(tmp_path / "out" / participant.name / "labels.nii.gz").array
    assert np.array_equal(labels, reference.labels.array)
