import numpy as np
import pytest
from conftest import make_modalities

from DeepMIRLib.preprocessing import (
    CANVAS_MARGIN,
    NETWORK_MULTIPLE,
    clip_qsm,
    cut_slices,
    paste_slices,
    plan_batches,
    plan_slices,
    round_up,
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


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_batch_plans_cover_every_brain_voxel_once(anatomy, batch_size):
    """canvas="auto" per batch: the batches partition the brain slices, each box is a
    multiple of 32 and lies inside the volume's box, and cut -> paste over all batches gives
    the stack back on every brain voxel, each covered by exactly one batch."""
    swi, _ = to_canonical(make_modalities(anatomy)["swi"])
    mask = to_canonical(anatomy["mask"])[0].array > 0
    whole = plan_slices(mask)
    plans = plan_batches(mask, "auto", batch_size)
    assert np.array_equal(np.concatenate([plan.slices for plan in plans]), whole.slices)
    assert all(0 < len(plan.slices) <= batch_size for plan in plans)
    stack = np.stack([swi.array, -swi.array])
    back = np.zeros_like(stack)
    covered = np.zeros(mask.shape, np.int32)
    for plan in plans:
        assert plan.height % NETWORK_MULTIPLE == 0 and plan.width % NETWORK_MULTIPLE == 0
        assert plan.height <= whole.height and plan.width <= whole.width
        network_input = cut_slices(stack, plan)
        assert network_input.shape == (len(plan.slices), 2, plan.height, plan.width)
        paste_slices(network_input, plan, back)
        once = np.zeros((1,) + mask.shape, np.int32)
        paste_slices(np.ones((len(plan.slices), 1, plan.height, plan.width), np.int32), plan, once)
        covered += once[0]
    assert np.all(covered[mask] == 1) and covered.max() == 1
    assert np.array_equal(back[:, mask], stack[:, mask])
    assert np.all(back[:, covered == 0] == 0)


def test_batch_plans_crop_to_the_batch(anatomy):
    """Near the top and bottom of the brain the batch's box is smaller than the volume's,
    and each box is the brain's over the batch's slices plus the margin (within the grid),
    placed at the whole volume's canvas position modulo 32."""
    mask = to_canonical(anatomy["mask"])[0].array > 0
    whole = plan_slices(mask)
    plans = plan_batches(mask, "auto", 2)
    pixels = sum(len(plan.slices) * plan.height * plan.width for plan in plans)
    assert pixels < len(whole.slices) * whole.height * whole.width
    assert min(plan.height * plan.width for plan in plans) < whole.height * whole.width
    _, ny, nx = mask.shape
    for plan in plans:
        rows = np.flatnonzero(mask[plan.slices].any(axis=(0, 2)))
        cols = np.flatnonzero(mask[plan.slices].any(axis=(0, 1)))
        top, bottom = max(rows[0] - CANVAS_MARGIN, 0), min(rows[-1] + 1 + CANVAS_MARGIN, ny)
        left, right = max(cols[0] - CANVAS_MARGIN, 0), min(cols[-1] + 1 + CANVAS_MARGIN, nx)
        assert (plan.source_rows, plan.source_cols) == (slice(top, bottom), slice(left, right))
        # each voxel keeps its canvas position modulo 32 from the whole volume's plan
        for axis, whole_source, whole_canvas in (("rows", whole.source_rows, whole.canvas_rows), ("cols", whole.source_cols, whole.canvas_cols)):
            source, canvas = getattr(plan, f"source_{axis}"), getattr(plan, f"canvas_{axis}")
            assert (canvas.start - source.start) % NETWORK_MULTIPLE == (whole_canvas.start - whole_source.start) % NETWORK_MULTIPLE
            assert canvas.start < NETWORK_MULTIPLE
        assert (plan.height, plan.width) == (round_up(plan.canvas_rows.stop), round_up(plan.canvas_cols.stop))


@pytest.mark.parametrize("canvas", [(256, 256), (64, 64), (96, 128)])
def test_fixed_canvas_is_the_same_for_every_batch(anatomy, canvas):
    mask = to_canonical(anatomy["mask"])[0].array
    whole = plan_slices(mask, canvas)
    plans = plan_batches(mask, canvas, 8)
    assert np.array_equal(np.concatenate([plan.slices for plan in plans]), whole.slices)
    for plan in plans:
        assert (plan.height, plan.width) == canvas
        assert (plan.source_rows, plan.source_cols, plan.canvas_rows, plan.canvas_cols) == (
            whole.source_rows, whole.source_cols, whole.canvas_rows, whole.canvas_cols)


def test_brainless_slices_are_skipped(anatomy):
    mask, _ = to_canonical(anatomy["mask"])
    plan = plan_slices(mask.array)
    has_brain = mask.array.any(axis=(1, 2))
    assert set(plan.slices) == set(np.flatnonzero(has_brain))
    assert not has_brain.all(), "the anatomy's grid has slices above and below the brain"


def test_canvas_must_be_a_multiple_of_32(anatomy):
    with pytest.raises(ValueError, match="multiples of 32"):
        plan_slices(anatomy["mask"].array, (100, 256))
