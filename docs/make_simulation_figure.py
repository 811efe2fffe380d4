"""Make docs/simulation_figure.png: axial SWI, QSM and T2 of one simulated participant with
lesions and mimics outlined (red microbleed, green iron deposit, blue vein, magenta
calcification, cyan perivascular space).

    python docs/make_simulation_figure.py [--seed 2] [--out docs/simulation_figure.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import SimpleITK as sitk

from DeepMIRLib.classes import CMB, IRON
from DeepMIRLib.simulation.objects import MIMIC_LABELS
from DeepMIRLib.simulation.phantom import simulate_participant
from DeepMIRLib.simulation.placement import LesionLoad
from DeepMIRLib.volumes import resample_onto

OUTLINES = (
    ("labels", CMB, "red", "microbleed"),
    ("labels", IRON, "lime", "iron deposit"),
    ("mimics", MIMIC_LABELS["vein"], "dodgerblue", "vein"),
    ("mimics", MIMIC_LABELS["calcification"], "magenta", "calcification"),
    ("mimics", MIMIC_LABELS["epvs"], "cyan", "perivascular space"),
)


def t2_on_swi_grid(participant):
    """T2 put back onto the SWI grid with the recorded (true) motion, for display only."""
    motion = participant.info["t2_motion"]
    transform = sitk.Euler3DTransform()
    transform.SetCenter(motion["centre"])
    transform.SetRotation(*motion["rotation_rad"])
    transform.SetTranslation(motion["translation_mm"])
    return resample_onto(participant.images["t2"], participant.images["swi"], transform.GetInverse())


def pick_slices(participant) -> list[int]:
    """A slice through a microbleed, one through the pallidal iron, one with the most mimics."""
    labels, mimics = participant.images["labels"].array, participant.images["mimics"].array
    chosen = []
    for array, value in ((labels, CMB), (labels, IRON)):
        per_slice = (array == value).sum(axis=(1, 2))
        if per_slice.any():
            chosen.append(int(per_slice.argmax()))
    chosen.append(int((mimics > 0).sum(axis=(1, 2)).argmax()))
    return sorted(set(chosen))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "simulation_figure.png")
    args = parser.parse_args()
    participant = simulate_participant(args.seed, load=LesionLoad.named("dense"), participant_id=f"figure-{args.seed}")
    images = {"SWI": participant.images["swi"].array, "QSM (ppm)": participant.images["qsm"].array, "T2": t2_on_swi_grid(participant).array}
    slices = pick_slices(participant)
    brain = participant.images["brainmask"].array > 0
    rows = np.flatnonzero(brain.any(axis=(0, 2)))
    cols = np.flatnonzero(brain.any(axis=(0, 1)))
    crop = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    figure, axes = plt.subplots(len(slices), 3, figsize=(12, 4.4 * len(slices)))
    for r, z in enumerate(slices):
        for c, (title, array) in enumerate(images.items()):
            ax = axes[r, c]
            image = array[z][crop]
            inside = brain[z][crop]
            low, high = np.percentile(image[inside], (1, 99.5)) if inside.any() else (image.min(), image.max())
            ax.imshow(image, cmap="gray", vmin=low, vmax=high)
            for source, value, colour, _ in OUTLINES:
                mask = participant.images[source].array[z][crop] == value
                if mask.any():
                    ax.contour(mask, [0.5], colors=colour, linewidths=0.8)
            ax.set_title(f"{title}, slice {z}")
            ax.axis("off")
    handles = [plt.Line2D([], [], color=colour, label=name) for _, _, colour, name in OUTLINES]
    figure.legend(handles=handles, loc="lower center", ncol=5, frameon=False)
    figure.suptitle(f"Simulated participant (seed {args.seed}, dense lesion load): {participant.info['counts']}", fontsize=10)
    figure.tight_layout(rect=(0, 0.03, 1, 0.97))
    figure.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
