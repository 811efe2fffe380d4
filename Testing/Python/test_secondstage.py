"""The second, 3-D stage (secondstage.py): its card section and weights, candidates and their
truth, and detection through pipeline.detect with one or two stages, on PyTorch and on ONNX
Runtime."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json

import numpy as np
import pytest
import torch
from scipy import ndimage

from DeepMIRLib import onnxrt, secondstage
from DeepMIRLib.errors import DeepMIRError, InputError
from DeepMIRLib.lesions import label_components
from DeepMIRLib.modelfile import ModelCard, load_model, read_card, save_model
from DeepMIRLib.pipeline import _second_stage_classifier, detect, participant_from_folder
from DeepMIRLib.secondstage import CandidateNet, SecondStageSpec
from DeepMIRLib.unet import UNet2D
from DeepMIRLib.volumes import read_volume, to_canonical


def _spec(in_channels=4, **extra) -> SecondStageSpec:
    return SecondStageSpec("cnn3d", 4, in_channels, (5, 8, 8), **extra)


def _biased(winner: int, in_channels: int = 4) -> CandidateNet:
    """A classifier that scores every candidate as SECOND_STAGE_CLASSES[winner]."""
    network = CandidateNet(in_channels, 4)
    last = network.head[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([10.0 if k == winner else 0.0 for k in range(3)]))
    return network.eval()


def test_card_round_trip_with_and_without_second_stage(tmp_path):
    network = UNet2D(3, 2, base_width=2)
    card = ModelCard.for_network(network, "test", "0.1", "multiclass", ["swi", "qsm", "t2"])
    plain = save_model(network, card, tmp_path / "plain")
    data = json.loads(plain.read_text())
    assert "second_stage" not in data  # a card without it is written as before
    assert load_model(plain).second_stage is None
    assert read_card(plain).to_dict() == data

    two = copy.deepcopy(card)
    two.second_stage = _spec(min_probability={"cmb": 0.4, "iron": 0.7}, training={"data": "test"})
    classifier = _biased(1)
    path = save_model(network, two, tmp_path / "two", second_stage=classifier)
    data = json.loads(path.read_text())
    assert data["second_stage"]["weights_file"] == "two.second.safetensors"
    assert data["second_stage"]["patch"] == [5, 8, 8] and data["second_stage"]["min_probability"] == {"cmb": 0.4, "iron": 0.7}
    loaded = load_model(path)
    assert loaded.card.second_stage == SecondStageSpec.from_dict(data["second_stage"])
    assert read_card(path).to_dict() == data
    for name, tensor in classifier.state_dict().items():
        assert torch.equal(loaded.second_stage.state_dict()[name], tensor)

    (tmp_path / "two.second.safetensors").write_bytes(b"damaged")
    with pytest.raises(InputError, match="second-stage weights do not match"):
        load_model(path)
    data["second_stage"]["in_channels"] = 2
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="in_channels"):
        read_card(tmp_path / "bad.json")


def test_saving_a_model_again_gives_the_same_bytes(tmp_path):
    """The default model (U-Net, three classifiers, int8 file) saved three times: the same weights
    files to the byte, so the same sha256 in every card (safetensors orders several metadata
    keys at random on each save)."""
    model = load_model("default")
    cards = []
    for n in range(3):
        path = save_model(model.network, copy.deepcopy(model.card), tmp_path / f"copy{n}" / "model",
                          second_stage=model.second_stage_networks, int8=model.int8_file)
        loaded = load_model(path)
        cards.append((loaded.card.weights_sha256, tuple(spec.weights_sha256 for spec in loaded.card.second_stages)))
        assert (tmp_path / f"copy{n}" / "model.safetensors").read_bytes() == (tmp_path / "copy0" / "model.safetensors").read_bytes()
    assert len(cards[0][1]) == 3 and cards[0] == cards[1] == cards[2]


def test_candidates_and_their_truth_on_a_simulated_slab(slab_cohort):
    """Reference lesions proposed as candidates are labelled by their class; a piece of a
    simulated vein proposed as a CMB is labelled 'neither', caused by a vein."""
    folder = slab_cohort / "sim-41-0000"
    reference = to_canonical(read_volume(folder / "labels.nii.gz"))[0].array.astype(np.int64)
    mimics = to_canonical(read_volume(folder / "mimics.nii.gz"))[0].array.astype(np.int64)
    assert (reference == 1).any() and (mimics == 1).any()
    proposed = reference.astype(np.uint8).copy()
    # a few voxels of a vein, far from every lesion
    lesion_voxels = np.argwhere(reference > 0)
    vein = np.argwhere((mimics == 1) & (reference == 0))
    distance = np.min(np.linalg.norm(vein[:, None, :] - lesion_voxels[None, :, :], axis=2), axis=1)
    seed = vein[np.argmax(distance)]
    box = tuple(slice(max(c - 1, 0), c + 2) for c in seed)
    piece = np.zeros_like(proposed, dtype=bool)
    piece[box] = mimics[box] == 1
    proposed[piece] = 1
    probabilities = np.stack([(proposed == 1) * 0.9, (proposed == 2) * 0.8]).astype(np.float32)
    candidates = secondstage.extract_candidates(proposed, probabilities)
    n_ref = sum(label_components(reference == value)[1] for value in (1, 2))
    assert len(candidates) == n_ref + 1
    targets, causes = secondstage.candidate_truth(candidates, reference, mimics)
    vein_candidate = int(candidates.components[tuple(seed)]) - 1
    assert causes[vein_candidate] == "vein" and targets[vein_candidate] == 0
    others = [k for k in range(len(candidates)) if k != vein_candidate]
    assert [causes[k] for k in others] == [("cmb", "iron")[candidates.label[k] - 1] for k in others]
    assert all(targets[k] == candidates.label[k] for k in others)
    patches = secondstage.patches_for(np.zeros((3, *proposed.shape), np.float32), candidates, (5, 8, 8))
    assert patches.shape == (len(candidates), 4, 5, 8, 8)
    assert patches[vein_candidate, 3].sum() == piece[tuple(slice(c - 2, c + 3) if i == 0 else slice(c - 4, c + 4) for i, c in
                                                          enumerate(np.rint(candidates.centroid[vein_candidate]).astype(int)))].sum()


def test_touching_truth_calls_a_speck_beside_a_lesion_neither(slab_cohort):
    """A one-voxel candidate of background within the tolerance of a reference lesion's centroid
    but not touching it (what the extremum proposals give beside the U-Net's proposals) is a
    lesion by the centroid truth and 'neither' (cause 'none') by the touching truth; the
    reference lesions, proposed whole, are lesions by both."""
    folder = slab_cohort / "sim-41-0000"
    reference = to_canonical(read_volume(folder / "labels.nii.gz"))[0].array.astype(np.int64)
    mimics = to_canonical(read_volume(folder / "mimics.nii.gz"))[0].array.astype(np.int64)
    lesions = reference > 0
    near_lesion = ndimage.binary_dilation(lesions, np.ones((3, 3, 3), bool))
    background = np.argwhere(~near_lesion & ~ndimage.binary_dilation(near_lesion, np.ones((3, 3, 3), bool)) & (mimics == 0))
    labelled, n = label_components(lesions)
    centres = np.array(ndimage.center_of_mass(lesions, labelled, range(1, n + 1)))
    values = np.array([reference[tuple(np.argwhere(labelled == k + 1)[0])] for k in range(n)])
    tolerance = np.array([secondstage.TOLERANCES[v] for v in values])
    ratio = np.linalg.norm(background[:, None, :] - centres[None], axis=2) / tolerance[None]
    speck_index = int(np.argmin(ratio.min(axis=1)))
    assert ratio[speck_index].min() <= 1, "the slab has no background voxel within tolerance of a lesion but not touching it"
    speck, speck_class = tuple(background[speck_index]), int(values[np.argmin(ratio[speck_index])])
    proposed = reference.astype(np.uint8).copy()
    proposed[speck] = speck_class
    probabilities = np.stack([(proposed == 1) * 0.9, (proposed == 2) * 0.8]).astype(np.float32)
    candidates = secondstage.extract_candidates(proposed, probabilities)
    speck_candidate = int(candidates.components[speck]) - 1
    centroid_targets, _ = secondstage.candidate_truth(candidates, reference, mimics)
    touching_targets, touching_causes = secondstage.candidate_truth(candidates, reference, mimics, truth="touching")
    assert centroid_targets[speck_candidate] == speck_class
    assert touching_targets[speck_candidate] == 0 and touching_causes[speck_candidate] == "none"
    others = [k for k in range(len(candidates)) if k != speck_candidate]
    assert list(touching_targets[others]) == list(centroid_targets[others]) == list(candidates.label[others])
    with pytest.raises(ValueError, match="truth must be one of"):
        secondstage.candidate_truth(candidates, reference, mimics, truth="overlap")


@pytest.fixture(scope="module")
def two_stage_models(tmp_path_factory):
    """The default U-Net with a second stage that calls every candidate 'neither', and one
    that calls every candidate a CMB."""
    folder = tmp_path_factory.mktemp("two-stage")
    base = load_model("default")
    paths = {}
    for name, winner in (("neither", 0), ("cmb", 1)):
        card = copy.deepcopy(base.card)
        card.second_stage = _spec(len(card.inputs) + 1, min_probability={"cmb": 0.5, "iron": 0.5})
        paths[name] = save_model(base.network, card, folder / name, second_stage=_biased(winner, len(card.inputs) + 1))
    return paths


def test_detect_with_one_and_two_stages(slab_cohort, two_stage_models, unet_only_model):
    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    unet = detect(participant, unet_only_model, device="cpu", runtime="torch")
    permissive = detect(participant, unet_only_model, device="cpu", runtime="torch", min_probability=0)
    assert (permissive.labels.array > 0).any()

    one = detect(participant, two_stage_models["neither"], device="cpu", runtime="torch", stages=1)
    assert np.array_equal(one.labels.array, unet.labels.array)  # --stages 1: exactly the U-Net alone
    assert one.lesions == unet.lesions
    assert one.settings == unet.settings

    removed = detect(participant, two_stage_models["neither"], device="cpu", runtime="torch")  # two stages by default
    assert removed.settings["stages"] == 2 and not removed.labels.array.any() and not removed.lesions

    kept = detect(participant, two_stage_models["cmb"], device="cpu", runtime="torch", stages=2)
    assert np.array_equal(kept.labels.array > 0, permissive.labels.array > 0)  # every candidate kept, as a CMB
    assert set(np.unique(kept.labels.array)) == {0, 1}

    with pytest.raises(InputError, match="no second stage"):
        detect(participant, unet_only_model, device="cpu", stages=2)


def test_a_lower_proposal_gives_the_second_stage_more_candidates(slab_cohort, two_stage_models, tmp_path):
    """With the card's `proposal`, the candidates are where the U-Net's lesion probabilities
    sum to at least it (more than its arg-max), each of the likelier class."""
    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    permissive = detect(participant, "default", device="cpu", runtime="torch", min_probability=0, stages=1)
    loaded = load_model(two_stage_models["cmb"])
    card = copy.deepcopy(loaded.card)
    card.second_stage = dataclasses.replace(card.second_stage, proposal=0.02)
    path = save_model(loaded.network, card, tmp_path / "low", second_stage=loaded.second_stage)
    assert json.loads(path.read_text())["second_stage"]["proposal"] == 0.02
    kept = detect(participant, path, device="cpu", runtime="torch")
    assert kept.settings["second_stage_proposal"] == 0.02
    lesion_sum = permissive.probabilities["cmb"].array + permissive.probabilities["iron"].array
    assert np.array_equal(kept.labels.array > 0, lesion_sum >= 0.02)  # every candidate kept, as a CMB
    assert (kept.labels.array > 0).sum() > (permissive.labels.array > 0).sum()
    assert np.all(kept.labels.array[permissive.labels.array > 0] > 0)


def test_a_second_stage_that_decides_only_microbleeds_leaves_iron_deposits_to_the_unet(slab_cohort, two_stage_models, tmp_path):
    """With `decides: ["cmb"]`, iron deposits are the U-Net alone's (its calibrated minimum
    probability included) wherever the second stage put no microbleed; a U-Net iron deposit
    that the second stage calls a microbleed stays a microbleed."""
    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    unet = detect(participant, two_stage_models["neither"], device="cpu", runtime="torch", stages=1)
    assert (unet.labels.array == 2).any()  # the slab has iron deposits the U-Net finds
    paths = {}
    for name in ("neither", "cmb"):
        loaded = load_model(two_stage_models[name])
        card = copy.deepcopy(loaded.card)
        card.second_stage = dataclasses.replace(card.second_stage, decides=("cmb",))
        paths[name] = save_model(loaded.network, card, tmp_path / name, second_stage=loaded.second_stage)
    assert json.loads(paths["neither"].read_text())["second_stage"]["decides"] == ["cmb"]

    no_microbleeds = detect(participant, paths["neither"], device="cpu", runtime="torch")
    assert no_microbleeds.settings["second_stage_decides"] == ["cmb"]
    assert no_microbleeds.settings["min_probability"] == {"cmb": 0.0, "iron": unet.settings["min_probability"]["iron"]}
    assert np.array_equal(no_microbleeds.labels.array, np.where(unet.labels.array == 2, 2, 0))

    every_candidate_a_microbleed = detect(participant, paths["cmb"], device="cpu", runtime="torch")
    all_classes = detect(participant, two_stage_models["cmb"], device="cpu", runtime="torch")
    assert np.array_equal(every_candidate_a_microbleed.labels.array, all_classes.labels.array)
    assert set(np.unique(every_candidate_a_microbleed.labels.array)) == {0, 1}


def test_combine_stages_and_the_decides_field():
    from DeepMIRLib.pipeline import combine_stage_probabilities, combine_stages, stage_sources

    unet = np.array([[[1, 1, 0, 2, 2, 0, 2]]], np.uint8)
    second = np.array([[[0, 0, 0, 1, 1, 0, 2]]], np.uint8)
    # the microbleed the second stage removed is gone, the deposit it called a microbleed is
    # one, and its own iron decision is dropped for the U-Net's
    assert combine_stages(unet, [(second, [1])]).tolist() == [[[0, 0, 0, 1, 1, 0, 2]]]
    assert combine_stages(unet, [(np.zeros_like(second), [1])]).tolist() == [[[0, 0, 0, 2, 2, 0, 2]]]
    assert combine_stages(unet, [(second, [1, 2])]).tolist() == second.tolist()
    # one classifier per class: each decides its own class, the first given wins a voxel both claim
    iron_classifier = np.array([[[2, 0, 0, 2, 0, 2, 0]]], np.uint8)
    assert combine_stages(unet, [(second, [1]), (iron_classifier, [2])]).tolist() == [[[2, 0, 0, 1, 1, 2, 0]]]
    assert combine_stages(unet, [(iron_classifier, [2]), (second, [1])]).tolist() == [[[2, 0, 0, 2, 1, 2, 0]]]
    # two deciding iron: the later one adds its deposits where the earlier put no lesion
    assert combine_stages(unet, [(second, [1, 2]), (iron_classifier, [2])]).tolist() == [[[2, 0, 0, 1, 1, 2, 2]]]
    # each voxel's second-stage probability comes from the classifier whose lesion is there
    second_p = np.array([[[np.nan, np.nan, np.nan, 0.9, 0.9, np.nan, 0.6]]], np.float32)
    iron_p = np.array([[[0.7, np.nan, np.nan, 0.8, np.nan, 0.5, np.nan]]], np.float32)
    decisions = [(second, [1]), (iron_classifier, [2])]
    combined_p = combine_stage_probabilities(stage_sources(unet.shape, decisions), [second_p, iron_p])
    assert np.allclose(combined_p, [[[0.7, np.nan, np.nan, 0.9, 0.9, 0.5, np.nan]]], equal_nan=True)

    assert _spec().decided_keys() == ("cmb", "iron") and "decides" not in _spec().to_dict()
    spec = _spec(decides=("iron",)).to_dict()
    assert spec["decides"] == ["iron"] and SecondStageSpec.from_dict(spec).decided_keys() == ("iron",)
    assert SecondStageSpec.from_dict({**spec, "decides": ["iron", "cmb"]}).decides == ("cmb", "iron")
    for bad in ([], ["bleed"], ["cmb", "cmb"], "cmb", ["neither"]):
        with pytest.raises(InputError, match="decides"):
            SecondStageSpec.from_dict({**spec, "decides": bad})


def test_two_stages_on_onnxruntime_give_pytorchs_scores_and_labels(slab_cohort, scoring_two_stage_model):
    """The second stage's ONNX export scores a simulated participant's candidates as PyTorch
    does (to float32 rounding, in batches of any size), so the same candidates are removed and
    kept as the same class, and a two-stage detection on ONNX Runtime gives PyTorch's labels."""
    pytest.importorskip("onnxruntime", reason="the fast extra (onnxruntime, onnx) is not installed")
    pytest.importorskip("onnx", reason="the fast extra (onnxruntime, onnx) is not installed")
    folder = slab_cohort / "sim-41-0000"
    loaded = load_model(scoring_two_stage_model)
    spec = loaded.card.second_stage
    candidates = secondstage.collect_candidates([folder], loaded, spec.patch, device="cpu", runtime="torch")
    assert len(candidates.targets) > 64  # more than one batch
    on_torch = secondstage.classify(_second_stage_classifier(loaded, 0, "cpu", "torch"), candidates.patches, candidates.features)
    on_onnx = secondstage.classify(_second_stage_classifier(loaded, 0, "cpu", "onnxruntime"), candidates.patches, candidates.features)
    assert on_onnx.shape == on_torch.shape == (len(candidates.targets), 3)
    assert np.abs(on_onnx - on_torch).max() < 1e-4
    decisions = secondstage.decide(on_torch, spec.min_probability)
    assert set(decisions) == {0, 1, 2}  # scores that spread: removed, kept as CMB, kept as iron
    assert np.array_equal(secondstage.decide(on_onnx, spec.min_probability), decisions)
    assert onnxrt.second_stage_onnx_path(loaded).is_file() and onnxrt.second_stage_onnx_path(loaded) != onnxrt.onnx_path(loaded)

    participant = participant_from_folder(folder)
    torch_detection = detect(participant, scoring_two_stage_model, device="cpu", runtime="torch")
    onnx_detection = detect(participant, scoring_two_stage_model, device="cpu", runtime="onnxruntime")
    assert onnx_detection.settings["stages"] == torch_detection.settings["stages"] == 2
    assert set(np.unique(torch_detection.labels.array)) == {0, 1, 2}
    assert np.array_equal(onnx_detection.labels.array, torch_detection.labels.array)


def test_the_second_stages_export_is_named_by_its_weights(scoring_two_stage_model, unet_only_model):
    """The second stage's export is named by the sha256 of its checked weights file, found
    without building the network, and by its tensors in memory once they are changed."""
    loaded = load_model(scoring_two_stage_model)
    key = loaded.second_stage_weights_key()
    assert key == f"file:{loaded.card.second_stage.weights_sha256}" and loaded.has_second_stage
    assert loaded._second_stages == [None]  # not built to answer
    path = onnxrt.second_stage_onnx_path(loaded)
    assert loaded.second_stage_weights_key() == key  # built, unchanged: the same export
    original = loaded.second_stage.head[-1].bias.clone()
    with torch.no_grad():
        loaded.second_stage.head[-1].bias += 1.0
    assert loaded.second_stage_weights_key().startswith("memory:") and onnxrt.second_stage_onnx_path(loaded) != path
    with torch.no_grad():
        loaded.second_stage.head[-1].bias.copy_(original)
    assert loaded.second_stage_weights_key() == key and onnxrt.second_stage_onnx_path(loaded) == path
    assert not load_model(unet_only_model).has_second_stage
    with pytest.raises(ValueError, match="no second stage"):
        load_model(unet_only_model).second_stage_weights_key()


def test_without_the_fast_extra_both_stages_run_on_pytorch(slab_cohort, scoring_two_stage_model, monkeypatch):
    """Without onnxruntime the runtime "auto" runs the U-Net and the second stage on PyTorch,
    and "onnxruntime" says what to install."""
    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    reference = detect(participant, scoring_two_stage_model, device="cpu", runtime="torch")

    def refuse(model):
        raise AssertionError("ONNX Runtime used without the fast extra")

    monkeypatch.setattr(onnxrt, "available", lambda: False)
    monkeypatch.setattr(onnxrt, "network_for", refuse)
    monkeypatch.setattr(onnxrt, "second_stage_for", refuse)
    automatic = detect(participant, scoring_two_stage_model, device="cpu", runtime="auto")
    assert automatic.settings["stages"] == 2
    assert np.array_equal(automatic.labels.array, reference.labels.array)
    with pytest.raises(DeepMIRError, match="fast extra"):
        detect(participant, scoring_two_stage_model, device="cpu", runtime="onnxruntime")


def test_proposal_labels():
    probabilities = np.zeros((2, 1, 1, 4), np.float32)
    probabilities[:, 0, 0] = [[0.9, 0.01, 0.02, 0.0], [0.05, 0.02, 0.0, 0.01]]
    argmax = np.array([[[1, 0, 0, 0]]], np.uint8)
    assert secondstage.proposal_labels(argmax, probabilities, [1, 2], None) is argmax
    assert secondstage.proposal_labels(argmax, probabilities, [1, 2], 0.02).tolist() == [[[1, 2, 1, 0]]]
    spec = _spec(proposal=0.05).to_dict()
    assert SecondStageSpec.from_dict(spec).proposal == 0.05
    assert "proposal" not in _spec().to_dict()  # cards without it are written as before
    for bad in (0, 0.7, "x"):
        with pytest.raises(InputError, match="proposal"):
            SecondStageSpec.from_dict({**spec, "proposal": bad})


def test_decide():
    scores = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.3, 0.6], [0.5, 0.3, 0.2]], np.float32)
    assert secondstage.decide(scores, {"cmb": 0.5, "iron": 0.5}).tolist() == [0, 1, 2, 0]
    assert secondstage.decide(scores, {"cmb": 0.25, "iron": 0.9}).tolist() == [0, 1, 0, 1]


def test_suppress_keeps_the_largest_piece_of_a_lesion():
    components = np.zeros((12, 12, 12), np.int32)
    components[2:4, 2:4, 2:4] = 1  # 8 voxels
    components[2, 2, 5] = 2  # a piece 3 voxels away
    components[9, 9, 9] = 3  # far away
    labels = np.where(components > 0, 2, 0).astype(np.uint8)
    probabilities = np.stack([np.zeros(labels.shape), (labels == 2) * 0.9]).astype(np.float32)
    candidates = secondstage.extract_candidates(labels, probabilities)
    assert len(candidates) == 3
    decisions = np.full(3, 2, np.uint8)
    assert secondstage.suppress(candidates, decisions, {"iron": 5.0}).tolist() == [2, 0, 2]
    assert secondstage.suppress(candidates, decisions, {"cmb": 5.0}).tolist() == [2, 2, 2]
    assert secondstage.suppress(candidates, decisions, {}).tolist() == [2, 2, 2]


def test_suppression_spares_candidates_of_a_size():
    """With `suppression_spares`, a candidate of at least that many voxels near a larger one is
    kept (a second deposit) and itself suppresses smaller ones near it; smaller pieces go as
    before; the footprint a calibration keeps gives the same decisions."""
    components = np.zeros((16, 16, 16), np.int32)
    components[2:5, 2:5, 2:5] = 1  # 27 voxels
    components[2:4, 2:4, 6:8] = 2  # 8 voxels, centroid 3.6 voxels from the first's
    components[2, 2, 10] = 3  # 1 voxel, 3.6 from the second, 7.1 from the first
    components[12, 12, 12] = 4  # far away
    labels = np.where(components > 0, 2, 0).astype(np.uint8)
    probabilities = np.stack([np.zeros(labels.shape), (labels == 2) * 0.9]).astype(np.float32)
    candidates = secondstage.extract_candidates(labels, probabilities)
    assert len(candidates) == 4
    decisions = np.full(4, 2, np.uint8)
    centroid_x = candidates.centroid[:, 2].tolist()
    largest, second, single = (centroid_x.index(x) for x in (3.0, 6.5, 10.0))
    every_piece = secondstage.suppress(candidates, decisions, {"iron": 5.0})
    assert every_piece[second] == 0 and every_piece[single] == 2  # the single voxel is over 5 from the first
    spared = secondstage.suppress(candidates, decisions, {"iron": 5.0}, {"iron": 8})
    assert spared[second] == 2 and spared[single] == 0 and spared[largest] == 2
    assert secondstage.suppress(candidates, decisions, {"iron": 5.0}, {"iron": 9}).tolist() == every_piece.tolist()
    assert secondstage.suppress(candidates, decisions, {"iron": 5.0}, {"cmb": 1}).tolist() == every_piece.tolist()
    spec = _spec(min_probability={"cmb": 0.5, "iron": 0.5}, suppression={"iron": 5.0}, suppression_spares={"iron": 8})
    scores = np.tile(np.array([[0.1, 0.1, 0.8]], np.float32), (4, 1))
    assert secondstage.decide_candidates(candidates, scores, spec).tolist() == spared.tolist()
    assert secondstage.decide_candidates(secondstage.CandidateFootprint.of(candidates), scores, spec).tolist() == spared.tolist()


def test_the_suppression_spares_field():
    from DeepMIRLib.cli import second_stage_line
    from DeepMIRLib.pipeline import detection_settings

    spec = _spec(suppression={"cmb": 3.0, "iron": 5.0}, suppression_spares={"iron": 8}).to_dict()
    assert SecondStageSpec.from_dict(spec).suppression_spares == {"iron": 8}
    assert "suppression_spares" not in _spec().to_dict()  # cards without it are written as before
    assert "iron within 5 (sparing iron of >= 8 voxels)" in second_stage_line(SecondStageSpec.from_dict(spec))
    for bad in ({}, {"iron": 0}, {"iron": 2.5}, {"iron": True}, {"vein": 4}, [8], "x"):
        with pytest.raises(InputError, match="suppression_spares"):
            SecondStageSpec.from_dict({**spec, "suppression_spares": bad})
    card = ModelCard.for_network(UNet2D(3, 2, base_width=2), "test", "0.1", "multiclass", ["swi", "qsm", "t2"])
    card.second_stage = SecondStageSpec.from_dict(spec)
    settings = detection_settings(card, "auto", 0.5, 1, None, "auto", False, stages=2)
    assert settings["second_stage_suppression_spares"] == {"iron": 8}  # a result without the rule is not reused


def test_the_average_flips_field():
    from DeepMIRLib.cli import second_stage_line
    from DeepMIRLib.pipeline import detection_settings

    spec = _spec(average_flips=True).to_dict()
    assert spec["average_flips"] is True and SecondStageSpec.from_dict(spec).average_flips is True
    assert "average_flips" not in _spec().to_dict() and SecondStageSpec.from_dict(_spec().to_dict()).average_flips is False
    assert "flips" in second_stage_line(SecondStageSpec.from_dict(spec)) and "flips" not in second_stage_line(_spec())
    for bad in (1, 0, "true", None, [True]):
        with pytest.raises(InputError, match="average_flips"):
            SecondStageSpec.from_dict({**spec, "average_flips": bad})
    card = ModelCard.for_network(UNet2D(3, 2, base_width=2), "test", "0.1", "multiclass", ["swi", "qsm", "t2"])
    card.second_stage = SecondStageSpec.from_dict(spec)
    settings = detection_settings(card, "auto", 0.5, 1, None, "auto", False, stages=2)
    assert settings["second_stage_average_flips"] is True  # a result scored without the flips is not reused


def test_flip_averaged_scores_are_the_mean_over_the_flips_and_do_not_change_under_them(slab_cohort, scoring_two_stage_model):
    """`classify(average_flips=True)` on a simulated participant's candidates is the mean of the
    classifier's scores on the patches and their left-right, front-back and both-ways flips, on
    PyTorch and on ONNX Runtime alike; so flipping every patch first leaves it as it is, which
    the classifier's own scores do not."""
    loaded = load_model(scoring_two_stage_model)
    candidates = secondstage.collect_candidates([slab_cohort / "sim-41-0000"], loaded, loaded.card.second_stage.patch,
                                                device="cpu", runtime="torch")
    patches, features = candidates.patches, candidates.features
    network = loaded.second_stage_network(0)
    plain = secondstage.classify(network, patches, features)
    averaged = secondstage.classify(network, patches, features, average_flips=True)
    by_hand = np.mean([secondstage.classify(network, np.ascontiguousarray(view), features)
                       for view in (patches, patches[..., ::-1], patches[..., ::-1, :], patches[..., ::-1, ::-1])], axis=0)
    assert np.allclose(averaged, by_hand, atol=1e-6) and np.allclose(averaged.sum(axis=1), 1, atol=1e-5)
    mirrored = np.ascontiguousarray(patches[..., ::-1])
    assert np.allclose(secondstage.classify(network, mirrored, features, average_flips=True), averaged, atol=1e-5)
    assert np.abs(secondstage.classify(network, mirrored, features) - plain).max() > 1e-3
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        on_onnx = secondstage.classify(_second_stage_classifier(loaded, 0, "cpu", "onnxruntime"), patches, features, average_flips=True)
        assert np.abs(on_onnx - averaged).max() < 1e-4


def test_contrast_augmentation_scales_each_image_channel_and_leaves_the_candidate_mask(slab_cohort):
    """augment_patches with a contrast range, on a simulated participant's candidate patches:
    undoing the same flips and turn, every image channel of every patch is the original times
    one factor in the range (each patch and channel its own), and the candidate's voxels are
    untouched; without a range the patches are only flipped and turned."""
    loaded = load_model("default")
    candidates = secondstage.collect_candidates([slab_cohort / "sim-41-0000"], loaded, (9, 20, 20), device="cpu", runtime="torch")
    patches = candidates.patches
    assert len(patches) >= 4 and patches.shape[1] == 4

    def undo(augmented, seed):  # the same draws as augment_patches: flips first, then the turn
        rng = np.random.default_rng(seed)
        flip_x, flip_y, turns = rng.random() < 0.5, rng.random() < 0.5, rng.integers(4)
        out = np.rot90(augmented, -turns, axes=(3, 4))
        out = out[..., ::-1, :] if flip_y else out
        return out[..., ::-1] if flip_x else out

    plain = undo(secondstage.augment_patches(patches, np.random.default_rng(3)), 3)
    assert np.array_equal(plain, patches)
    scaled = undo(secondstage.augment_patches(patches, np.random.default_rng(3), (0.6, 1.4)), 3)
    assert np.array_equal(scaled[:, 3], patches[:, 3])
    energy = np.sum(patches[:, :3] ** 2, axis=(2, 3, 4))
    assert (energy > 0).all()
    factors = np.sum(scaled[:, :3] * patches[:, :3], axis=(2, 3, 4)) / energy  # least squares: scaled = factor * original
    assert np.allclose(scaled[:, :3], patches[:, :3] * factors[..., None, None, None], rtol=1e-5, atol=1e-5)
    assert 0.6 <= factors.min() < 0.7 and 1.3 < factors.max() <= 1.4  # the range, and drawn across it
    assert (np.ptp(factors, axis=1) > 1e-3).mean() > 0.9  # each channel its own factor
    with pytest.raises(InputError, match="above the high one"):
        secondstage.check_contrast((1.2, 0.8))
    with pytest.raises(InputError, match="not a finite number"):
        secondstage.check_contrast(("0", "1"))
    with pytest.raises(InputError, match="not a pair of factors"):
        secondstage.check_contrast((0.6,))


@pytest.mark.parametrize("option, message", [(["--contrast", "1.4", "0.6"], "--contrast: the low factor 1.4 is above the high one"),
                                             (["--learning-rate", "0"], "--learning-rate: 0.0 is not a finite number"),
                                             (["--extrema", "-3.5", "nan"], "--extrema"),
                                             (["--suppression-spares", "iron=0"], "--suppression-spares iron: 0 is not a whole number"),
                                             (["--suppression-spares", "vein=8"], "takes KEY=VOXELS once per class key (cmb, iron)"),
                                             (["--suppression-spares", "iron=8", "iron=9"], "takes KEY=VOXELS once per class key"),
                                             (["--suppression-spares", "iron=8", "--fine-tune"], "keeps its own suppression rules")])
def test_the_training_command_refuses_a_wrong_option_before_reading_any_case(option, message, tmp_path, capsys):
    """A wrong option ends `python -m DeepMIRLib.secondstage` with argparse's usage error (exit
    2) and the option's own message, before the (missing) training folders are looked at."""
    with pytest.raises(SystemExit) as stopped:
        secondstage.main(["--train", str(tmp_path / "absent"), "--calibrate", str(tmp_path / "absent"), "--out",
                          str(tmp_path / "model.json"), *option])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_a_card_with_average_flips_detects_with_the_averaged_scores(slab_cohort, scoring_two_stage_model, tmp_path):
    """A detection with a card whose second stage averages over flips records it in its settings
    and carries the averaged score of each kept lesion, not the classifier's score of the patch."""
    from DeepMIRLib import candidates as candidate_module

    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    loaded = load_model(scoring_two_stage_model)
    card = copy.deepcopy(loaded.card)
    card.second_stage = dataclasses.replace(card.second_stage, average_flips=True)
    flipping = load_model(save_model(loaded.network, card, tmp_path / "flips", second_stage=loaded.second_stage_network(0)))
    detection = detect(participant, flipping, device="cpu", runtime="torch")
    assert detection.settings["second_stage_average_flips"] is True
    assert "second_stage_average_flips" not in detect(participant, loaded, device="cpu", runtime="torch").settings

    spec = flipping.card.second_stage
    stack, labels, probabilities = secondstage.unet_arrays(detect(participant, loaded, device="cpu", runtime="torch",
                                                                  min_probability=0, stages=1), loaded)
    proposed = candidate_module.second_stage_proposals(spec, labels, probabilities, [1, 2], stack, loaded.card.inputs)
    found = candidate_module.extract_candidates(proposed, probabilities, [1, 2])
    patches = candidate_module.patches_for(stack, found, spec.patch)
    averaged = secondstage.classify(loaded.second_stage_network(0), patches, found.features, average_flips=True)
    plain = secondstage.classify(loaded.second_stage_network(0), patches, found.features)
    assert detection.lesions
    for lesion in detection.lesions:
        assert np.isclose(averaged[:, lesion.label], lesion.second_stage_prob, atol=1e-4).any()
    assert not all(np.isclose(plain[:, lesion.label], lesion.second_stage_prob, atol=1e-4).any() for lesion in detection.lesions)


def test_a_footprint_counts_lesions_as_the_relabelled_map_does(slab_cohort):
    """CandidateFootprint (what a calibration keeps of each participant's candidates) gives the
    centroids of `relabel`'s label map, to the bit, for many sets of decisions: touching
    candidates given one label merge into one lesion there as in the map."""
    model = load_model("default")
    detection = detect(participant_from_folder(slab_cohort / "sim-41-0000"), model, device="cpu", min_probability=0, stages=1)
    _, labels, probabilities = secondstage.unet_arrays(detection, model)
    candidates = secondstage.extract_candidates(secondstage.proposal_labels(labels, probabilities, (1, 2), 0.02), probabilities)
    footprint = secondstage.CandidateFootprint.of(candidates)
    assert len(footprint) == len(candidates) > 10 and len(footprint.touching) > 0
    rng = np.random.default_rng(0)
    every_one = [np.full(len(candidates), value, np.uint8) for value in (1, 2)]
    for decisions in every_one + [rng.integers(0, 3, len(candidates)).astype(np.uint8) for _ in range(10)]:
        from_map = secondstage._centroids(secondstage.relabel(candidates, decisions))
        from_footprint = footprint.lesion_centroids(decisions)
        for value in (1, 2):
            assert sorted(map(tuple, from_map[value])) == sorted(map(tuple, from_footprint[value]))
    merged = footprint.lesion_centroids(every_one[0])[1]
    assert len(merged) < len(candidates)  # the touching pairs are one microbleed each


def test_cli_stages_2_needs_a_second_stage(slab_cohort, unet_only_model, tmp_path, capsys):
    from DeepMIRLib.cli import main

    status = main(["predict", "--model", str(unet_only_model), "--stages", "2", "--input", str(slab_cohort / "sim-41-0000"),
                   "--out", str(tmp_path / "out"), "--device", "cpu"])
    assert status != 0
    assert "has no second stage" in capsys.readouterr().err


def test_build_a_second_stage_from_training_cases(slab_cohort, tmp_path):
    """build_two_stage_model on training cases (as the experiment gives them): the classifier
    learns from the default U-Net's candidates in two participants, is calibrated on the third,
    and the card records the proposal, the participants and the calibration figures."""
    from DeepMIRLib.training import find_training_cases

    cases = find_training_cases(slab_cohort)
    lines = []
    section = secondstage.build_two_stage_model("default", cases[:2], cases[2:], tmp_path / "two", width=4, epochs=2,
                                                suppression_spares={"iron": 8}, log=lines.append)
    assert section["proposal"] == secondstage.DEFAULT_PROPOSAL and section["suppression_spares"] == {"iron": 8}
    assert "sim-41-0000, sim-41-0001" in section["training"]["data"] and "sim-41-0002" in section["calibration"]["data"]
    assert set(section["calibration"]["figures"]) == {"unet_calibrated", "unet_argmax", "two_stages"}
    assert "truth" not in section["training"]  # the centroid truth, the default, as every earlier card's
    assert "candidates: 2/2 training participants" in lines and "calibration: 1/1 participants" in lines
    detection = detect(participant_from_folder(slab_cohort / "sim-41-0002"), tmp_path / "two.json", device="cpu", runtime="torch")
    assert detection.settings["stages"] == 2 and detection.settings["second_stage_proposal"] == secondstage.DEFAULT_PROPOSAL
    assert detection.settings["second_stage_suppression_spares"] == {"iron": 8}


def test_fine_tuning_a_classifier_keeps_its_suppression_rules(two_classifier_model, slab_cohort, tmp_path):
    """The default's iron classifier (for the nominal echo time) spares deposits of 8 voxels or
    more from suppression (a rule chosen for it); trained further, it keeps that rule, its width
    and its patch."""
    import copy

    from DeepMIRLib.modelfile import load_model, save_model
    from DeepMIRLib.training import find_training_cases

    default = load_model(two_classifier_model)
    index = next(i for i, spec in enumerate(default.card.second_stages) if spec.decided_keys() == ("iron",))
    start_spec = default.card.second_stages[index]
    assert start_spec.suppression_spares
    card = copy.deepcopy(default.card)
    card.second_stages = (start_spec,)
    save_model(default.network, card, tmp_path / "iron-only.json", second_stage=[default.second_stage_network(index)])
    cases = find_training_cases(slab_cohort)
    with pytest.raises(InputError, match="keeps its own suppression rules"):  # library callers are refused as the CLI's are
        secondstage.build_two_stage_model(tmp_path / "iron-only.json", cases[:2], cases[2:], tmp_path / "refused", epochs=1,
                                          fine_tune=True, suppression_spares={"iron": 8})
    assert not (tmp_path / "refused").exists()
    section = secondstage.build_two_stage_model(tmp_path / "iron-only.json", cases[:2], cases[2:], tmp_path / "tuned", epochs=1,
                                                fine_tune=True, learning_rate=1e-4, truth="touching", contrast=(0.6, 1.4),
                                                log=lambda line: None)
    assert section["training"]["truth"] == secondstage.TOUCHING_TRUTH
    assert "contrast multiplied by a factor drawn from [0.6, 1.4]" in section["training"]["augmentation"]
    assert section["suppression_spares"] == start_spec.suppression_spares
    assert section["suppression"] == start_spec.suppression
    assert (section["width"], tuple(section["patch"])) == (start_spec.width, tuple(start_spec.patch))
    assert "fine_tuned_from" in section["training"]


def test_a_second_stage_needs_lesion_candidates(slab_cohort, tmp_path):
    from DeepMIRLib.training import find_training_cases
    from DeepMIRLib.volumes import write_volume

    case = find_training_cases(slab_cohort)[0]
    labels = read_volume(case.labels)
    write_volume(labels.with_array(np.zeros_like(labels.array)), tmp_path / "no-lesions.nii.gz")
    lesion_free = [dataclasses.replace(case, labels=tmp_path / "no-lesions.nii.gz")]  # every candidate a false one
    with pytest.raises(InputError, match="is a microbleed or an iron deposit: nothing to learn"):
        secondstage.build_two_stage_model("default", lesion_free, lesion_free, tmp_path / "none", width=4, epochs=1, log=lambda line: None)


def test_limit_negatives_keeps_every_lesion_candidate(slab_cohort):
    """At most `per_lesion` 'neither' candidates per lesion candidate, drawn at random; every
    lesion candidate kept; a set within the limit unchanged."""
    found = secondstage.collect_candidates(sorted(slab_cohort.glob("sim-*")), "default", (5, 8, 8), proposals=(0.02,), runtime="torch")
    lesions = int((found.targets > 0).sum())
    assert lesions and (found.targets == 0).sum() > 0
    limited = secondstage.limit_negatives(found, 0, seed=1)
    assert len(limited.targets) == lesions and (limited.targets > 0).all()
    assert np.array_equal(limited.patches, found.patches[found.targets > 0])
    assert secondstage.limit_negatives(found, 10_000) is found


def test_extremum_proposals_reach_the_microbleeds_the_unet_does_not_propose(slab_cohort):
    from DeepMIRLib.candidates import EXTREMUM_CLEARANCE, extremum_proposals, second_stage_proposals

    loaded = load_model("default")
    case = secondstage._training_case(slab_cohort / "sim-41-0000")
    stack, labels, probabilities = secondstage._permissive_unet(case, loaded, {})
    reference = secondstage._canonical_map(case.labels)
    proposals = secondstage.proposal_labels(labels, probabilities, [1, 2], 0.02)
    extrema = {"swi_below": -3.5, "qsm_above": 2.0}
    assert extremum_proposals(proposals, stack, loaded.card.inputs, None) is proposals
    combined = extremum_proposals(proposals, stack, loaded.card.inputs, extrema)
    added = (combined > 0) & (proposals == 0)
    assert np.array_equal(combined[proposals > 0], proposals[proposals > 0])  # the U-Net's proposals untouched
    assert set(np.unique(combined[added])) == {1}  # added as microbleed candidates
    assert not (added & ndimage.binary_dilation(proposals > 0, iterations=EXTREMUM_CLEARANCE)).any()
    # the microbleeds of this dense slab that no proposal comes within 2 voxels of: most are reached now
    microbleeds, n = label_components(reference == 1)
    unproposed = [k for k in range(1, n + 1) if not ndimage.binary_dilation(proposals > 0, iterations=2)[microbleeds == k].any()]
    reached = [k for k in unproposed if ndimage.binary_dilation(added, iterations=2)[microbleeds == k].any()]
    assert len(unproposed) >= 5 and len(reached) >= len(unproposed) / 2
    stricter = extremum_proposals(proposals, stack, loaded.card.inputs, {"swi_below": -5.0, "qsm_above": 3.0})
    assert ((stricter > 0) & (proposals == 0)).sum() < added.sum() and not ((stricter > 0) & ~(combined > 0)).any()
    spec = dataclasses.replace(loaded.card.second_stage, extrema=extrema)
    assert np.array_equal(second_stage_proposals(spec, labels, probabilities, [1, 2], stack, loaded.card.inputs), combined)


def test_extremum_proposals_are_those_of_whole_volume_filters(slab_cohort):
    """The sparse neighbourhood checks give the voxels that the definition gives with
    ndimage's filters and a dilation over the whole volume, also where the volume's faces cut
    through the brain (a cropped stack) and with thresholds that take many voxels."""
    from DeepMIRLib.candidates import EXTREMUM_CLEARANCE, QSM_MAXIMUM_WINDOW, SWI_MINIMUM_WINDOW, extremum_proposals

    def by_filters(proposals, stack, extrema):
        swi, qsm = stack[0], stack[1]
        found = ((swi == ndimage.minimum_filter(swi, size=SWI_MINIMUM_WINDOW)) & (swi < extrema["swi_below"])
                 & (ndimage.maximum_filter(qsm, size=QSM_MAXIMUM_WINDOW) > extrema["qsm_above"]) & np.any(stack != 0, axis=0))
        found &= ~ndimage.binary_dilation(proposals > 0, iterations=EXTREMUM_CLEARANCE)
        return np.where(found, 1, proposals).astype(proposals.dtype)

    loaded = load_model("default")
    case = secondstage._training_case(slab_cohort / "sim-41-0001")
    stack, labels, probabilities = secondstage._permissive_unet(case, loaded, {})
    proposals = secondstage.proposal_labels(labels, probabilities, [1, 2], 0.02)
    z, y, x = (np.flatnonzero(np.any(stack[0] != 0, axis=axes)) for axes in ((1, 2), (0, 2), (0, 1)))
    cropped = (slice(None), slice(z[0] + 3, z[-1] - 3), slice((y[0] + y[-1]) // 2 - 20, y[-1]), slice(x[0] + 10, (x[0] + x[-1]) // 2))
    for extrema in ({"swi_below": -3.5, "qsm_above": 2.0}, {"swi_below": -1.0, "qsm_above": 0.5}):
        for images, candidates in ((stack, proposals), (stack[cropped], proposals[cropped[1:]])):
            expected = by_filters(candidates, images, extrema)
            assert (expected != candidates).sum() > 0
            assert np.array_equal(extremum_proposals(candidates, images, loaded.card.inputs, extrema), expected)


def test_the_extrema_field(tmp_path):
    from DeepMIRLib.cli import second_stage_line

    spec = _spec(extrema={"swi_below": -3.5, "qsm_above": 2}).to_dict()
    assert SecondStageSpec.from_dict(spec).extrema == {"swi_below": -3.5, "qsm_above": 2.0}
    assert "SWI minima below -3.5 SD beside QSM above 2 SD" in second_stage_line(SecondStageSpec.from_dict(spec))  # deepmir info
    assert "extrema" not in _spec().to_dict()  # cards without it are written as before
    for bad in ({"swi_below": 1.0, "qsm_above": 2.0}, {"swi_below": -3.0, "qsm_above": 0}, {"swi_below": -3.0}, [-3, 2], "x"):
        with pytest.raises(InputError, match="extrema"):
            SecondStageSpec.from_dict({**spec, "extrema": bad})
    from DeepMIRLib.pipeline import detection_settings

    with_qsm = ModelCard.for_network(UNet2D(3, 2, base_width=2), "test", "0.1", "multiclass", ["swi", "qsm", "t2"])
    with_qsm.second_stage = _spec(extrema={"swi_below": -3.5, "qsm_above": 2.0})
    settings = detection_settings(with_qsm, "auto", 0.5, 1, None, "auto", False, stages=2)
    assert settings["second_stage_extrema"] == {"swi_below": -3.5, "qsm_above": 2.0}  # a result of other extrema is not reused
    with_qsm.second_stage = _spec()
    assert "second_stage_extrema" not in detection_settings(with_qsm, "auto", 0.5, 1, None, "auto", False, stages=2)
    network = UNet2D(2, 2, base_width=2)
    card = ModelCard.for_network(network, "test", "0.1", "multiclass", ["swi", "t2"])
    card.second_stage = _spec(in_channels=3, extrema={"swi_below": -3.5, "qsm_above": 2.0})
    with pytest.raises(InputError, match="extrema needs SWI and QSM"):
        save_model(network, card, tmp_path / "no-qsm", second_stage=CandidateNet(3, 4))


def test_keep_unet_keeps_the_lesions_the_unet_is_sure_of_where_the_classifier_sees_a_lesion():
    """`keep_unet` keeps a U-Net candidate of a decided class as the U-Net's class where the
    U-Net's highest probability of it reaches `unet_probability` and the classifier's lesion
    probability (1 - 'neither') `lesion_probability`, whichever lesion class it prefers; the
    footprint a calibration keeps gives the same decisions."""
    components = np.zeros((16, 16, 16), np.int32)
    for k, corner in enumerate((1, 5, 9, 13)):
        components[corner:corner + 2, corner:corner + 2, corner:corner + 2] = k + 1
    labels = np.where(components == 4, 1, np.where(components > 0, 2, 0)).astype(np.uint8)  # three iron, one CMB
    peak = np.array([0.0, 0.9995, 0.99, 0.9995, 0.9995], np.float32)[components]
    probabilities = np.stack([np.where(labels == 1, peak, 0), np.where(labels == 2, peak, 0)]).astype(np.float32)
    candidates = secondstage.extract_candidates(labels, probabilities)
    assert candidates.label.tolist() == [1, 2, 2, 2]  # CMB first (extract_candidates' class order)
    prefers_cmb = [0.05, 0.6, 0.35]  # a lesion (0.95), but neither class reaches its minimum
    scores = np.array([prefers_cmb, prefers_cmb, prefers_cmb, [0.6, 0.2, 0.2]], np.float32)
    minimum = {"cmb": 0.95, "iron": 0.8}
    spec = _spec(min_probability=minimum, decides=("iron",), keep_unet={"unet_probability": 0.999, "lesion_probability": 0.5})
    assert secondstage.decide(scores, minimum).tolist() == [0, 0, 0, 0]
    # CMB: not a class this stage decides; iron at 0.9995 kept; at 0.99 not; lesion probability 0.4 not
    assert secondstage.decide_candidates(candidates, scores, spec).tolist() == [0, 2, 0, 0]
    footprint = secondstage.CandidateFootprint.of(candidates)
    assert secondstage.decide_candidates(footprint, scores, spec).tolist() == [0, 2, 0, 0]
    both = dataclasses.replace(spec, decides=None)
    assert secondstage.decide_candidates(candidates, scores, both).tolist() == [1, 2, 0, 0]
    assert secondstage.decide_candidates(candidates, scores, dataclasses.replace(spec, keep_unet=None)).tolist() == [0, 0, 0, 0]


def test_the_keep_unet_field(tmp_path):
    from DeepMIRLib.cli import second_stage_line
    from DeepMIRLib.pipeline import detection_settings

    keep = {"unet_probability": 0.999, "lesion_probability": 0.5}
    spec = _spec(decides=("iron",), keep_unet=keep).to_dict()
    assert SecondStageSpec.from_dict(spec).keep_unet == keep
    assert "keep_unet" not in _spec().to_dict()  # cards without it are written as before
    assert "probability >= 0.999 where the classifier's lesion probability is >= 0.5" in second_stage_line(SecondStageSpec.from_dict(spec))
    for bad in ({"unet_probability": 0, "lesion_probability": 0.5}, {"unet_probability": 0.9, "lesion_probability": 1.5},
                {"unet_probability": 0.9}, {**keep, "other": 1}, [0.9, 0.5], "x"):
        with pytest.raises(InputError, match="keep_unet"):
            SecondStageSpec.from_dict({**spec, "keep_unet": bad})
    card = ModelCard.for_network(UNet2D(3, 2, base_width=2), "test", "0.1", "multiclass", ["swi", "qsm", "t2"])
    card.second_stage = SecondStageSpec.from_dict(spec)
    settings = detection_settings(card, "auto", 0.5, 1, None, "auto", False, stages=2)
    assert settings["second_stage_keep_unet"] == keep  # a result without the rule is not reused


def test_an_iron_stage_keeping_the_unets_deposits_gives_them_back(slab_cohort, two_stage_models, tmp_path):
    """On a simulated participant, an iron-deciding classifier that calls every candidate a
    microbleed leaves no iron deposit; with `keep_unet` it gives back exactly the U-Net's
    permissive iron deposits whose highest iron probability reaches the card's minimum."""
    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    permissive = detect(participant, "default", device="cpu", runtime="torch", min_probability=0, stages=1)
    iron = permissive.labels.array == 2
    labelled, n = label_components(iron)
    peaks = ndimage.maximum(permissive.probabilities["iron"].array, labelled, range(1, n + 1))
    assert n >= 2 and (peaks < 0.999).any() and (peaks >= 0.999).any()  # the slab has deposits on both sides of the minimum
    loaded = load_model(two_stage_models["cmb"])
    found = {}
    for name, keep in (("none", None), ("any", 1e-6), ("sure", 0.999)):
        card = copy.deepcopy(loaded.card)
        card.second_stage = dataclasses.replace(card.second_stage, decides=("iron",),
                                                keep_unet=keep and {"unet_probability": keep, "lesion_probability": 0.5})
        path = save_model(loaded.network, card, tmp_path / name, second_stage=loaded.second_stage)
        found[name] = detect(participant, path, device="cpu", runtime="torch").labels.array == 2
    assert not found["none"].any()
    assert np.array_equal(found["any"], iron)
    assert np.array_equal(found["sure"], np.isin(labelled, np.flatnonzero(peaks >= 0.999) + 1))


def test_each_lesion_carries_the_second_stages_probability_of_its_class(slab_cohort, scoring_two_stage_model, tmp_path):
    """A two-stage detection's lesions carry the classifier's probability of their class: the
    highest over the candidates each holds, as scoring the candidates of a permissive U-Net run
    independently gives it; the U-Net alone gives none; the lesion table keeps it."""
    from DeepMIRLib import candidates as candidate_module
    from DeepMIRLib.lesions import read_lesions
    from DeepMIRLib.results import write_detection

    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    loaded = load_model(scoring_two_stage_model)
    spec = loaded.card.second_stage
    two = detect(participant, loaded, device="cpu", runtime="torch")
    assert {lesion.label for lesion in two.lesions} == {1, 2}

    stack, labels, probabilities = secondstage.unet_arrays(detect(participant, loaded, device="cpu", runtime="torch",
                                                                  min_probability=0, stages=1), loaded)
    proposed = candidate_module.second_stage_proposals(spec, labels, probabilities, [1, 2], stack, loaded.card.inputs)
    found = candidate_module.extract_candidates(proposed, probabilities, [1, 2])
    scores = secondstage.classify(loaded.second_stage_network(0), candidate_module.patches_for(stack, found, spec.patch), found.features)
    decisions = candidate_module.decide_candidates(found, scores, spec)
    canonical = to_canonical(two.labels)[0].array
    expected = []
    for value in (1, 2):
        labelled, _ = label_components(canonical == value)
        for number, box in enumerate(ndimage.find_objects(labelled), start=1):
            inside = labelled[box] == number
            held = [k - 1 for k in np.unique(found.components[box][inside]) if k and decisions[k - 1] == value]
            expected.append((value, int(inside.sum()), round(max(float(scores[k, value]) for k in held), 4)))
    carried = [(lesion.label, lesion.voxels, round(lesion.second_stage_prob, 4)) for lesion in two.lesions]
    assert sorted(carried) == sorted(expected)
    assert all(spec.min_probability["cmb"] <= p <= 1 for _, _, p in carried)

    table = read_lesions(write_detection(two, tmp_path / "two") / "lesions.tsv")
    assert [round(lesion.second_stage_prob, 4) for lesion in table] == [p for _, _, p in carried]
    one = detect(participant, loaded, device="cpu", runtime="torch", stages=1)
    assert one.lesions and all(np.isnan(lesion.second_stage_prob) for lesion in one.lesions)


def test_class_key_values_takes_each_class_key_once_with_a_value():
    """--per-class, --second-opinion and --suppression-spares read KEY=VALUE entries alike."""
    assert secondstage.class_key_values(["iron=8", "cmb=a=b.json"], "--x", "V") == {"iron": "8", "cmb": "a=b.json"}
    for entries in (["iron=8", "iron=9"], ["vein=8"], ["iron="], ["iron"]):
        with pytest.raises(InputError, match=r"--x: takes KEY=V once per class key \(cmb, iron\)"):
            secondstage.class_key_values(entries, "--x", "V")
