"""Preprocessing of the paper (S3.1) and the mapping between volumes and 2-D network slices.

Each modality is z-scored with the mean and standard deviation of the voxels inside the
brain mask; QSM is first clipped to +-5 standard deviations (its streaks and sinus
artefacts would otherwise dominate the scale). Voxels outside the brain mask are set to 0,
the value of the network's zero padding. The normalised modalities are stacked as channels
in the order the model card lists them, and axial slices of the canonical (LPS) volume are
placed on a canvas whose sides are multiples of 32 (the U-Net halves the size five times):
by default the brain's bounding box over each batch of slices plus a margin (`plan_batches`),
or the paper's fixed canvas.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

NETWORK_MULTIPLE = 32  # 2**5: six resolution levels, five poolings
QSM_CLIP_SD = 5.0
CANVAS_MARGIN = 16  # voxels of context kept around the brain when cropping to it

NORMALISATION = {
    "method": "zscore",
    "statistics_region": "brain mask",
    "outside_mask": 0.0,
    "qsm_clip_sd": QSM_CLIP_SD,
}


def zscore(array: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Zero mean and unit variance inside the mask; 0 outside it."""
    inside = np.asarray(mask) > 0
    values = array[inside].astype(np.float64)
    if values.size == 0:
        raise ValueError("the brain mask is empty")
    std = values.std()
    normalised = (array - values.mean()) / (std if std > 0 else 1.0)
    return np.where(inside, normalised, 0.0).astype(np.float32)


def clip_qsm(array: np.ndarray, mask: np.ndarray, k: float = QSM_CLIP_SD) -> np.ndarray:
    """Clip QSM to [-k sigma, k sigma], sigma the standard deviation inside the mask (paper S3.1)."""
    sigma = float(array[np.asarray(mask) > 0].std())
    return np.clip(array, -k * sigma, k * sigma)


def normalise_modality(name: str, array: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if name == "qsm":
        array = clip_qsm(array, mask)
    return zscore(array, mask)


def stack_modalities(arrays: dict[str, np.ndarray], order: list[str], mask: np.ndarray) -> np.ndarray:
    """Normalise each modality and stack them as channels: (C, Z, Y, X) float32."""
    missing = [name for name in order if name not in arrays]
    if missing:
        raise KeyError(f"missing modalities: {', '.join(missing)}")
    return np.stack([normalise_modality(name, arrays[name], mask) for name in order])


def round_up(n: int, multiple: int = NETWORK_MULTIPLE) -> int:
    return int(-(-n // multiple) * multiple)


@dataclass(frozen=True)
class SlicePlan:
    """Which axial slices go to the network and where each lies on the network's canvas.

    In-plane, rows `source_rows` x columns `source_cols` of every chosen slice are copied to
    rows `canvas_rows` x columns `canvas_cols` of an (height, width) canvas; `paste` does
    the exact inverse, so every output voxel lands back on the voxel it came from.
    """

    slices: np.ndarray  # indices along z of the slices the network sees
    height: int
    width: int
    source_rows: slice
    source_cols: slice
    canvas_rows: slice
    canvas_cols: slice

    @property
    def canvas_shape(self) -> tuple[int, int]:
        return self.height, self.width


def _place(extent: tuple[int, int], length: int, canvas: int) -> tuple[slice, slice]:
    """Centre the window [start, stop) of an axis of `length` on a canvas of `canvas`
    voxels, cropping the window symmetrically when it is longer than the canvas."""
    start, stop = extent
    if stop - start > canvas:
        excess = (stop - start) - canvas
        start, stop = start + excess // 2, stop - (excess - excess // 2)
    offset = (canvas - (stop - start)) // 2
    return slice(start, stop), slice(offset, offset + stop - start)


def plan_slices(mask: np.ndarray, canvas: str | tuple[int, int] = "auto", skip_empty: bool = True) -> SlicePlan:
    """Plan the slicing of a canonical (Z, Y, X) volume, one canvas for all its slices.

    canvas="auto": crop every slice to the brain's bounding box over the whole volume plus
    CANVAS_MARGIN, each side rounded up to a multiple of 32, the box centred on the canvas.
    canvas=(H, W): the paper's fixed canvas, e.g. (256, 256); each side a multiple of 32.
    The whole slice is centred on it when it fits, else the brain's bounding box is.
    The U-Net's output follows the image exactly only for shifts by multiples of 32 (its
    max pooling): moving the image on the canvas by other amounts changes the probabilities,
    negligibly almost everywhere but noticeably at a few voxels, mostly on and around
    lesions, enough to move a border voxel's label (`plan_batches` keeps the phase).
    skip_empty: only slices that contain brain are planned (the others are background).
    Inference plans per batch of slices (`plan_batches`), with this function.
    """
    mask = np.asarray(mask) > 0
    nz, ny, nx = mask.shape
    if not mask.any():
        raise ValueError("the brain mask is empty")
    z_any = mask.any(axis=(1, 2))
    slices = np.flatnonzero(z_any) if skip_empty else np.arange(nz)
    rows = np.flatnonzero(mask.any(axis=(0, 2)))
    cols = np.flatnonzero(mask.any(axis=(0, 1)))
    brain_rows = (max(rows[0] - CANVAS_MARGIN, 0), min(rows[-1] + 1 + CANVAS_MARGIN, ny))
    brain_cols = (max(cols[0] - CANVAS_MARGIN, 0), min(cols[-1] + 1 + CANVAS_MARGIN, nx))
    if canvas == "auto":
        height = round_up(brain_rows[1] - brain_rows[0])
        width = round_up(brain_cols[1] - brain_cols[0])
        row_extent, col_extent = brain_rows, brain_cols
    else:
        height, width = (int(v) for v in canvas)
        if height % NETWORK_MULTIPLE or width % NETWORK_MULTIPLE or height <= 0 or width <= 0:
            raise ValueError(f"canvas {height} x {width}: both sides must be positive multiples of {NETWORK_MULTIPLE}")
        row_extent = (0, ny) if ny <= height else brain_rows
        col_extent = (0, nx) if nx <= width else brain_cols
    source_rows, canvas_rows = _place(row_extent, ny, height)
    source_cols, canvas_cols = _place(col_extent, nx, width)
    return SlicePlan(slices, height, width, source_rows, source_cols, canvas_rows, canvas_cols)


def plan_batches(mask: np.ndarray, canvas: str | tuple[int, int] = "auto", batch_size: int = 8,
                 skip_empty: bool = True) -> list[SlicePlan]:
    """The slices of `plan_slices(mask, canvas, skip_empty)` in batches of `batch_size`
    consecutive ones, each batch with its own plan.

    canvas="auto": each batch is cropped to the brain's bounding box over the batch's slices
    (plan_slices on those slices alone: the same margin), so the small brain sections near
    the top and bottom of the head go to the network on small canvases. Each batch's box keeps
    the position modulo 32 that the whole volume's plan gives it (`_same_phase`): the U-Net
    follows shifts exactly only by multiples of 32, so the probabilities are those of one
    canvas for the whole volume (to float rounding). A batch without brain (skip_empty=False)
    keeps the whole volume's box. A fixed canvas is the same for every batch.
    """
    mask = np.asarray(mask) > 0
    whole = plan_slices(mask, canvas, skip_empty)
    plans = []
    for start in range(0, len(whole.slices), batch_size):
        slices = whole.slices[start : start + batch_size]
        if canvas == "auto" and mask[slices].any():
            box = plan_slices(mask[slices], canvas, skip_empty=False)
            height, canvas_rows = _same_phase(box.source_rows, whole.source_rows, whole.canvas_rows)
            width, canvas_cols = _same_phase(box.source_cols, whole.source_cols, whole.canvas_cols)
            plans.append(replace(box, slices=slices, height=height, width=width, canvas_rows=canvas_rows, canvas_cols=canvas_cols))
        else:
            plans.append(replace(whole, slices=slices))
    return plans


def _same_phase(source: slice, whole_source: slice, whole_canvas: slice) -> tuple[int, slice]:
    """Canvas length and place for the window `source` of an axis such that each of its voxels
    lies at the same canvas position modulo NETWORK_MULTIPLE as in the whole volume's plan
    (which maps whole_source onto whole_canvas)."""
    phase = (source.start + whole_canvas.start - whole_source.start) % NETWORK_MULTIPLE
    length = source.stop - source.start
    return round_up(phase + length), slice(phase, phase + length)


def cut_slices(stack: np.ndarray, plan: SlicePlan) -> np.ndarray:
    """(C, Z, Y, X) -> (N, C, H, W) network input for the planned slices."""
    out = np.zeros((len(plan.slices), stack.shape[0], plan.height, plan.width), dtype=np.float32)
    out[:, :, plan.canvas_rows, plan.canvas_cols] = np.moveaxis(
        stack[:, plan.slices][:, :, plan.source_rows, plan.source_cols], 1, 0
    )
    return out


def paste_slices(output: np.ndarray, plan: SlicePlan, target: np.ndarray) -> None:
    """Write (N, K, H, W) network output into `target` (K, Z, Y, X) at the planned places.
    Voxels of `target` that no canvas covers are left as they are."""
    region = output[:, :, plan.canvas_rows, plan.canvas_cols]
    for n, z in enumerate(plan.slices):
        target[:, z, plan.source_rows, plan.source_cols] = region[n]
