"""Figures: the QC view of a detection (axial SWI / QSM / T2 through the lesions)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage

from .classes import CMB, IRON
from .lesions import foreground_box, label_components

CLASS_COLOURS = {CMB: "red", IRON: "lime"}


def lesion_slices(prediction: np.ndarray, reference: np.ndarray | None, most: int) -> list[int]:
    """At most `most` slices, in order, chosen so that every lesion is seen while there is
    room: one slice per detected lesion first, then per missed reference lesion, each
    lesion's slice being the one where it has the most voxels. Choosing the slices with the
    most lesion voxels instead would show large iron deposits and hide small microbleeds."""
    missed = None if reference is None else (reference > 0) & ~ndimage.binary_dilation(prediction > 0, iterations=2)
    chosen: list[int] = []
    for volume in (prediction, missed):
        if volume is None:
            continue
        components, count = label_components(volume)
        for index in range(1, count + 1):
            per_slice = (components == index).sum(axis=(1, 2))
            z = int(np.argmax(per_slice))
            if z not in chosen:
                chosen.append(z)
    return sorted(chosen[:most])


def qc_figure(images: dict[str, np.ndarray], mask: np.ndarray, prediction: np.ndarray, path: Path | str, reference: np.ndarray | None = None, most_slices: int = 6, title: str = "") -> Path:
    """Axial slices (canonical orientation: anterior up, patient right on the left) of each
    image through the detected and the missed lesions (`lesion_slices`), predicted lesions
    outlined (red CMB, green iron); reference lesions, when given, as dashed outlines. Slices with no lesion at all: the
    middle of the brain."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    slices = lesion_slices(prediction, reference, most_slices) or [int(np.flatnonzero(mask.any(axis=(1, 2))).mean())]
    crop = foreground_box(mask > 0)[1:]  # in-plane: the brain's rows and columns
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


def _joint_scatter(figure, cell, sensitivity, precision, title: str) -> None:
    """Sensitivity vs precision per participant with marginal histograms and the mean as X."""
    grid = cell.subgridspec(4, 4, hspace=0.05, wspace=0.05)
    main = figure.add_subplot(grid[1:, :3])
    top = figure.add_subplot(grid[0, :3], sharex=main)
    right = figure.add_subplot(grid[1:, 3], sharey=main)
    s, p = np.asarray(sensitivity, float), np.asarray(precision, float)
    both = ~np.isnan(s) & ~np.isnan(p)
    main.scatter(s[both], p[both], s=14, alpha=0.7)
    mean = (np.nanmean(s) if np.isfinite(s).any() else np.nan, np.nanmean(p) if np.isfinite(p).any() else np.nan)
    main.scatter([mean[0]], [mean[1]], marker="x", s=60, color="black", label=f"({mean[0]:.2f}, {mean[1]:.2f})")
    main.set(xlim=(-0.05, 1.05), ylim=(-0.05, 1.05), xlabel="Sensitivity", ylabel="Precision")
    main.legend(loc="upper left", fontsize=7, frameon=False)
    bins = np.linspace(0, 1, 11)
    top.hist(s[~np.isnan(s)], bins=bins)
    right.hist(p[~np.isnan(p)], bins=bins, orientation="horizontal")
    top.set_title(title, fontsize=8)
    top.axis("off")
    right.axis("off")


def experiment_figures(results: dict, out: Path | str, titles: dict, modality_name: Callable[[tuple[str, ...]], str]) -> list[Path]:
    """The paper's Figures 4-6 for an experiment: per task and class, joint scatter plots of
    sensitivity vs precision (one per modality set) and histograms of the magnitude accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .classes import classes_for_task

    written = []
    for task in dict.fromkeys(task for task, _ in results):
        keys = [key for key in results if key[0] == task]
        for lesion_class in classes_for_task(task):
            scatter = plt.figure(figsize=(3.2 * len(keys), 3.4))
            cells = scatter.add_gridspec(1, len(keys))
            histogram, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
            for column, key in enumerate(keys):
                values = [results[key][p][lesion_class.label] for p in sorted(results[key])]
                title = f"{titles[task]}, {lesion_class.name}\n({modality_name(key[1])})"
                _joint_scatter(scatter, cells[0, column], [v.sensitivity for v in values], [v.precision for v in values], title)
                magnitude = np.array([v.magnitude for v in values], float)
                magnitude = magnitude[~np.isnan(magnitude)]
                ax = axes[0, column]
                ax.hist(magnitude, bins=np.linspace(0, np.sqrt(2), 11))
                if len(magnitude):
                    sem = magnitude.std(ddof=1) / np.sqrt(len(magnitude)) if len(magnitude) > 1 else float("nan")
                    ax.set_title(f"{modality_name(key[1])}: {magnitude.mean():.2f} ± {sem:.2f}", fontsize=8)
                ax.set_xlabel("Magnitude accuracy")
            for name, figure in (("scatter", scatter), ("magnitude", histogram)):
                path = Path(out) / f"figure_{task}_{lesion_class.key}_{name}.png"
                figure.savefig(path, dpi=80, bbox_inches="tight")
                plt.close(figure)
                written.append(path)
    return written
