"""Validation of the simulator: the physics against analytic and real data, the phantoms
against what a reader sees, the cohort against the paper's Table 2."""

from __future__ import annotations

import filecmp
import json
from dataclasses import replace

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from DeepMIRLib.cli import main
from DeepMIRLib.echotime import read_swi_echo_time
from DeepMIRLib.lesions import label_components
from DeepMIRLib.simulation import phantom
from DeepMIRLib.simulation.dipole import forward_field, invert_field
from DeepMIRLib.simulation.objects import SimObject, label_map, rasterise
from DeepMIRLib.simulation.phantom import Protocol, simulate_participant
from DeepMIRLib.simulation.placement import CMB_LOAD_CATEGORIES, PAPER_CMB_PROBABILITIES, LesionLoad, Sampler, calcifications, cmb_count, iron_deposits
from DeepMIRLib.volumes import Volume


def test_sphere_field_matches_the_analytic_dipole():
    """Uniform sphere, B0 along z: field 0 inside (Lorentz-corrected), chi R^3 (3 cos^2 - 1) / (3 r^3) outside."""
    n, radius, chi = 128, 8.0, 1.0
    grid = Volume(np.zeros((n, n, n), np.float32), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    centre = np.array([n / 2, n / 2, n / 2])
    occupancy, _ = rasterise([SimObject("test", [(*centre, radius)], chi, "")], grid)
    field = forward_field(occupancy * chi)
    effective_radius = (3 * occupancy.sum() / (4 * np.pi)) ** (1 / 3)
    assert abs(effective_radius - radius) < 0.1
    inside = field[n // 2 - 3 : n // 2 + 4, n // 2 - 3 : n // 2 + 4, n // 2 - 3 : n // 2 + 4]
    assert np.abs(inside).max() < 0.02 * chi
    errors = []
    for r in (2.0, 2.5, 3.0):
        for theta in (0.0, np.pi / 2, np.pi / 4):
            offset_xyz = np.array([np.sin(theta), 0.0, np.cos(theta)]) * r * radius
            x, y, z = np.round(centre + offset_xyz).astype(int)
            d = np.array([x, y, z]) - centre
            distance, cos_theta = np.linalg.norm(d), d[2] / np.linalg.norm(d)
            analytic = chi * effective_radius**3 * (3 * cos_theta**2 - 1) / (3 * distance**3)
            errors.append(abs(field[z, y, x] - analytic) / abs(chi * effective_radius**3 * 2 / (3 * distance**3)))
    assert max(errors) < 0.05, errors


@pytest.fixture(scope="module")
def qsm2016(qsm2016_folder):
    """The real scan (../shared/data/qsm2016): COSMOS chi, local field, mask, spacing (z, y, x)."""
    read = lambda name: sitk.GetArrayFromImage(sitk.ReadImage(str(qsm2016_folder / f"{name}.nii.gz"))).astype(np.float32)
    spacing = sitk.ReadImage(str(qsm2016_folder / "msk.nii.gz")).GetSpacing()[::-1]
    return read("chi_cosmos"), read("phs_tissue"), read("msk") > 0, spacing


def test_forward_model_on_the_real_scan(qsm2016):
    chi, field, mask, spacing = qsm2016
    simulated = forward_field(chi, spacing, (1.0, 0.0, 0.0))  # B0 along the NIfTI k axis
    r = np.corrcoef(simulated[mask], field[mask])[0, 1]
    assert r >= 0.80, r


def test_dipole_inversion_on_the_real_scan(qsm2016):
    chi, field, mask, spacing = qsm2016
    estimate = invert_field(field, mask.astype(np.float32), spacing, (1.0, 0.0, 0.0))
    rmse = 100 * np.linalg.norm(estimate[mask] - chi[mask]) / np.linalg.norm(chi[mask])
    assert rmse <= 70.0, rmse


@pytest.fixture(scope="module")
def phantoms():
    """Three slab participants with many lesions, T2 without motion so objects can be
    looked up on its grid directly."""
    protocol = Protocol(slab_slices=24, t2_misalignment_deg=0.0, t2_misalignment_mm=0.0)
    load = LesionLoad(cmb_probabilities=(0.0, 0.0, 1.0, 0.0), iron_pair_mean=2.0, calcification_probabilities=(0.0, 0.5, 0.5))
    return [simulate_participant([7, i], protocol, load, f"p{i}") for i in range(3)]


def _inside_and_shell(obj: SimObject, grid: Volume) -> tuple[np.ndarray, np.ndarray]:
    occupancy, _ = rasterise([obj], grid)
    inside = occupancy >= 0.5
    if not inside.any():
        i, j, k = np.round(grid.lps_to_index(obj.centre)).astype(int)
        inside[k, j, i] = True
    ring = ndimage.binary_dilation(inside, np.ones((1, 3, 3), bool), iterations=3) & ~ndimage.binary_dilation(inside, np.ones((1, 3, 3), bool), iterations=1)
    return inside, ring


def _contrasts(participant, kind: str, image: str) -> list[float]:
    volume = participant.images[image]
    values = []
    for obj in participant.objects:
        if obj.kind != kind:
            continue
        inside, ring = _inside_and_shell(obj, volume)
        ring &= participant.images["brainmask"].array > 0 if image != "t2" else ring
        values.append(float(volume.array[inside].mean() - volume.array[ring].mean()))
    return values


def test_microbleeds_are_dark_on_swi_and_bright_on_qsm(phantoms):
    swi = [c for p in phantoms for c in _contrasts(p, "cmb", "swi")]
    qsm = [c for p in phantoms for c in _contrasts(p, "cmb", "qsm")]
    assert len(swi) >= 9
    assert all(c < 0 for c in swi), swi
    assert all(c > 0 for c in qsm), qsm


def test_calcifications_are_dark_on_qsm(phantoms):
    qsm = [c for p in phantoms for c in _contrasts(p, "calcification", "qsm")]
    assert qsm and all(c < 0 for c in qsm), qsm


def test_perivascular_spaces_are_bright_on_t2(phantoms):
    t2 = [c for p in phantoms for c in _contrasts(p, "epvs", "t2")]
    assert len(t2) >= 3 and all(c > 0 for c in t2), t2


def test_veins_span_more_than_five_slices(phantoms):
    for participant in phantoms:
        grid = participant.images["swi"]
        veins = [o for o in participant.objects if o.kind == "vein"]
        assert veins
        for vein in veins:
            occupancy, _ = rasterise([vein], grid)
            slices = np.flatnonzero((occupancy > 0).any(axis=(1, 2)))  # veins thinner than a voxel still touch it
            assert slices[-1] - slices[0] + 1 > 5 and len(slices) == slices[-1] - slices[0] + 1, slices


def test_labels_and_mimics_are_kept_apart(phantoms):
    for participant in phantoms:
        labels = participant.images["labels"].array
        counts = participant.info["counts"]
        assert set(np.unique(labels)) <= {0, 1, 2}
        assert ndimage.label(labels == 1, np.ones((3, 3, 3)))[1] <= counts["cmb"]
        assert (labels == 1).any() and (labels == 2).any()
        # a mimic voxel is never labelled as a lesion unless a lesion occupies it too
        assert (participant.images["mimics"].array > 0).any()


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.5), (1.2, 1.2, 3.0)])
def test_each_iron_deposit_is_one_region_of_the_label_map(spacing):
    """The evaluation counts the label map's connected components: an irregular deposit in
    pieces would count as several deposits, and a detector that finds it whole would miss
    the others."""
    size = tuple(round(n * s0 / s) for n, s0, s in zip(Protocol().swi_size, Protocol().swi_spacing, spacing))
    grid = phantom.swi_grid(Protocol(swi_spacing=spacing, swi_size=size))
    rng = np.random.default_rng(5)
    anatomy = phantom.resample_anatomy(phantom._grid_image(grid), phantom.participant_transform(rng), 0.0)
    deposits = iron_deposits(Sampler(anatomy, grid, rng), {"globus_pallidus": 0.15, "putamen": 0.08}, LesionLoad(iron_pair_mean=30.0))
    assert len(deposits) >= 30 and any(len(d.spheres) > 1 for d in deposits)
    pieces = [label_components(label_map([d], grid, {"iron": 2}) == 2)[1] for d in deposits]
    assert pieces == [1] * len(deposits)


@pytest.mark.parametrize("name, pallidum_iron, pallidum_calcifications", [("paper", 0.85, 0.6), ("hard", 0.5, 0.25)])
def test_lesion_loads_place_iron_and_calcifications_in_their_shares(name, pallidum_iron, pallidum_calcifications):
    """The 'hard' training load moves iron deposits into the putamen and calcifications into
    the choroid plexus (where protocol A's errors were); 'paper' keeps the anatomy's shares.
    Each share within 3 binomial SD over many draws on one participant's anatomy."""
    grid = phantom.swi_grid(Protocol(slab_slices=40))
    rng = np.random.default_rng(3)
    anatomy = phantom.resample_anatomy(phantom._grid_image(grid), phantom.participant_transform(rng), 0.0)
    load = LesionLoad.named(name)
    sampler = Sampler(anatomy, grid, rng)
    deposits = iron_deposits(sampler, {"globus_pallidus": 0.15, "putamen": 0.08}, replace(load, iron_pair_mean=200.0))
    calcified = [c for _ in range(200) for c in calcifications(sampler, load)]
    for objects, region, expected in ((deposits, "globus_pallidus", pallidum_iron), (calcified, "globus_pallidus", pallidum_calcifications)):
        observed = np.mean([obj.location == region for obj in objects])
        assert abs(observed - expected) <= 3 * np.sqrt(expected * (1 - expected) / len(objects)), (name, region, observed, expected)
    assert {obj.location for obj in calcified} == {"globus_pallidus", "choroid plexus"}


def test_lesion_load_follows_table2():
    """100 participants' microbleed counts: each Table 2 class within 3 binomial SD."""
    load = LesionLoad()
    counts = np.array([cmb_count(np.random.default_rng([11, i]), load) for i in range(100)])
    for (low, high), expected in zip(CMB_LOAD_CATEGORIES, PAPER_CMB_PROBABILITIES):
        observed = np.mean((counts >= low) & (counts <= high))
        sd = np.sqrt(expected * (1 - expected) / 100)
        assert abs(observed - expected) <= 3 * sd + 1e-9, (low, high, observed, expected)


def test_simulate_command_is_reproducible(tmp_path):
    args = ["simulate", "--n", "1", "--seed", "3", "--slab", "12"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    folder = "sim-3-0000"
    names = sorted(p.name for p in (tmp_path / "a" / folder).iterdir())
    assert names == ["brainmask.nii.gz", "chi.nii.gz", "labels.nii.gz", "manifest.json", "mimics.nii.gz", "qsm.nii.gz", "swi.json",
                     "swi.nii.gz", "t2.nii.gz"]
    _match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a" / folder, tmp_path / "b" / folder, names, shallow=False)
    assert not mismatch and not errors
    assert filecmp.cmp(tmp_path / "a" / "participants.tsv", tmp_path / "b" / "participants.tsv", shallow=False)
    manifest = json.loads((tmp_path / "a" / folder / "manifest.json").read_text())
    assert json.loads((tmp_path / "a" / folder / "swi.json").read_text()) == {"EchoTime": manifest["protocol"]["echo_times_ms"][0] / 1000}
    assert read_swi_echo_time(tmp_path / "a" / folder / "swi.nii.gz") == 7.5  # the nominal protocol's first echo, from the sidecar
    for obj in manifest["objects"]:
        assert {"kind", "centre_lps_mm", "extent_mm", "susceptibility_ppm"} <= set(obj)
