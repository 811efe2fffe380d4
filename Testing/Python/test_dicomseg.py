"""DICOM Segmentation output (DeepMIRLib.dicomseg, the dicom extra): the object references the
SWI series it was made from, codes its segments as the terminology file does, and its frames,
read back with highdicom, are the label map's slices at the source images' positions."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from DeepMIRLib.cli import main
from DeepMIRLib.dicomseg import SEG_FILE, TERMINOLOGY_FILE, read_series, write_dicom_seg
from DeepMIRLib.results import Detection, ModelSummary
from DeepMIRLib.volumes import Volume, read_volume

highdicom = pytest.importorskip("highdicom", reason="the dicom extra (highdicom) is not installed")
pydicom = pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")

SCALE = 1000.0  # stored integer = value * SCALE (Rescale Slope 1 / SCALE)


def write_series(volume: Volume, folder) -> None:
    """An MR image series of `volume` (one file per slice, named in a shuffled order)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import MRImageStorage, generate_uid

    folder.mkdir(parents=True)
    direction = np.asarray(volume.direction, float).reshape(3, 3)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    names = np.random.default_rng(0).permutation(volume.shape[0])
    for k in range(volume.shape[0]):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Test^Participant", "P001", "19500101", "O"
        ds.StudyInstanceUID, ds.StudyDate, ds.StudyTime, ds.StudyID = study, "20260101", "120000", "1"
        ds.AccessionNumber, ds.ReferringPhysicianName = "A1", ""
        ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = "MR", series, 5, k + 1
        ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = frame, ""
        ds.ImagePositionPatient = [f"{v:.6f}" for v in volume.index_to_lps([0, 0, k])]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*direction[:, 0], *direction[:, 1])]
        ds.PixelSpacing = [volume.spacing[1], volume.spacing[0]]
        ds.SliceThickness = volume.spacing[2]
        ds.Rows, ds.Columns = volume.shape[1], volume.shape[2]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1 / SCALE
        ds.PixelData = np.round(volume.array[k] * SCALE).astype(np.int16).tobytes()
        ds.save_as(folder / f"IM{names[k]:04d}.dcm", enforce_file_format=True)


@pytest.fixture(scope="module")
def dicom_participant(slab_cohort, tmp_path_factory):
    """sim-41-0001 with its SWI as a DICOM series folder swi/ (QSM, T2 as NIfTI)."""
    folder = tmp_path_factory.mktemp("dicom") / "sub-dicom"
    source = slab_cohort / "sim-41-0001"
    write_series(read_volume(source / "swi.nii.gz"), folder / "swi")
    for name in ("qsm", "t2"):
        shutil.copy(source / f"{name}.nii.gz", folder / f"{name}.nii.gz")
    return folder


def frames_by_slice(seg_path, series_folder, labels: Volume) -> dict[int, np.ndarray]:
    """{z: (rows, columns, segments)} read back from the SEG, z the slice of `labels` at
    each source image's position."""
    seg = highdicom.seg.segread(seg_path)
    result = {}
    for source in read_series(series_folder):
        pixels = seg.get_pixels_by_source_instance([source.SOPInstanceUID], segment_numbers=[1, 2])
        z = round(float(labels.lps_to_index(np.asarray(source.ImagePositionPatient, float))[2]))
        result[z] = pixels[0]
    return result


def test_segmentation_frames_are_the_label_map(dicom_participant, tmp_path):
    swi = read_volume(dicom_participant / "swi")
    labels = np.zeros(swi.shape, np.uint8)
    labels[3:5, 100:104, 90:93] = 1
    labels[8, 120:130, 60:70] = 2
    labels[8, 140, 140] = 1
    model = ModelSummary("test-model", "1.2.3", "ab" * 32, "multiclass", ("swi", "qsm", "t2"))
    detection = Detection("sub-dicom", swi.with_array(labels), {}, [], model)
    path = write_dicom_seg(detection, dicom_participant / "swi", tmp_path / SEG_FILE)
    seg = highdicom.seg.segread(path)
    source = read_series(dicom_participant / "swi")[0]
    assert seg.StudyInstanceUID == source.StudyInstanceUID and seg.FrameOfReferenceUID == source.FrameOfReferenceUID
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
    assert len(seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence) == swi.shape[0]
    category = json.loads(TERMINOLOGY_FILE.read_text())["SegmentationCodes"]["Category"][0]
    for number, (code, name) in enumerate((("CMB", "Cerebral microbleed"), ("IRON", "Iron deposit")), start=1):
        description = seg.get_segment_description(number)
        assert description.segment_label == name
        assert (description.segmented_property_type.value, description.segmented_property_type.scheme_designator) == (code, "99DEEPMIR")
        assert description.segmented_property_category.value == category["CodeValue"] == "49755003"
        assert description.algorithm_type.value == "AUTOMATIC"
    frames = frames_by_slice(path, dicom_participant / "swi", swi)
    assert sorted(frames) == list(range(swi.shape[0]))
    for z, pixels in frames.items():
        assert np.array_equal(pixels[..., 0], labels[z] == 1), z
        assert np.array_equal(pixels[..., 1], labels[z] == 2), z


def test_predict_writes_the_segmentation(dicom_participant, tmp_path):
    out = tmp_path / "out"
    assert main(["predict", "--input", str(dicom_participant), "--out", str(out), "--dicom-seg", "--device", "cpu"]) == 0
    result = out / "sub-dicom"
    labels = read_volume(result / "labels.nii.gz", np.uint8)
    assert labels.array.any()
    frames = frames_by_slice(result / SEG_FILE, dicom_participant / "swi", labels)
    for z, pixels in frames.items():
        assert np.array_equal(pixels[..., 0], labels.array[z] == 1) and np.array_equal(pixels[..., 1], labels.array[z] == 2)
    # asking for it where SWI is not DICOM is refused before any work
    assert main(["predict", "--swi", str(dicom_participant / "qsm.nii.gz"), "--out", str(tmp_path / "x"), "--dicom-seg"]) == 2
