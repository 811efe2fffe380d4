import numpy as np
import pytest
from conftest import make_modalities

from DeepMIRLib.preprocessing import (
    clip_qsm,
    cut_slices,
    paste_slices,
    plan_slices,
    stack_modalities,
    zscore,
)
from DeepMIRLib.volumes import to_canonical


def test_zscore_inside_mask_and_zero_outside(anatomy):
    images = make_modalities(anatomy)
    mask = images["brainmask"].array > 0
    normalised = zscore(images["swi"].array, mask)
    assert normalised[mask].mean() == pytest.approx(0.0, abs=1e-4)
    assert normalised[mask].std() == pytest.approx(1.0, abs=1e-4)
    assert np.all(normalised[~mask] == 0)


def test_qsm_clipped_to_five_sd_before_zscore(anatomy):
    images = make_modalities(anatomy)
    mask = images["brainmask"].array > 0
    qsm = images["qsm"].array.copy()
    sigma = qsm[mask].std()
    qsm[mask.nonzero()[0][0], mask.nonzero()[1][0], mask.nonzero()[2][0]] = 100 * sigma  # a streak outlier
    clipped = clip_qsm(qsm, mask)
    assert clipped.max() <= 5 * qsm[mask].std() + 1e-6
    stacked = stack_modalities({"swi": images["swi"].array, "qsm": qsm}, ["swi", "qsm"], mask)
    assert stacked.shape == (2,) + mask.shape
    # without the clip the outlier would sit at ~hundreds of SD; with it, at most ~5 SD of the clipped image
    assert stacked[1].max() < 10


@pytest.mark.parametrize("canvas", ["auto", (256, 256), (64, 64), (96, 128)])
def test_slices_map_back_exactly(anatomy, canvas):
    """Every voxel inside the planned region comes back to the voxel it came from."""
    swi, _ = to_canonical(make_modalities(anatomy)["swi"])
    mask, _ = to_canonical(anatomy["mask"])
    plan = plan_slices(mask.array, canvas)
    assert plan.height % 32 == 0 and plan.width % 32 == 0
    if canvas != "auto":
        assert (plan.height, plan.width) == canvas
    stack = np.stack([swi.array, -swi.array])
    network_input = cut_slices(stack, plan)
    assert network_input.shape == (len(plan.slices), 2, plan.height, plan.width)
    back = np.zeros_like(stack)
    paste_slices(network_input, plan, back)
    inside = np.zeros(stack.shape[1:], bool)
    inside[np.ix_(plan.slices, np.arange(stack.shape[2])[plan.source_rows], np.arange(stack.shape[3])[plan.source_cols])] = True
    assert np.array_equal(back[:, inside], stack[:, inside])
    assert np.all(back[:, ~inside] == 0)
    # the whole brain is covered whenever the canvas is large enough for it
    if canvas in ("auto", (256, 256)):
        assert inside[mask.array > 0].all()


def test_brainless_slices_are_skipped(anatomy):
    mask, _ = to_canonical(anatomy["mask"])
    plan = plan_slices(mask.array)
    has_brain = mask.array.any(axis=(1, 2))
    assert set(plan.slices) == set(np.flatnonzero(has_brain))
    assert not has_brain.all(), "the anatomy's grid has slices above and below the brain"


def test_canvas_must_be_a_multiple_of_32(anatomy):
    with pytest.raises(ValueError, match="multiples of 32"):
        plan_slices(anatomy["mask"].array, (100, 256))
