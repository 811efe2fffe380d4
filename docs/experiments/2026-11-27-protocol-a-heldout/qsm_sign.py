"""Exploration (nothing chosen): the QSM under every predicted microbleed, true or false by
`deepmir evaluate`'s matching. A microbleed is paramagnetic (positive susceptibility), a
calcification diamagnetic; the question is whether A's false microbleeds beside choroid plexus
calcifications show it. Per lesion: the highest QSM (ppm, the participant's qsm file) over its
voxels grown by one voxel (26-neighbourhood).

python qsm_sign.py PREDICTIONS REFERENCES [PREDICTIONS REFERENCES ...]
"""
import itertools
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from DeepMIRLib.classes import CMB
from DeepMIRLib.metrics import class_components, evaluate_participant
from DeepMIRLib.volumes import read_volume

EDGES = (-np.inf, 0.0, 0.05, 0.1, 0.2, np.inf)


def lesion_qsm(prediction_folder: Path, reference_folder: Path):
    """(participant, highest QSM over the grown lesion, true?) of every predicted microbleed."""
    rows = []
    for folder in sorted(p for p in prediction_folder.iterdir() if (p / "labels.nii.gz").is_file()):
        prediction = read_volume(folder / "labels.nii.gz")
        reference = read_volume(reference_folder / folder.name / "labels.nii.gz")
        qsm = read_volume(reference_folder / folder.name / "qsm.nii.gz").array
        result = evaluate_participant(prediction, reference)[CMB]
        components = class_components(prediction, CMB)[0]
        for number in range(1, int(components.max()) + 1):
            grown = ndimage.binary_dilation(components == number, np.ones((3, 3, 3), bool))
            rows.append((folder.name, float(qsm[grown].max()), number - 1 not in result.unmatched))
    return rows


for prediction_folder, reference_folder in zip(sys.argv[1::2], sys.argv[2::2]):
    rows = lesion_qsm(Path(prediction_folder), Path(reference_folder))
    print(f"## {prediction_folder}: {len(rows)} predicted microbleeds, highest QSM (ppm) over the grown lesion")
    for low, high in itertools.pairwise(EDGES):
        inside = [true for _, q, true in rows if low < q <= high]
        print(f"  ({low:g}, {high:g}]: {sum(inside)} true, {len(inside) - sum(inside)} false")
    print("  false ones:", ", ".join(f"{p} {q:+.3f}" for p, q, true in rows if not true))
