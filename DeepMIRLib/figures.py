"""Figures: the QC view of a detection (axial SWI / QSM / T2 through the lesions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .classes import CMB, IRON

CLASS_COLOURS = {CMB: "red", IRON: "lime"}


def _lesion_slices(labels: np.ndarray, most: int) -> list[int]:
    """Slices holding the most lesion voxels, at most `most`, in order."""
    per_slice = (labels > 0).sum(axis=(1, 2))
    chosen = [int(z) for z in np.argsort(per_slice)[::-1][:most] if per_slice[z] > 0]
    return sorted(chosen)


def qc_figure(images: dict[str, np.ndarray], mask: np.ndarray, prediction: np.ndarray, path, reference: np.ndarray | None = None, most_slices: int = 4, title: str = "") -> Path:
    """Axial slices (canonical orientation: anterior up, patient right on the left) of each
    image through the detected lesions, predicted lesions outlined (red CMB, green iron);
    reference lesions, when given, as dashed outlines. Slices with no lesion at all: the
    middle of the brain."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    union = prediction if reference is None else np.maximum(prediction > 0, reference > 0)
    slices = _lesion_slices(union, most_slices) or [int(np.flatnonzero(mask.any(axis=(1, 2))).mean())]
    rows = np.flatnonzero(mask.any(axis=(0, 2)))
    cols = np.flatnonzero(mask.any(axis=(0, 1)))
    crop = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    figure, axes = plt.subplots(len(slices), len(images), figsize=(3.6 * len(images), 3.8 * len(slices)), squeeze=False)
    for r, z in enumerate(slices):
        for c, (name, volume) in enumerate(images.items()):
            ax = axes[r, c]
            image, inside = volume[z][crop], mask[z][crop] > 0
            low, high = np.percentile(image[inside], (1, 99.5)) if inside.any() else (image.min(), image.max())
            ax.imshow(image, cmap="gray", vmin=low, vmax=high)
            for label, colour in CLASS_COLOURS.items():
                if (prediction[z][crop] == label).any():
                    ax.contour(prediction[z][crop] == label, [0.5], colors=colour, linewidths=1.0)
                if reference is not None and (reference[z][crop] == label).any():
                    ax.contour(reference[z][crop] == label, [0.5], colors=colour, linewidths=0.8, linestyles="dashed")
            ax.set_title(f"{name}, slice {z}", fontsize=9)
            ax.axis("off")
    legend = [plt.Line2D([], [], color="red", label="microbleed"), plt.Line2D([], [], color="lime", label="iron deposit")]
    if reference is not None:
        legend.append(plt.Line2D([], [], color="gray", linestyle="dashed", label="reference"))
    figure.legend(handles=legend, loc="lower center", ncol=len(legend), frameon=False)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout(rect=(0, 0.04, 1, 0.96))
    path = Path(path)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
