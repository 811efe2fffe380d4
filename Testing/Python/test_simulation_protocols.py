"""Other scanners' protocols in the simulator (issue 15, part 3): the noise scale and the GRE
bias field change the images in the expected direction and nothing else, --vary-protocol
draws and records a protocol per participant, deterministically, and bad values are refused."""

from __future__ import annotations

import csv
import filecmp
import json

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from DeepMIRLib.cli import main
from DeepMIRLib.errors import InputError
from DeepMIRLib.simulation.phantom import (
    BIAS_STREAM,
    PROTOCOL_RANGES,
    PROTOCOL_STREAM,
    Protocol,
    _bias_field,
    _stream,
    check_protocol,
    draw_protocol,
    simulate_participant,
)

SMALL = {"slab_slices": 8, "swi_size": (96, 128, 104), "swi_spacing": (2.0, 2.0, 1.5)}  # seconds per participant
SEED = [5, 0]


@pytest.fixture(scope="module")
def variants():
    """One slab participant simulated three times: as by default, with 3 times the noise,
    with a GRE bias field of amplitude 0.3."""
    return {
        name: simulate_participant(SEED, Protocol(**SMALL, **extra), participant_id="p")
        for name, extra in {"plain": {}, "noisy": {"noise_scale": 3.0}, "biased": {"gre_bias_amplitude": 0.3}}.items()
    }


def _background(participant) -> np.ndarray:
    """Voxels at least 5 voxels outside the brain (signal 0 there: noise only)."""
    brain = participant.images["brainmask"].array > 0
    return ~ndimage.binary_dilation(brain, iterations=5)


def test_noise_scale_raises_the_background_noise_and_changes_nothing_else(variants):
    plain, noisy = variants["plain"], variants["noisy"]
    outside = _background(plain)
    ratio = noisy.images["swi"].array[outside].std() / plain.images["swi"].array[outside].std()
    assert 2.8 < ratio < 3.2, ratio  # outside the brain the GRE signal is noise alone: 3 times the noise, 3 times the SWI
    edge = lambda p: p.images["t2"].array[:, :, :8]  # the T2's left 8 mm: outside the head, Rician noise alone
    t2_ratio = edge(noisy).mean() / edge(plain).mean()
    assert 2.8 < t2_ratio < 3.2, t2_ratio
    brain = plain.images["brainmask"].array > 0
    swi_error = lambda p: np.abs(p.images["swi"].array - plain.images["swi"].array)[brain].mean()
    assert swi_error(noisy) > 0
    for name in ("labels", "mimics", "chi", "brainmask"):
        assert np.array_equal(noisy.images[name].array, plain.images[name].array), name
    assert noisy.info["protocol"]["noise_scale"] == 3.0 and "noise_scale" not in plain.info["protocol"]


def test_gre_bias_is_a_smooth_multiplicative_field_on_swi(variants):
    plain, biased = variants["plain"], variants["biased"]
    grid = plain.images["swi"]
    field = _bias_field(grid.shape, _stream(SEED, BIAS_STREAM), 0.3)
    assert field.min() < 0.9 and field.max() > 1.1  # it does shade the image
    gradient = np.abs(np.diff(np.log(field), axis=2)).max()
    assert gradient < 0.02  # smooth: under 2 % from one voxel to the next
    bright = (plain.images["brainmask"].array > 0) & (plain.images["swi"].array > 0.3)
    ratio = biased.images["swi"].array[bright] / plain.images["swi"].array[bright]
    assert np.median(np.abs(ratio / field[bright] - 1)) < 0.03
    assert np.corrcoef(ratio, field[bright])[0, 1] > 0.9
    # the phase is not changed: QSM nearly the same; the T2, the truth and the noise stream untouched
    brain = plain.images["brainmask"].array > 0
    qsm = plain.images["qsm"].array[brain], biased.images["qsm"].array[brain]
    assert np.corrcoef(*qsm)[0, 1] > 0.99
    for name in ("t2", "labels", "mimics", "chi"):
        assert np.array_equal(biased.images[name].array, plain.images[name].array), name
    assert "gre_bias_amplitude" not in plain.info["protocol"] and biased.info["protocol"]["gre_bias_amplitude"] == 0.3


def test_draw_protocol_stays_in_its_ranges():
    r = PROTOCOL_RANGES
    draws = [draw_protocol(_stream([1, i], PROTOCOL_STREAM))[0] for i in range(300)]
    spacing = np.array([p.swi_spacing for p in draws])
    assert np.all(spacing[:, 0] == spacing[:, 1])
    assert r["in_plane_mm"][0] <= spacing[:, 0].min() and spacing[:, 0].max() <= r["in_plane_mm"][1]
    assert r["slice_mm"][0] <= spacing[:, 2].min() and spacing[:, 2].max() <= r["slice_mm"][1]
    assert (spacing[:, 0] ** 2 * spacing[:, 2]).min() >= r["min_voxel_mm3"] - 1e-9
    assert np.ptp(spacing[:, 0]) > 0.4 and np.ptp(spacing[:, 2]) > 1.4  # the ranges are used, not one corner
    for p in draws:
        field_of_view = np.array(p.swi_size) * np.array(p.swi_spacing)
        assert np.all(np.abs(field_of_view - r["field_of_view_mm"]) <= np.array(p.swi_spacing) / 2 + 1e-6)
        echoes = np.array(p.echo_times_ms)
        assert r["echo_count"][0] <= len(echoes) <= r["echo_count"][1]
        assert r["first_echo_ms"][0] <= echoes[0] <= r["first_echo_ms"][1]
        assert np.allclose(np.diff(echoes), np.diff(echoes)[0], atol=0.11)
        b0 = np.array(p.b0_direction_lps)
        assert abs(np.linalg.norm(b0) - 1) < 1e-5 and np.degrees(np.arccos(b0[2])) <= r["b0_tilt_deg"][1] + 0.1
        assert r["noise_scale"][0] <= p.noise_scale <= r["noise_scale"][1]
        assert r["gre_bias_amplitude"][0] <= p.gre_bias_amplitude <= r["gre_bias_amplitude"][1]
        check_protocol(p)
    again = draw_protocol(_stream([1, 7], PROTOCOL_STREAM))
    assert again == draw_protocol(_stream([1, 7], PROTOCOL_STREAM))


def test_thick_slices_get_a_finer_physics_grid():
    assert Protocol().fine_factors == (2, 2, 2)
    assert Protocol(swi_spacing=(2.0, 2.0, 1.5)).fine_factors == (2, 2, 2)
    assert Protocol(swi_spacing=(0.6, 0.6, 3.0)).fine_factors == (2, 2, 3)
    assert Protocol(swi_spacing=(1.0, 1.0, 2.5)).fine_factors == (2, 2, 3)


def _rows(path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_vary_protocol_records_a_protocol_per_participant_and_is_reproducible(tmp_path):
    args = ["simulate", "--n", "2", "--seed", "17", "--slab", "6", "--vary-protocol"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    rows = _rows(tmp_path / "a" / "participants.tsv")
    assert {"in_plane_mm", "slice_mm", "size", "echo_times_ms", "b0_tilt_deg", "b0_direction_lps", "noise_scale", "gre_bias_amplitude"} <= set(rows[0])
    protocols = []
    for row in rows:
        folder = tmp_path / "a" / row["participant"]
        names = sorted(p.name for p in folder.iterdir())
        _match, mismatch, errors = filecmp.cmpfiles(folder, tmp_path / "b" / row["participant"], names, shallow=False)
        assert not mismatch and not errors
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        drawn, protocol = manifest["protocol_variation"]["drawn"], manifest["protocol"]
        assert protocol["swi_spacing"] == [drawn["in_plane_mm"], drawn["in_plane_mm"], drawn["slice_mm"]]
        assert protocol["echo_times_ms"] == drawn["echo_times_ms"] and protocol["noise_scale"] == drawn["noise_scale"]
        assert float(row["slice_mm"]) == drawn["slice_mm"] and row["echo_times_ms"] == " ".join(f"{t:g}" for t in drawn["echo_times_ms"])
        assert manifest["protocol_variation"]["ranges"]["b0_tilt_deg"] == list(PROTOCOL_RANGES["b0_tilt_deg"])
        swi = sitk.ReadImage(str(folder / "swi.nii.gz"))
        assert np.allclose(swi.GetSpacing(), protocol["swi_spacing"], atol=1e-4)
        assert list(swi.GetSize()) == [*drawn["size"][:2], 6]  # slab mode keeps its slice count
        protocols.append(protocol)
    assert protocols[0] != protocols[1]
    assert filecmp.cmp(tmp_path / "a" / "participants.tsv", tmp_path / "b" / "participants.tsv", shallow=False)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--noise-scale", "-1"], "--noise-scale"),
        (["--noise-scale", "nan"], "--noise-scale"),
        (["--gre-bias", "1.5"], "--gre-bias"),
        (["--gre-bias", "x"], "--gre-bias"),
        (["--echo-times", "10"], "at least two echo times"),
        (["--echo-times", "10", "10"], "must increase"),
        (["--vary-protocol", "--spacing", "1", "1", "2"], "leave out --spacing"),
        (["--vary-protocol", "--noise-scale", "2"], "leave out --noise-scale"),
        (["--b0", "0", "0", "0"], "zero vector"),
    ],
)
def test_bad_protocol_values_are_refused(tmp_path, capsys, options, message):
    out = tmp_path / "cohort"
    try:
        status = main(["simulate", "--out", str(out), "--slab", "4", *options])
    except SystemExit as exit:
        status = exit.code
    assert status == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_check_protocol_refuses_library_values_too():
    with pytest.raises(InputError, match="gre-bias"):
        check_protocol(Protocol(gre_bias_amplitude=-0.1))
    with pytest.raises(InputError, match="noise-scale"):
        check_protocol(Protocol(noise_scale=float("inf")))
