"""One reader's work on one case, on any MRML scene: the reading station's logic without its web page.

`ReadingSession` opens a case's images as volume nodes, runs the detection in the
background worker (`python -m DeepMIRLib.worker`, the one pipeline entry point, the same
process the Slicer module starts) with progress and cancel, shows the result as the two
DeepMIR segments, lists, centres on, deletes and relabels lesions, and approves the edited
segments into the training set. Every MRML operation goes through the scene layer
(DeepMIRLib/scene.py); the approval through `scene.export_to_datastore`, the desktop
module's export.

It runs on the trame-slicer application's scene in `deepmir review` and on
`scene.new_scene()` in tests; it imports `slicer` and `vtk` only through the scene layer,
and never torch (the worker does).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import scene
from ..classes import MODALITIES
from ..errors import InputError
from ..lesions import Lesion, keep_model_probabilities
from ..pipeline import ParticipantInputs
from ..worker import WorkerProcess, read_result, worker_command
from .worklist import Case

# window presets: percentiles of the voxels inside the image's non-zero region
WINDOW_PRESETS = {"auto": None, "narrow": (10.0, 90.0), "wide": (0.5, 99.5)}


@dataclass
class DetectionProgress:
    """What the reader sees of a running detection."""

    fraction: float = 0.0
    stage: str = "starting"
    state: str = "running"  # running, done, cancelled, failed
    message: str = ""
    log: list = field(default_factory=list)


class ReadingSession:
    """The case open in one reading station (one scene): images, detection, segments, approval."""

    def __init__(self, mrml_scene, datastore_root, model="default", device: str = "auto"):
        self.scene = mrml_scene
        self.datastore_root = Path(datastore_root)
        self.model = str(model)
        self.device = device
        self.case: Case | None = None
        self.volume_nodes: dict = {}  # 'swi', 'qsm', 't2' -> scalar volume node
        self.segmentation_node = None
        self.table_node = None
        self.detection = None  # results.Detection of the last finished run on this case
        self.lesions: list[Lesion] = []
        self.progress: DetectionProgress | None = None
        self._worker: WorkerProcess | None = None
        self._run_folder: Path | None = None

    # --- opening and closing ------------------------------------------------------------

    def open(self, case: Case) -> None:
        """Load the case's images (SWI, and QSM and T2 when present) and an empty segmentation
        with the two DeepMIR segments, replacing the case open before."""
        self.close()
        self.case = case
        for name in MODALITIES:
            if name in case.images:
                self.volume_nodes[name] = scene.load_volume(self.scene, case.images[name], f"{case.case_id} {name.upper()}")
        swi = scene.volume_from_node(self.volume_nodes["swi"])
        empty = swi.with_array(np.zeros(swi.array.shape, np.uint8))
        self.segmentation_node, self.table_node = scene.show_result(self.scene, empty, [], self.volume_nodes["swi"])
        self.segmentation_node.SetName(f"{case.case_id} DeepMIR lesions")
        self.lesions = []

    def close(self) -> None:
        """Stop a running detection and remove the open case's nodes from the scene."""
        self.cancel_detection()
        self._finish_run()
        for node in [*self.volume_nodes.values(), self.segmentation_node, self.table_node]:
            if node is not None and self.scene.IsNodePresent(node):
                self.scene.RemoveNode(node)
        self.case, self.volume_nodes, self.segmentation_node, self.table_node = None, {}, None, None
        self.detection, self.lesions, self.progress = None, [], None

    @property
    def swi_node(self):
        return self.volume_nodes.get("swi")

    # --- detection in the background ----------------------------------------------------

    def start_detection(self) -> None:
        """Start the worker on the case's files; follow it with `poll_detection`."""
        if self.case is None:
            raise InputError("review", "open a case before running the detection")
        if self.detection_running:
            return
        self._run_folder = Path(tempfile.mkdtemp(prefix="deepmir-review-"))
        images = self.case.images
        command = worker_command(images["swi"], self._run_folder / "result", self.model, self.device,
                                 qsm=images.get("qsm"), t2=images.get("t2"), participant_id=self.case.case_id,
                                 swi_echo_time_ms=self.case.swi_echo_time_ms)
        if "brainmask" in images:
            command += ["--mask", str(images["brainmask"])]
        self._worker = WorkerProcess(command)
        self.progress = DetectionProgress()
        self._worker.start()

    @property
    def detection_running(self) -> bool:
        return self._worker is not None

    def poll_detection(self) -> DetectionProgress | None:
        """Take in the worker's events; once it has finished, show its result (or say why
        there is none). Returns the progress, None when no detection was started."""
        if self._worker is None:
            return self.progress
        finished = self._worker.finished()
        for event in self._worker.poll():
            self._take_event(event)
        if finished:
            self._end_of_run()
        return self.progress

    def _take_event(self, event: dict) -> None:
        progress = self.progress
        if event["event"] == "progress":
            progress.fraction, progress.stage = float(event["fraction"]), str(event["stage"])
        elif event["event"] == "done":
            progress.log.append(event)
        elif event["event"] in ("error", "log"):
            progress.log.append(event)
            if event["event"] == "error":
                progress.message = event["message"]

    def _end_of_run(self) -> None:
        worker, progress = self._worker, self.progress
        try:
            done = [event for event in progress.log if event.get("event") == "done"]
            if worker.cancelled:
                progress.state, progress.message = "cancelled", "Detection cancelled."
            elif done:
                self._show_detection(read_result(done[-1]))
                progress.state, progress.fraction = "done", 1.0
                progress.message = f"{len(self.lesions)} lesions found by {self.detection.model.name} {self.detection.model.version}."
            else:
                progress.state = "failed"
                progress.message = progress.message or f"The detection process stopped (exit status {worker.returncode})."
        finally:
            self._finish_run()

    def _show_detection(self, detection) -> None:
        self.detection = detection
        scene.show_result(self.scene, detection.labels, detection.lesions, self.swi_node, self.segmentation_node, self.table_node)
        self.lesions = list(detection.lesions)

    def cancel_detection(self) -> None:
        """Kill the worker and everything it started; `poll_detection` then reports 'cancelled'."""
        if self._worker is not None:
            self._worker.cancel()

    def _finish_run(self) -> None:
        self._worker = None
        if self._run_folder is not None:
            shutil.rmtree(self._run_folder, ignore_errors=True)
            self._run_folder = None

    # --- lesions ------------------------------------------------------------------------

    def refresh_lesions(self) -> list[Lesion]:
        """The lesions of the segments as they are now (after deleting, relabelling, painting).
        A lesion left as the model made it keeps the model's probabilities."""
        if self.segmentation_node is None:
            self.lesions = []
            return self.lesions
        originals = self.detection.lesions if self.detection is not None else []
        self.lesions = keep_model_probabilities(scene.lesion_rows(self.segmentation_node, self.swi_node), originals)
        return self.lesions

    def lesion_focus_ras(self, index: int) -> tuple[float, float, float]:
        """RAS of the voxel centre nearest to the lesion's centroid: where the views are
        centred on it (a voxel centre, so the slices show the lesion's own voxels)."""
        lesion = self.lesions[index]
        swi = scene.volume_from_node(self.swi_node)
        voxel = np.round(np.asarray(lesion.centroid_index, float))
        x, y, z = swi.index_to_lps(voxel)
        return (-float(x), -float(y), float(z))

    def centre_on_lesion(self, index: int) -> tuple[float, float, float]:
        ras = self.lesion_focus_ras(index)
        scene.centre_views_on(self.scene, ras)
        return ras

    def delete_lesion(self, index: int) -> bool:
        """Erase lesion `index` of the table from its segment."""
        return self._edit(scene.delete_lesion_at, index)

    def relabel_lesion(self, index: int) -> bool:
        """Move lesion `index` of the table from CMB to iron deposit or back."""
        return self._edit(scene.switch_lesion_class_at, index)

    def _edit(self, edit, index: int) -> bool:
        if not 0 <= index < len(self.lesions):
            return False
        changed = edit(self.segmentation_node, self.swi_node, self.lesions[index].centroid_ras)
        self.refresh_lesions()
        return changed

    # --- display ------------------------------------------------------------------------

    def segment_id(self, label: int) -> str:
        return scene._class_segment_id(self.segmentation_node, label)

    def set_segment_visible(self, label: int, visible: bool) -> None:
        display = self.segmentation_node.GetDisplayNode()
        display.SetSegmentVisibility(self.segment_id(label), bool(visible))

    def set_segment_opacity(self, opacity: float) -> None:
        """Opacity of the segments' fill in the slice views (outlines and 3-D stay opaque)."""
        display = self.segmentation_node.GetDisplayNode()
        display.SetOpacity2DFill(float(opacity))

    def apply_window_preset(self, preset: str) -> None:
        """Set every open volume's window: Slicer's automatic one, or a percentile range."""
        if preset not in WINDOW_PRESETS:
            raise InputError("window preset", f"{preset!r} is not one of {', '.join(WINDOW_PRESETS)}")
        for node in self.volume_nodes.values():
            display = node.GetDisplayNode()
            percentiles = WINDOW_PRESETS[preset]
            if percentiles is None:
                display.SetAutoWindowLevel(True)
                continue
            array = scene.volume_from_node(node).array
            values = array[array != 0] if np.any(array != 0) else array.ravel()
            low, high = np.percentile(values, percentiles)
            display.SetAutoWindowLevel(False)
            display.SetWindowLevelMinMax(float(low), float(high) if high > low else float(low) + 1.0)

    # --- approval -----------------------------------------------------------------------

    def approve(self, annotator: str) -> dict:
        """Save the images, the model's original label (when a detection ran), the edited final
        label, the annotator and the changes as a new version of the case in the training set
        (scene.export_to_datastore, the desktop module's export). Returns the index entry."""
        if self.case is None:
            raise InputError("review", "no case is open")
        if not annotator.strip():
            raise InputError("annotator", "enter your name before approving")
        if self.detection_running:
            raise InputError(self.case.case_id, "the detection is still running: wait for it or cancel it")
        original = self.detection.labels if self.detection is not None else None
        model = self.detection.model if self.detection is not None else None
        # the training set's value for the case, else its SWI's sidecar (checked against each other as detection does)
        echo_time = ParticipantInputs(self.case.case_id, self.case.images["swi"], swi_echo_time_ms=self.case.swi_echo_time_ms).echo_time()
        return scene.export_to_datastore(self.datastore_root, self.case.case_id, annotator.strip(), self.volume_nodes,
                                         self.segmentation_node, original, model, swi_echo_time_ms=echo_time)
