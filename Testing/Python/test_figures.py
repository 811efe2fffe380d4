"""The QC figure's choice of slices, on simulated label maps."""

import numpy as np

from DeepMIRLib.figures import lesion_slices, qc_figure
from DeepMIRLib.lesions import label_components
from DeepMIRLib.volumes import read_volume


def _main_slice(component: np.ndarray) -> int:
    return int(np.argmax(component.sum(axis=(1, 2))))


def test_every_detected_and_missed_lesion_gets_a_slice(slab_cohort, tmp_path):
    reference = read_volume(slab_cohort / "sim-41-0000" / "labels.nii.gz", dtype=np.uint8).array
    components, count = label_components(reference)
    assert count >= 3
    missed = components == count  # a reader's view: the model missed the last lesion
    prediction = np.where(missed, 0, reference)
    slices = lesion_slices(prediction, reference, most=reference.shape[0])
    assert slices == sorted(set(slices))
    for index in range(1, count + 1):
        assert _main_slice(components == index) in slices
    # with little room, detected lesions come before the missed one
    detected_slices = {_main_slice(components == i) for i in range(1, count)}
    few = lesion_slices(prediction, reference, most=len(detected_slices))
    assert set(few) == detected_slices
    assert lesion_slices(np.zeros_like(reference), None, most=4) == []
    images = {"SWI": read_volume(slab_cohort / "sim-41-0000" / "swi.nii.gz").array}
    mask = read_volume(slab_cohort / "sim-41-0000" / "brainmask.nii.gz").array
    assert qc_figure(images, mask, prediction, tmp_path / "qc.png", reference).stat().st_size > 5_000
