"""The scene layer: DeepMIR results as MRML nodes, and the reader's edits back as label maps.

Works on any MRML scene: inside desktop Slicer (`slicer.mrmlScene`) and on the `slicer-core`
wheel from PyPI (`new_scene()`), so it is tested without Qt. `slicer` and `vtk` are imported
inside the functions, so importing this module costs nothing where they are absent.

Geometry: MRML nodes are RAS, DeepMIRLib volumes LPS with arrays in (z, y, x) order; the
conversion flips the first two axes of the IJK-to-physical matrix and is exact.

Reading edited segments back (`labels_from_segmentation`), the rules:
1. A segment's class is found, in this order, by
   a. its terminology: a DeepMIR type from Resources/Terminology/DeepMIR.term.json (set by
      `show_result`, kept when the reader renames the segment, and what the reader picks in
      Slicer's terminology selector);
   b. its colour, when it is exactly DeepMIR's red (CMB) or green (iron deposit);
   c. its name: containing "microbleed" or "cmb" -> CMB, "iron" -> iron deposit
      (case-insensitive), e.g. a "possible microbleed" segment the reader added.
2. Segments that match none of these (e.g. the editor's "Segment_1") are refused with an
   InputError naming them: silently dropping a reader's annotation would lose work, and
   guessing its class would corrupt the training set.
3. A deleted segment means no lesions of that class; several segments of one class are merged.
4. Where a CMB and an iron segment overlap, the voxel is CMB: a bleed is the finding that
   must not be lost, and the reader relabels by moving voxels, not by stacking segments.
5. Every segment is resampled (nearest neighbour, by Slicer's segmentation logic) onto the
   SWI node's grid, whatever the extent or geometry of its internal labelmap or the transforms
   the two nodes are under; voxels outside the SWI grid are dropped.

Transforms: volumes leave the scene in world coordinates (a linear parent transform applied;
a non-linear one is refused: harden it first), and the segmentation is placed under the SWI's
transform, so results stay on the SWI wherever it is moved.

Slicer releases: only APIs that Slicer 5.6 has (Testing/SlicerAPI holds that list). No
temporary nodes are added to the scene: segments are read and written as vtkOrientedImageData.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .bundled import bundled_file
from .classes import CMB, CMB_CLASS, IRON, IRON_CLASS
from .datastore import DatastoreEntry
from .errors import InputError
from .lesions import Lesion, find_lesions, keep_model_probabilities, label_components
from .results import Detection, ModelSummary
from .volumes import Volume

if TYPE_CHECKING:
    from threading import Event

    from .modelfile import LoadedModel

SEGMENT_NAMES = {CMB: CMB_CLASS.name, IRON: IRON_CLASS.name}
SEGMENT_COLORS = {CMB: CMB_CLASS.color, IRON: IRON_CLASS.color}
TERMINOLOGY_FILE = bundled_file("Terminology", "DeepMIR.term.json")
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])

# Slicer's classes in annotations: slicer and vtk are imported only inside the functions (this
# module loads outside Slicer too), so these names say which MRML object is meant and are `object`.
MRMLScene = object  # vtkMRMLScene
VolumeNode = object  # vtkMRMLScalarVolumeNode (or vtkMRMLLabelMapVolumeNode)
SegmentationNode = object  # vtkMRMLSegmentationNode
TableNode = object  # vtkMRMLTableNode
Segment = object  # vtkSegment
SlicerLogic = object  # a module logic, e.g. vtkSlicerTerminologiesModuleLogic


def new_scene() -> MRMLScene:
    """An MRML scene with an application logic and the module logics DeepMIR uses (volumes,
    segmentations, tables, terminologies with DeepMIR's context) registered on it, as
    trame-slicer sets up its core. The application logic holds its module logics by weak
    reference, so the scene keeps them alive; `module_logic(scene, name)` returns one."""
    import slicer

    scene = slicer.vtkMRMLScene()
    application_logic = slicer.vtkSlicerApplicationLogic()
    application_logic.SetMRMLScene(scene)
    color_logic = application_logic.GetColorLogic()  # label map colour tables, used by the volumes logic
    color_logic.SetMRMLScene(scene)
    color_logic.AddDefaultColorNodes()
    application_logic.SetModuleLogic("Colors", color_logic)
    slicer.vtkMRMLSliceNode.AddDefaultSliceOrientationPresets(scene, True)
    logics = {"Volumes": slicer.vtkSlicerVolumesLogic(), "Segmentations": slicer.vtkSlicerSegmentationsModuleLogic(),
              "Tables": slicer.vtkSlicerTablesLogic(), "Terminologies": slicer.vtkSlicerTerminologiesModuleLogic()}
    for name, logic in logics.items():
        logic.SetMRMLApplicationLogic(application_logic)
        # Not for Terminologies: its SetMRMLScene loads Slicer's default terminology lists from
        # a share folder the slicer-core wheel does not ship; loading contexts needs no scene.
        if name != "Terminologies":
            logic.SetMRMLScene(scene)
        application_logic.SetModuleLogic(name, logic)
    load_terminology(logics["Terminologies"])
    scene._deepmir_logics = {"ApplicationLogic": application_logic, **logics}
    return scene


def module_logic(scene: MRMLScene, name: str) -> SlicerLogic:
    """A logic `new_scene` registered: "Volumes", "Segmentations", "Tables", "Terminologies"."""
    return scene._deepmir_logics[name]


def load_terminology(terminologies_logic: SlicerLogic) -> str:
    """Load DeepMIR's terminology context into Slicer's Terminologies logic (in desktop Slicer:
    `slicer.modules.terminologies.logic()`), so the terminology selector offers its two types."""
    name = terminologies_logic.LoadTerminologyFromFile(str(TERMINOLOGY_FILE))
    if not name:
        raise InputError(TERMINOLOGY_FILE, "Slicer could not load this terminology context")
    return name


def _volumes_logic(scene):
    """The scene's volumes logic: new_scene's, or a fresh one for any other scene."""
    import slicer

    if hasattr(scene, "_deepmir_logics"):
        return module_logic(scene, "Volumes")
    logic = slicer.vtkSlicerVolumesLogic()
    logic.SetMRMLScene(scene)
    return logic


def load_volume(scene: MRMLScene, path: Path | str, name: str | None = None) -> VolumeNode:
    """A scalar volume node read through MRML's archetype storage node (ITK readers)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    node = _volumes_logic(scene).AddArchetypeVolume(str(path), name or path.name.split(".")[0])
    if node is None:
        raise InputError(path, "could not be read as a volume")
    return node


def _ijk_to_ras(volume: Volume) -> np.ndarray:
    matrix = np.eye(4)
    direction = np.asarray(volume.direction, float).reshape(3, 3)
    matrix[:3, :3] = LPS_TO_RAS @ direction @ np.diag(volume.spacing)
    matrix[:3, 3] = LPS_TO_RAS @ np.asarray(volume.origin, float)
    return matrix


def _numpy_matrix(matrix) -> np.ndarray:
    return np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])


def _vtk_matrix(array: np.ndarray):
    import vtk

    matrix = vtk.vtkMatrix4x4()
    for r, row in enumerate(array):
        for c, value in enumerate(row):
            matrix.SetElement(r, c, float(value))
    return matrix


def _ijk_to_world(volume_node) -> np.ndarray:
    """The node's IJK-to-RAS matrix with its parent transform applied (linear ones only)."""
    import vtk

    matrix = vtk.vtkMatrix4x4()
    volume_node.GetIJKToRASMatrix(matrix)
    ijk_to_ras = _numpy_matrix(matrix)
    transform = volume_node.GetParentTransformNode()
    if transform is None:
        return ijk_to_ras
    if not transform.IsTransformToWorldLinear():
        raise InputError(volume_node.GetName(), f"is under the non-linear transform {transform.GetName()!r}: harden the transform first")
    to_world = vtk.vtkMatrix4x4()
    transform.GetMatrixTransformToWorld(to_world)
    return _numpy_matrix(to_world) @ ijk_to_ras


def volume_from_node(volume_node: VolumeNode) -> Volume:
    """The node's voxels (z, y, x) and geometry in world coordinates (its parent transform
    applied), in LPS."""
    from vtk.util.numpy_support import vtk_to_numpy

    ijk_to_world = _ijk_to_world(volume_node)
    spacing = np.linalg.norm(ijk_to_world[:3, :3], axis=0)
    direction = LPS_TO_RAS @ ijk_to_world[:3, :3] / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-6):
        raise InputError(volume_node.GetName(), "its transform shears the image: harden the transform first")
    image = volume_node.GetImageData()
    x, y, z = image.GetDimensions()
    array = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(z, y, x).copy()
    return Volume(array, tuple(LPS_TO_RAS @ ijk_to_world[:3, 3]), tuple(spacing), tuple(direction.ravel()), volume_node.GetName())


def node_from_volume(scene: MRMLScene, volume: Volume, name: str, labelmap: bool = False) -> VolumeNode:
    """A new scalar (or labelmap) volume node holding `volume` with its exact geometry."""
    import vtk
    from vtk.util.numpy_support import numpy_to_vtk

    node = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode" if labelmap else "vtkMRMLScalarVolumeNode", name)
    _set_node_geometry(node, volume)
    array = np.ascontiguousarray(volume.array)
    image = vtk.vtkImageData()
    image.SetDimensions(array.shape[2], array.shape[1], array.shape[0])
    scalars = numpy_to_vtk(array.ravel(), deep=True)
    image.GetPointData().SetScalars(scalars)
    node.SetAndObserveImageData(image)
    node.CreateDefaultDisplayNodes()
    return node


def _set_node_geometry(node, volume: Volume) -> None:
    node.SetIJKToRASMatrix(_vtk_matrix(_ijk_to_ras(volume)))


def _hex_rgb(color: str) -> tuple[float, float, float]:
    return tuple(int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))


def _code(coded: dict) -> str:
    return f"{coded['CodingSchemeDesignator']}^{coded['CodeValue']}^{coded['CodeMeaning']}"


@functools.cache
def terminology_entry(label: int) -> str:
    """Slicer's serialized terminology entry (context~category~type~modifier~anatomy) for a
    DeepMIR class, read from Resources/Terminology/DeepMIR.term.json."""
    context = json.loads(TERMINOLOGY_FILE.read_text(encoding="utf-8"))
    for category in context["SegmentationCodes"]["Category"]:
        for entry in category["Type"]:
            if entry.get("3dSlicerLabel") == SEGMENT_NAMES[label]:
                return f"{context['SegmentationCategoryTypeContextName']}~{_code(category)}~{_code(entry)}~^^~~^^~^^"
    raise KeyError(label)


def _label_from_terminology(terminology: str) -> int | None:
    """The DeepMIR class whose terminology type (coding scheme and code) the entry names."""
    parts = terminology.split("~")
    if len(parts) < 3:
        return None
    scheme_and_code = parts[2].split("^")[:2]
    for label in SEGMENT_NAMES:
        if terminology_entry(label).split("~")[2].split("^")[:2] == scheme_and_code:
            return label
    return None


def segment_terminology(segment: Segment) -> str:
    """The segment's serialized terminology entry, '' if it has none. Through the segment's
    tag, as Slicer 5.6 and 5.8 offer it (vtkSegment.GetTerminology() is new in 5.10)."""
    import vtk

    value = vtk.reference("")
    if not segment.GetTag(segment.GetTerminologyEntryTagName(), value):
        return ""
    return str(value)


def set_segment_terminology(segment: Segment, entry: str) -> None:
    """Set the segment's serialized terminology entry (the tag Slicer's terminology selector reads)."""
    segment.SetTag(segment.GetTerminologyEntryTagName(), entry)


# --- results into the scene -----------------------------------------------------------------

def show_result(scene: MRMLScene, labels: Volume, lesions: list[Lesion], reference_node: VolumeNode, segmentation_node: SegmentationNode | None = None,
                table_node: TableNode | None = None) -> tuple[SegmentationNode, TableNode]:
    """One segmentation node with segments "Cerebral microbleed" (red) and "Iron deposit"
    (green) on the reference (SWI) geometry, and a table node listing the lesions."""
    if segmentation_node is None:
        segmentation_node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "DeepMIR lesions")
        segmentation_node.CreateDefaultDisplayNodes()
    segmentation_node.SetAndObserveTransformNodeID(reference_node.GetTransformNodeID())
    segmentation_node.SetReferenceImageGeometryParameterFromVolumeNode(reference_node)
    segmentation = segmentation_node.GetSegmentation()
    segmentation.RemoveAllSegments()
    _write_segments(segmentation_node, reference_node, labels.array)
    table_node = fill_lesion_table(scene, lesions, table_node)
    return segmentation_node, table_node


def fill_lesion_table(scene: MRMLScene, lesions: list[Lesion], table_node: TableNode | None = None) -> TableNode:
    """A table node with one row per lesion: class, volume, centroid (RAS), the U-Net's highest
    probability of the class and the second stage's probability (NaN where there is none)."""
    import vtk

    if table_node is None:
        table_node = scene.AddNewNodeByClass("vtkMRMLTableNode", "DeepMIR lesion table")
    table = table_node.GetTable()
    table.Initialize()
    columns = {"class": vtk.vtkStringArray(), "volume_mm3": vtk.vtkDoubleArray(), "R": vtk.vtkDoubleArray(),
               "A": vtk.vtkDoubleArray(), "S": vtk.vtkDoubleArray(), "probability": vtk.vtkDoubleArray(),
               "second_stage_probability": vtk.vtkDoubleArray()}
    for name, column in columns.items():
        column.SetName(name)
        table.AddColumn(column)
    for lesion in lesions:
        row = _row_values(lesion)
        index = table.InsertNextBlankRow()
        for column, value in enumerate(row):
            table.SetValue(index, column, vtk.vtkVariant(value))
    table_node.Modified()
    return table_node


def _row_values(lesion: Lesion) -> list:
    """(class, mm3, R, A, S, highest probability, second-stage probability) of a lesion."""
    return [lesion.class_name, float(lesion.volume_mm3), *lesion.centroid_ras, float(lesion.prob_max), float(lesion.second_stage_prob)]


# --- segments <-> label maps ----------------------------------------------------------------

def _segment_class(segment) -> int | None:
    """Rule 1 of the module docstring: terminology, then exact colour, then name."""
    label = _label_from_terminology(segment_terminology(segment))
    if label is not None:
        return label
    for label, color in SEGMENT_COLORS.items():
        if np.allclose(segment.GetColor(), _hex_rgb(color), atol=0.5 / 255):
            return label
    name = segment.GetName().lower()
    if "microbleed" in name or "cmb" in name:
        return CMB
    if "iron" in name:
        return IRON
    return None


def _class_masks(segmentation_node, segment_ids: dict[int, list[str]], reference_node, shape) -> dict[int, np.ndarray]:
    """Per class, the union of its segments as a boolean array on the reference node's grid,
    resampled by Slicer's segmentation logic into the reference's frame (its transform too)."""
    import slicer
    import vtk

    segmentation_node.GetSegmentation().CreateRepresentation(slicer.vtkSegmentationConverter.GetSegmentationBinaryLabelmapRepresentationName())
    masks = {}
    for label, ids in segment_ids.items():
        masks[label] = np.zeros(shape, bool)
        if not ids:
            continue
        id_array, values = vtk.vtkStringArray(), vtk.vtkIntArray()
        for segment_id in ids:
            id_array.InsertNextValue(segment_id)
            values.InsertNextValue(1)
        merged = slicer.vtkOrientedImageData()
        slicer.vtkSlicerSegmentationsModuleLogic.GenerateMergedLabelmapInReferenceGeometry(
            segmentation_node, reference_node, id_array, slicer.vtkSegmentation.EXTENT_REFERENCE_GEOMETRY, merged, values)
        _paste_extent(masks[label], merged)
    return masks


def _paste_extent(mask: np.ndarray, image) -> None:
    """Set `mask` (z, y, x, the reference grid) where `image` (on that grid, any extent) is non-zero."""
    from vtk.util.numpy_support import vtk_to_numpy

    i0, i1, j0, j1, k0, k1 = image.GetExtent()
    if i1 < i0 or j1 < j0 or k1 < k0 or image.GetPointData().GetScalars() is None:
        return
    values = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(k1 - k0 + 1, j1 - j0 + 1, i1 - i0 + 1) > 0
    low = np.maximum((k0, j0, i0), 0)
    high = np.minimum((k1 + 1, j1 + 1, i1 + 1), mask.shape)
    if np.any(high <= low):
        return
    inside = tuple(slice(lo - start, hi - start) for lo, hi, start in zip(low, high, (k0, j0, i0)))
    mask[low[0]:high[0], low[1]:high[1], low[2]:high[2]] |= values[inside]


def labels_from_segmentation(segmentation_node: SegmentationNode, reference_node: VolumeNode) -> Volume:
    """The reader's segments as a 0/1/2 label map on the SWI grid (rules in the module docstring)."""
    reference = volume_from_node(reference_node)
    segmentation = segmentation_node.GetSegmentation()
    segment_ids = {CMB: [], IRON: []}
    unknown = []
    for index in range(segmentation.GetNumberOfSegments()):
        segment_id = segmentation.GetNthSegmentID(index)
        label = _segment_class(segmentation.GetSegment(segment_id))
        if label is None:
            unknown.append(segmentation.GetSegment(segment_id).GetName())
        else:
            segment_ids[label].append(segment_id)
    if unknown:
        raise InputError(segmentation_node.GetName(), f"segments {unknown} are neither microbleed nor iron deposit: "
                         "rename them (a name with 'microbleed' or 'iron') or delete them")
    masks = _class_masks(segmentation_node, segment_ids, reference_node, reference.array.shape)
    labels = np.zeros(reference.array.shape, np.uint8)
    labels[masks[IRON]] = IRON
    labels[masks[CMB]] = CMB  # rule 4: CMB wins where both overlap
    return reference.with_array(labels)


def _class_segment_id(segmentation_node, label: int) -> str:
    """The first segment of a class; a new one with DeepMIR's name, colour and tags if none."""
    segmentation = segmentation_node.GetSegmentation()
    for index in range(segmentation.GetNumberOfSegments()):
        segment_id = segmentation.GetNthSegmentID(index)
        if _segment_class(segmentation.GetSegment(segment_id)) == label:
            return segment_id
    segment_id = segmentation.AddEmptySegment(SEGMENT_NAMES[label].replace(" ", "_"), SEGMENT_NAMES[label], _hex_rgb(SEGMENT_COLORS[label]))
    set_segment_terminology(segmentation.GetSegment(segment_id), terminology_entry(label))
    return segment_id


def _oriented_image(array: np.ndarray, reference_node, segmentation_node):
    """`array` (z, y, x, on the reference node's grid) as a vtkOrientedImageData in the
    segmentation node's frame."""
    import slicer
    import vtk
    from vtk.util.numpy_support import numpy_to_vtk

    image = slicer.vtkOrientedImageData()
    image.SetDimensions(array.shape[2], array.shape[1], array.shape[0])
    image.GetPointData().SetScalars(numpy_to_vtk(np.ascontiguousarray(array).ravel(), deep=True))
    ijk_to_ras = vtk.vtkMatrix4x4()
    reference_node.GetIJKToRASMatrix(ijk_to_ras)
    image.SetImageToWorldMatrix(ijk_to_ras)
    if reference_node.GetTransformNodeID() != segmentation_node.GetTransformNodeID():
        transform = vtk.vtkGeneralTransform()
        slicer.vtkMRMLTransformNode.GetTransformBetweenNodes(
            reference_node.GetParentTransformNode(), segmentation_node.GetParentTransformNode(), transform)
        slicer.vtkOrientedImageDataResample.TransformOrientedImage(image, transform)
    return image


def _write_segments(segmentation_node, reference_node, labels: np.ndarray) -> None:
    """Replace the contents of the CMB and iron segments by `labels` (0/1/2, reference grid);
    other classes' extra segments are removed so that the label map is the whole truth."""
    import slicer

    segmentation = segmentation_node.GetSegmentation()
    class_segment_ids = {label: _class_segment_id(segmentation_node, label) for label in (CMB, IRON)}
    for segment_id in [segmentation.GetNthSegmentID(i) for i in range(segmentation.GetNumberOfSegments())]:
        if segment_id not in class_segment_ids.values() and _segment_class(segmentation.GetSegment(segment_id)) is not None:
            segmentation.RemoveSegment(segment_id)
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    for label, segment_id in class_segment_ids.items():
        image = _oriented_image((labels == label).astype(np.uint8), reference_node, segmentation_node)
        logic.SetBinaryLabelmapToSegment(image, segmentation_node, segment_id, logic.MODE_REPLACE)


def lesion_rows(segmentation_node: SegmentationNode, reference_node: VolumeNode) -> list[Lesion]:
    """The lesions as the segments now are: 26-connected components of each class, CMB
    first (lesions.find_lesions on the edited label map; no probabilities)."""
    return find_lesions(labels_from_segmentation(segmentation_node, reference_node))


def refresh_lesion_table(scene: MRMLScene, segmentation_node: SegmentationNode, reference_node: VolumeNode, table_node: TableNode | None,
                         original_lesions: list[Lesion]) -> tuple[list[Lesion], TableNode]:
    """The lesions of the segmentation as it is now, written to the table node (a new one if
    None): returns (lesions, table node). A lesion the reader left as the model made it (same
    class, voxels and centroid) keeps the model's probabilities; edited ones have none
    (lesions.keep_model_probabilities)."""
    lesions = keep_model_probabilities(lesion_rows(segmentation_node, reference_node), original_lesions)
    return lesions, fill_lesion_table(scene, lesions, table_node)


def _component_at(labels: Volume, ras) -> tuple[np.ndarray, int] | None:
    """The mask and class of the lesion containing (or, within 2 voxels, nearest to) `ras`."""
    index = np.asarray(labels.lps_to_index(LPS_TO_RAS @ np.asarray(ras, float)), float)[::-1]  # (z, y, x)
    lesion = labels.array > 0
    if not lesion.any():
        return None
    candidates = np.argwhere(lesion)
    nearest = candidates[np.argmin(np.linalg.norm(candidates - index, axis=1))]
    if np.linalg.norm(nearest - index) > 2.0:
        return None
    label = int(labels.array[tuple(nearest)])
    components, _ = label_components(labels.array == label)
    return components == components[tuple(nearest)], label


def delete_lesion_at(segmentation_node: SegmentationNode, reference_node: VolumeNode, ras: Sequence[float]) -> bool:
    """Erase the lesion at `ras` (RAS mm) from its segment; False if there is none."""
    labels = labels_from_segmentation(segmentation_node, reference_node)
    found = _component_at(labels, ras)
    if found is None:
        return False
    labels.array[found[0]] = 0
    _write_segments(segmentation_node, reference_node, labels.array)
    return True


def switch_lesion_class_at(segmentation_node: SegmentationNode, reference_node: VolumeNode, ras: Sequence[float]) -> bool:
    """Move the lesion at `ras` from the CMB segment to the iron one or back."""
    labels = labels_from_segmentation(segmentation_node, reference_node)
    found = _component_at(labels, ras)
    if found is None:
        return False
    mask, label = found
    labels.array[mask] = IRON if label == CMB else CMB
    _write_segments(segmentation_node, reference_node, labels.array)
    return True


def centre_views_on(scene: MRMLScene, ras: Sequence[float]) -> None:
    """Jump every slice view of the scene to `ras` (centred)."""
    import slicer

    r, a, s = (float(v) for v in ras)
    slicer.vtkMRMLSliceNode.JumpAllSlices(scene, r, a, s, slicer.vtkMRMLSliceNode.CenteredJumpSlice)


# --- detection and export -------------------------------------------------------------------

@dataclass
class DetectionResult:
    segmentation_node: object
    table_node: object
    detection: Detection


def run_detection(scene: MRMLScene, input_nodes: dict[str, VolumeNode | None], model: LoadedModel | Path | str = "default", device: str = "auto",
                  progress: Callable[[int, int], None] | None = None, cancel: Event | Callable[[], bool] | None = None,
                  swi_echo_time_ms: float | None = None) -> DetectionResult:
    """The blocking path (tests, scripting): the nodes' volumes, in memory, through
    pipeline.detect into segmentation and table nodes (`swi_echo_time_ms` for a second stage
    that takes it). The Slicer module runs the same entry point in a background process instead."""
    from .pipeline import ParticipantVolumes, detect

    volumes = {name: volume_from_node(node) for name, node in input_nodes.items() if node is not None}
    participant = ParticipantVolumes(input_nodes["swi"].GetName(), volumes["swi"], volumes.get("qsm"), volumes.get("t2"),
                                     swi_echo_time_ms=swi_echo_time_ms)
    detection = detect(participant, model, device=device, progress=progress, cancel=cancel)
    segmentation_node, table_node = show_result(scene, detection.labels, detection.lesions, input_nodes["swi"])
    return DetectionResult(segmentation_node, table_node, detection)


def export_to_datastore(datastore_root: Path | str, case_id: str, annotator: str, input_nodes: dict[str, VolumeNode | None], segmentation_node: SegmentationNode,
                        original_labels: Volume | None, model: ModelSummary | None = None,
                        swi_echo_time_ms: float | None = None) -> DatastoreEntry:
    """Save the images, the model's original label and the reader's edited label as a new
    version of `case_id` in the training set at `datastore_root` (created if needed).
    `model`: the summary of the model that made `original_labels` (Detection.model);
    `swi_echo_time_ms`: the SWI's echo time where the reader knows it (kept with the case)."""
    from .datastore import Datastore

    final = labels_from_segmentation(segmentation_node, input_nodes["swi"])
    images = {name: volume_from_node(node) for name, node in input_nodes.items() if node is not None}
    if model is not None:
        model = {"name": model.name, "version": model.version, "sha256": model.sha256}
    store = Datastore(datastore_root, create=True)
    return store.save_case(case_id, images, final, original_labels=original_labels, annotator=annotator, model=model,
                           swi_echo_time_ms=swi_echo_time_ms)
