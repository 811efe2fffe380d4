"""A detection as a DICOM Segmentation object (the `dicom` extra: highdicom, pydicom), for
PACS viewers and Slicer's DICOM module, when SWI was read from a DICOM series.

The object references every image of the SWI series (same study, frame of reference and
patient), holds one binary segment per lesion class of the model (1 cerebral microbleed,
2 iron deposit), coded as in Resources/Terminology/DeepMIR.term.json (category SNOMED CT
49755003 Morphologically Altered Structure; types 99DEEPMIR CMB and IRON), marked as made
automatically by DeepMIR (algorithm name, model name and version). Each frame is one source
image's slice of the label map: the source image at a patient position gets the label map's
slice at the same position, whatever order the files are in.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import __version__
from .bundled import bundled_file
from .errors import DeepMIRError, InputError

SEG_FILE = "seg.dcm"
TERMINOLOGY_FILE = bundled_file("Terminology", "DeepMIR.term.json")


def _imports():
    try:
        import highdicom
        import pydicom
    except ImportError:
        raise DeepMIRError("--dicom-seg needs highdicom: pip install 'DeepMIRLib[dicom]'") from None
    return highdicom, pydicom


def terminology_codes() -> tuple[dict, dict[str, dict]]:
    """The category and, by DeepMIR class name ('Cerebral microbleed', 'Iron deposit'), the
    type of each segment, as in the terminology file (CodeValue, CodingSchemeDesignator,
    CodeMeaning, recommendedDisplayRGBValue)."""
    category = json.loads(TERMINOLOGY_FILE.read_text(encoding="utf-8"))["SegmentationCodes"]["Category"][0]
    return category, {entry["3dSlicerLabel"]: entry for entry in category["Type"]}


def read_series(folder) -> list:
    """The datasets of a DICOM series folder (the one series it holds), pixel data included."""
    _, pydicom = _imports()
    datasets = []
    for path in sorted(Path(folder).iterdir()):
        if path.is_file():
            try:
                datasets.append(pydicom.dcmread(path))
            except pydicom.errors.InvalidDicomError:
                continue
    if not datasets:
        raise InputError(folder, "holds no DICOM image")
    if len({ds.SeriesInstanceUID for ds in datasets}) != 1:
        raise InputError(folder, "holds more than one DICOM series")
    return datasets


def slice_index(dataset, labels) -> int:
    """The slice (z index) of `labels` (a Volume on the series' grid) at a source image's
    Image Position (Patient)."""
    index = labels.lps_to_index(np.asarray(dataset.ImagePositionPatient, float))
    k = round(float(index[2]))
    if not 0 <= k < labels.shape[0] or abs(index[2] - k) > 0.01 or np.abs(index[:2]).max() > 0.01:
        raise InputError(getattr(dataset, "filename", "DICOM image"), "does not lie on a slice of the SWI grid the result was made on")
    return k


def write_dicom_seg(detection, series_folder, path) -> Path:
    """Write `detection` (on the grid of the SWI read from `series_folder`) as a DICOM
    Segmentation at `path`; returns `path`."""
    highdicom, _ = _imports()
    from highdicom.sr.coding import CodedConcept
    from pydicom.sr.codedict import codes

    sources = read_series(series_folder)
    labels = detection.labels
    frames = np.stack([labels.array[slice_index(ds, labels)] for ds in sources])
    category, types = terminology_codes()
    algorithm = highdicom.AlgorithmIdentificationSequence(
        name="DeepMIR", version=f"{detection.model.name} {detection.model.version}", family=codes.cid7162.ArtificialIntelligence)
    descriptions = []
    for number, lesion_class in enumerate(detection.model.lesion_classes, start=1):
        entry = types[lesion_class.name]
        descriptions.append(highdicom.seg.SegmentDescription(
            segment_number=number,
            segment_label=lesion_class.name,
            segmented_property_category=CodedConcept(category["CodeValue"], category["CodingSchemeDesignator"], category["CodeMeaning"]),
            segmented_property_type=CodedConcept(entry["CodeValue"], entry["CodingSchemeDesignator"], entry["CodeMeaning"]),
            algorithm_type=highdicom.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        ))
    masks = np.stack([frames == lesion_class.label for lesion_class in detection.model.lesion_classes], axis=-1)
    segmentation = highdicom.seg.Segmentation(
        source_images=sources,
        pixel_array=masks.astype(np.uint8),
        segmentation_type=highdicom.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=highdicom.UID(),
        series_number=_series_number(sources),
        sop_instance_uid=highdicom.UID(),
        instance_number=1,
        manufacturer="DeepMIR",
        manufacturer_model_name=f"{detection.model.name} {detection.model.version}",
        software_versions=f"DeepMIR {__version__}",
        device_serial_number=detection.model.sha256[:16] or "none",
        series_description="DeepMIR microbleeds and iron deposits (research use only)",
        omit_empty_frames=False,
    )
    path = Path(path)
    segmentation.save_as(path)
    return path


def _series_number(sources) -> int:
    number = getattr(sources[0], "SeriesNumber", None)
    return (int(number) if number not in (None, "") else 0) + 1000
