"""DeepMIR: detect cerebral microbleeds and iron deposits in SWI, QSM and T2, review and correct
them as segments, and export the corrected annotation to a training set.

The module is the user interface only. The work is done in DeepMIRLib: `worker` runs the
detection in a background PythonSlicer process, `scene` turns results into MRML nodes and
edits them, `datastore` (through scene.export_to_datastore) keeps the training set,
`dependencies` says which Python packages are still missing.
"""

import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import qt
import slicer
import vtk
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode, vtkMRMLTableNode
from slicer.parameterNodeWrapper import Choice, Decimals, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin


def _addLibraryToPath():
    """DeepMIRLib lies beside this file in a built extension, one folder up in a source checkout."""
    moduleDir = Path(__file__).resolve().parent
    for folder in (moduleDir, moduleDir.parent):
        if (folder / "DeepMIRLib").is_dir():
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return


_addLibraryToPath()

# These import neither torch nor the other packages installed on first Run. DeepMIRLib.scene,
# imported where it is used, needs only what Slicer ships; detection (torch) runs in the worker.
from DeepMIRLib import dependencies, echotime, registry, worker

MODALITIES = ("swi", "qsm", "t2")
logger = logging.getLogger("DeepMIR")
LOAD_MODEL_FILE = "load-model-file"


class DeepMIR(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "DeepMIR"
        self.parent.categories = ["Segmentation"]
        self.parent.dependencies = []
        self.parent.contributors = ["DeepMIR developers"]
        self.parent.helpText = (
            "Detects cerebral microbleeds (red) and non-hemorrhage iron deposits (green) in SWI, QSM and T2 "
            "with the DEEPMIR 2-D U-Net. Choose the images, press Run, review the lesion table, delete or "
            "relabel lesions, paint missed ones, and export the corrected annotation to a training set. "
            "Research use only: the bundled model is trained on simulated data."
        )
        self.parent.acknowledgementText = "Implements the DEEPMIR method of Rashid et al."


@parameterNodeWrapper
class DeepMIRParameterNode:
    swiVolume: vtkMRMLScalarVolumeNode
    qsmVolume: vtkMRMLScalarVolumeNode
    t2Volume: vtkMRMLScalarVolumeNode
    model: str = "default"  # registry id[@version] or a model file path
    device: Annotated[str, Choice(["auto", "cpu", "cuda"])] = "auto"
    swiEchoTimeMs: Annotated[float, WithinRange(0.0, 100.0), Decimals(1)] = 0.0  # 0: not given (echotime)
    outputSegmentation: vtkMRMLSegmentationNode
    lesionTable: vtkMRMLTableNode
    caseId: str = ""
    annotator: str = ""
    exportFolder: str = ""  # the training set folder; "" until chosen


def matchInputNames(names):
    """Modality -> the first name that mentions it (case-insensitive), e.g. 'sub-01_SWI' for swi."""
    found = {}
    for modality in MODALITIES:
        for name in names:
            if modality in name.lower():
                found[modality] = name
                break
    return found


#
# Widget
#


class DeepMIRWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._worker = None  # worker.WorkerProcess while a detection runs
        self._runFolder = None
        self._runEvents = []
        self._runParameterNode = None  # the parameter node a running detection reports to
        self._lesionRows = []
        self._observedSegmentation = None

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/DeepMIR.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        self.logic = DeepMIRLogic()
        self.setupSegmentEditor()
        uiWidget.setMRMLScene(slicer.mrmlScene)  # after the editor node, as Slicer's SegmentEditor.py does

        self.pollTimer = qt.QTimer()
        self.pollTimer.setInterval(200)
        self.pollTimer.timeout.connect(self.onPollWorker)
        self.tableRefreshTimer = qt.QTimer()  # refresh the table once painting pauses
        self.tableRefreshTimer.setSingleShot(True)
        self.tableRefreshTimer.setInterval(500)
        self.tableRefreshTimer.timeout.connect(self.refreshLesionTable)

        self.ui.lesionTableWidget.setColumnCount(5)
        self.ui.lesionTableWidget.setHorizontalHeaderLabels(["Class", "Volume (mm3)", "Centroid (RAS mm)", "U-Net probability",
                                                             "Second-stage probability"])
        self.ui.lesionTableWidget.horizontalHeader().setStretchLastSection(True)
        self.fillModelComboBox()
        self.setRunning(False)

        self.ui.runButton.clicked.connect(self.onRunButton)
        self.ui.modelComboBox.activated.connect(self.onModelChosen)
        self.ui.lesionTableWidget.itemSelectionChanged.connect(self.onLesionSelected)
        self.ui.leastSureFirstCheckBox.toggled.connect(lambda checked: self.refreshLesionTable())
        self.ui.deleteLesionButton.clicked.connect(self.onDeleteLesion)
        self.ui.switchClassButton.clicked.connect(self.onSwitchClass)
        self.ui.exportFolderBrowseButton.clicked.connect(self.onBrowseExportFolder)
        self.ui.exportButton.clicked.connect(self.onExport)

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.initializeParameterNode()

    def setupSegmentEditor(self):
        """The embedded Segment Editor, set up as Slicer's SegmentEditor.py sets up its own."""
        from DeepMIRLib import scene

        editor = self.ui.segmentEditorWidget
        editor.setMaximumNumberOfUndoStates(10)
        # A segment added with the editor's Add button is a microbleed until the reader says
        # otherwise; without a settings key the choice stays out of Slicer's settings.
        editor.defaultTerminologyEntrySettingsKey = ""
        editor.defaultTerminologyEntry = scene.terminology_entry(scene.CMB)
        editor.setMRMLSegmentEditorNode(self.logic.segmentEditorNode())
        # effects registered after this widget was made (other extensions) appear too
        self.effectFactory = slicer.qSlicerSegmentEditorEffectFactory.instance()
        self.effectFactory.connect("effectRegistered(QString)", editor.updateEffectList)

    def cleanup(self):
        self.pollTimer.stop()
        self.tableRefreshTimer.stop()
        if self._worker is not None:
            self._worker.cancel()
            shutil.rmtree(self._runFolder, ignore_errors=True)
            self._worker = self._runFolder = None
        self.effectFactory.disconnect("effectRegistered(QString)", self.ui.segmentEditorWidget.updateEffectList)
        self.removeObservers()

    def enter(self):
        self.initializeParameterNode()
        self.ui.segmentEditorWidget.installKeyboardShortcuts()

    def exit(self):
        """Hidden, the panel neither paints nor follows the segmentation (painting in another
        module must not export and relabel here)."""
        editor = self.ui.segmentEditorWidget
        editor.setActiveEffect(None)
        editor.uninstallKeyboardShortcuts()
        editor.removeViewObservations()
        self.tableRefreshTimer.stop()
        self.observeSegmentation(None)
        self.setParameterNode(None)

    def onSceneStartClose(self, caller, event):
        self.cancelWorker()
        self._runParameterNode = None
        self.tableRefreshTimer.stop()
        self.observeSegmentation(None)
        self.setParameterNode(None)
        self.ui.segmentEditorWidget.setSegmentationNode(None)
        self.ui.segmentEditorWidget.removeViewObservations()
        self.logic.forgetResult()  # the next case's export must not record this one's model output

    def onSceneEndClose(self, caller, event):
        self.ui.segmentEditorWidget.setMRMLSegmentEditorNode(self.logic.segmentEditorNode())
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self):
        """Pre-fill the inputs from node names (swi, qsm, t2) when they are not chosen yet."""
        parameterNode = self.logic.getParameterNode()
        nodes = {node.GetName(): node for node in slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode") if not node.IsA("vtkMRMLLabelMapVolumeNode")}
        for modality, name in matchInputNames(list(nodes)).items():
            if getattr(parameterNode, f"{modality}Volume") is None:
                setattr(parameterNode, f"{modality}Volume", nodes[name])
        self.setParameterNode(parameterNode)

    def setParameterNode(self, inputParameterNode: Optional[DeepMIRParameterNode]):  # noqa: UP045 (Slicer 5.6/5.8 run Python 3.9)
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameterNodeModified)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameterNodeModified)
            self.onParameterNodeModified()

    def onParameterNodeModified(self, caller=None, event=None):
        parameterNode = self._parameterNode
        if parameterNode is None:
            return
        self.selectModelInComboBox(parameterNode.model)
        canRun = parameterNode.swiVolume is not None
        self.ui.runButton.enabled = canRun or self._worker is not None
        self.ui.runButton.toolTip = "Detect lesions in the background." if canRun else "Choose an SWI volume first."
        segmentation = parameterNode.outputSegmentation
        editor = self.ui.segmentEditorWidget
        editor.setSegmentationNode(segmentation)
        if segmentation is not None:  # Slicer 5.6 and 5.8 log a critical error for a source volume without one
            editor.setSourceVolumeNode(parameterNode.swiVolume)
        self.ui.show3DButton.setSegmentationNode(segmentation)
        if segmentation is not self._observedSegmentation:
            self.observeSegmentation(segmentation)
            self.refreshLesionTable()
        hasResult = segmentation is not None and parameterNode.swiVolume is not None
        for button in (self.ui.deleteLesionButton, self.ui.switchClassButton):
            button.enabled = hasResult
        canExport = hasResult and bool(exportFolderOf(parameterNode)) and self._worker is None
        self.ui.exportButton.enabled = canExport
        self.ui.exportButton.toolTip = ("Save the images, the model's labels and the corrected labels as a new version of the case."
                                        if canExport else "Run DeepMIR and choose the training set folder first.")

    # --- model choice -------------------------------------------------------------------

    def fillModelComboBox(self):
        combo = self.ui.modelComboBox
        combo.clear()
        for entry in registry.read_registry():
            label = f"{entry['id']} {entry['version']}" + (" (default)" if entry.get("default") else "")
            combo.addItem(label, "default" if entry.get("default") else f"{entry['id']}@{entry['version']}")
        combo.addItem("Load model file...", LOAD_MODEL_FILE)

    def selectModelInComboBox(self, model):
        combo = self.ui.modelComboBox
        index = combo.findData(model)
        if index < 0:  # a model file chosen earlier (e.g. saved in the scene)
            combo.insertItem(combo.count - 1, Path(model).name, model)
            index = combo.findData(model)
        combo.setCurrentIndex(index)

    def onModelChosen(self, index):
        model = self.ui.modelComboBox.itemData(index)
        if model == LOAD_MODEL_FILE:
            model = qt.QFileDialog.getOpenFileName(slicer.util.mainWindow(), "Choose a DeepMIR model", "", "DeepMIR model card (*.json)")
            if not model:
                self.selectModelInComboBox(self._parameterNode.model)
                return
        self._parameterNode.model = model
        self.selectModelInComboBox(model)

    # --- detection in the background ----------------------------------------------------

    def setRunning(self, running):
        self.ui.runButton.text = "Cancel" if running else "Run"
        for widget in (self.ui.swiSelector, self.ui.qsmSelector, self.ui.t2Selector, self.ui.modelComboBox,
                       self.ui.deviceComboBox, self.ui.outputSegmentationSelector, self.ui.exportButton):
            widget.enabled = not running
        if not running:
            self.ui.progressBar.value = 0

    def showStatus(self, text):
        self.ui.statusLabel.text = text
        slicer.app.processEvents()

    def onRunButton(self):
        if self._worker is not None:
            self.cancelWorker()
            return
        # no wait cursor here: the confirmation dialog and the install's own progress come first
        with slicer.util.tryWithErrorDisplay("DeepMIR could not install the Python packages it needs."):
            if not self.logic.ensureDependencies(self.showStatus):
                self.ui.statusLabel.text = "Not run: the Python packages DeepMIR needs are not installed."
                return
        with slicer.util.tryWithErrorDisplay("DeepMIR could not start the detection.", waitCursor=True):
            self.showStatus("Saving the input volumes for the background process...")
            self._worker, self._runFolder = self.logic.startDetection(self._parameterNode)
            self._runEvents, self._runParameterNode = [], self._parameterNode
            self.setRunning(True)
            self.ui.statusLabel.text = "Started"
            self.pollTimer.start()

    def cancelWorker(self):
        if self._worker is None:
            return
        self._worker.cancel()
        self.ui.statusLabel.text = "Cancelling..."

    def onPollWorker(self):
        finished = self._worker.finished()
        for event in self._worker.poll():
            self._runEvents.append(event)
            if event["event"] == "progress":
                self.ui.progressBar.value = round(100 * event["fraction"])
                self.ui.statusLabel.text = event["stage"].capitalize()
            elif event["event"] == "log":
                logger.info("DeepMIR worker: %s", event["message"])
        if finished:
            self.onWorkerFinished()

    def onWorkerFinished(self):
        """Show the outcome; the temporary folder with the patient's images goes whatever happens."""
        self.pollTimer.stop()
        process, events, folder, parameterNode = self._worker, self._runEvents, self._runFolder, self._runParameterNode
        self._worker = self._runFolder = self._runParameterNode = None
        try:
            self.setRunning(False)
            self.onParameterNodeModified()
            self.showOutcome(process, events, parameterNode)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def showOutcome(self, process, events, parameterNode):
        """The result into `parameterNode` (the run's, also while the panel is hidden), or what went wrong."""
        done = [e for e in events if e["event"] == "done"]
        errors = [e for e in events if e["event"] == "error"]
        if process.cancelled:
            self.ui.statusLabel.text = "Cancelled."
        elif done and parameterNode is None:
            self.ui.statusLabel.text = "The scene was closed during the detection: its result was not shown."
        elif done:
            with slicer.util.tryWithErrorDisplay("DeepMIR could not load the result.", waitCursor=True):
                self.logic.loadResult(done[-1], parameterNode)
                self.refreshLesionTable()
                model = self.logic.model
                notes = done[-1].get("notes", [])
                for note in notes:
                    logger.info("DeepMIR: %s", note)
                # whether the model's rules for long echo times (a minimum, a classifier) applied: the reader may need to give the echo time
                echoNotes = [note for note in notes if note.startswith(echotime.LONG_ECHO_NOTE_START)]
                self.ui.statusLabel.text = " ".join([f"{len(self.logic.originalLesions)} lesions found by {model.name} {model.version}.",
                                                     *echoNotes])
        else:
            message = errors[-1]["message"] if errors else f"The background process stopped (exit status {process.returncode})."
            log = "\n".join(e["message"] for e in events if e["event"] in ("log", "error"))
            self.ui.statusLabel.text = "Failed: " + message
            slicer.util.errorDisplay("DeepMIR detection failed:\n" + message, detailedText=log)

    # --- review ---------------------------------------------------------------------------

    # Painting and erasing change a segment's labelmap without a ModifiedEvent on the node;
    # the node forwards these events of its vtkSegmentation instead.
    SEGMENTATION_EVENTS = (
        slicer.vtkSegmentation.SourceRepresentationModified,
        slicer.vtkSegmentation.SegmentAdded,
        slicer.vtkSegmentation.SegmentRemoved,
        slicer.vtkSegmentation.SegmentModified,
    )

    def observeSegmentation(self, segmentationNode):
        for event in self.SEGMENTATION_EVENTS:
            if self._observedSegmentation is not None:
                self.removeObserver(self._observedSegmentation, event, self.onSegmentationModified)
            if segmentationNode is not None:
                self.addObserver(segmentationNode, event, self.onSegmentationModified)
        self._observedSegmentation = segmentationNode

    def onSegmentationModified(self, caller=None, event=None):
        self.tableRefreshTimer.start()

    def refreshLesionTable(self):
        """List the lesions of the segmentation as it is now (after deletions, relabelling, painting).
        A segment DeepMIR cannot classify is named in the status line, not raised from a timer."""
        from DeepMIRLib.errors import InputError
        from DeepMIRLib.lesions import least_sure_first, probability_text

        try:
            rows = self.logic.lesionRows(self._parameterNode) if self._parameterNode is not None else []
        except InputError as error:
            rows = []
            self.ui.statusLabel.text = f"Lesion table not updated: {error}"
        if self.ui.leastSureFirstCheckBox.checked:
            rows = [rows[index] for index in least_sure_first(rows)]
        self._lesionRows = rows
        table = self.ui.lesionTableWidget
        table.setRowCount(len(rows))
        for index, lesion in enumerate(rows):
            cells = [
                lesion.class_name,
                f"{lesion.volume_mm3:.1f}",
                "{:.1f}, {:.1f}, {:.1f}".format(*lesion.centroid_ras),
                probability_text(lesion.prob_max),
                probability_text(lesion.second_stage_prob),
            ]
            for column, text in enumerate(cells):
                table.setItem(index, column, qt.QTableWidgetItem(text))

    def selectedLesionRas(self):
        selected = self.ui.lesionTableWidget.selectionModel().selectedRows()
        if not selected or selected[0].row() >= len(self._lesionRows):
            return None
        return self._lesionRows[selected[0].row()].centroid_ras

    def onLesionSelected(self):
        ras = self.selectedLesionRas()
        if ras is not None:
            from DeepMIRLib import scene

            scene.centre_views_on(slicer.mrmlScene, ras)

    def editSelectedLesion(self, edit, what):
        ras = self.selectedLesionRas()
        if ras is None:
            slicer.util.warningDisplay(f"Select a lesion in the table to {what}.")
            return
        with slicer.util.tryWithErrorDisplay(f"DeepMIR could not {what} the lesion.", waitCursor=True):
            if not edit(self._parameterNode.outputSegmentation, self._parameterNode.swiVolume, ras):
                slicer.util.warningDisplay(f"No lesion at {ras}: the table may be out of date.")
            self.refreshLesionTable()

    def onDeleteLesion(self):
        from DeepMIRLib import scene

        self.editSelectedLesion(scene.delete_lesion_at, "delete")

    def onSwitchClass(self):
        from DeepMIRLib import scene

        self.editSelectedLesion(scene.switch_lesion_class_at, "relabel")

    # --- export ---------------------------------------------------------------------------

    def onBrowseExportFolder(self):
        folder = qt.QFileDialog.getExistingDirectory(slicer.util.mainWindow(), "Choose the training set folder", exportFolderOf(self._parameterNode))
        if folder:
            self._parameterNode.exportFolder = folder

    def onExport(self):
        with slicer.util.tryWithErrorDisplay("DeepMIR could not export the annotation.", waitCursor=True):
            entry = self.logic.export(self._parameterNode)
            self.ui.statusLabel.text = f"Saved case {entry.case} version {entry.version} to {exportFolderOf(self._parameterNode)}."


def exportFolderOf(parameterNode) -> str:
    """The chosen training set folder, '' when none ('.' was the unset value of earlier versions)."""
    folder = str(parameterNode.exportFolder).strip() if parameterNode is not None else ""
    return "" if folder == "." else folder


#
# Logic
#


class DeepMIRLogic(ScriptedLoadableModuleLogic):
    """Glue between the parameter node and DeepMIRLib; usable from the Python console:

        logic = slicer.util.getModuleLogic("DeepMIR")
        parameterNode = logic.getParameterNode()
        parameterNode.swiVolume = slicer.util.getNode("swi")
        logic.process(parameterNode)  # blocking
    """

    def __init__(self):
        ScriptedLoadableModuleLogic.__init__(self)
        self.terminologyLoaded = False
        self.forgetResult()

    def forgetResult(self):
        """Drop the last run's model output (when the scene closes: it belongs to that case)."""
        self.originalLabels = None  # the model's label map (Volume) of the last run: the datastore's 'original'
        self.originalLesions = []  # the model's lesions (lesions.Lesion) of the last run, with probabilities
        self.model = None  # results.ModelSummary of the model of the last run
        self.resultNodeIDs = None  # (SWI, segmentation) node IDs the last run's result belongs to

    def rememberResult(self, detection, swiNode, segmentationNode):
        self.originalLabels, self.originalLesions, self.model = detection.labels, detection.lesions, detection.model
        self.resultNodeIDs = (swiNode.GetID(), segmentationNode.GetID())

    def loadTerminology(self):
        """Give Slicer's terminology selector DeepMIR's two segment types (once per session)."""
        from DeepMIRLib import scene

        if not self.terminologyLoaded:
            scene.load_terminology(slicer.modules.terminologies.logic())
            self.terminologyLoaded = True

    def getParameterNode(self):
        return DeepMIRParameterNode(super().getParameterNode())

    def segmentEditorNode(self):
        node = slicer.mrmlScene.GetSingletonNode("DeepMIR", "vtkMRMLSegmentEditorNode")
        if node is None:
            node = slicer.mrmlScene.CreateNodeByClass("vtkMRMLSegmentEditorNode")
            node.UnRegister(None)
            node.SetSingletonTag("DeepMIR")
            node = slicer.mrmlScene.AddNode(node)
        return node

    def ensureDependencies(self, status=logger.info):
        """Install what is missing after one confirmation; False when the user declines.
        The installs block Slicer; `status` says what is being installed."""
        plan = dependencies.slicer_install_plan()
        if plan.conflicts:
            raise RuntimeError("DeepMIR cannot run with this Slicer's own packages:\n" + "\n".join(plan.conflicts))
        if plan.empty:
            return True
        if not slicer.util.confirmOkCancelDisplay(
            "DeepMIR needs these Python packages, which will now be downloaded and installed into Slicer's Python:\n\n"
            + "\n".join(plan.describe()) + "\n\nSlicer's own numpy, scipy, SimpleITK and VTK are kept. "
            "Slicer does not respond until the installation has finished.",
            "DeepMIR: install Python packages",
        ):
            return False
        if plan.torch:
            status(f"Installing {plan.torch} through the PyTorch extension (this can take several minutes)...")
            self.installTorch(plan.torch)
        if plan.pip:
            status(f"Installing {', '.join(plan.pip)}...")
            self.pipInstall(plan.pip, plan.constraints)
        return True

    @staticmethod
    def installTorch(requirement):
        try:
            import PyTorchUtils
        except ModuleNotFoundError:
            raise RuntimeError("DeepMIR needs the PyTorch extension: install it in the Extensions Manager and restart Slicer.")
        torchLogic = PyTorchUtils.PyTorchUtilsLogic()
        version = requirement[len(dependencies.TORCH):]
        if torchLogic.installTorch(askConfirmation=False, torchVersionRequirement=version) is None:
            raise RuntimeError(f"PyTorch ({requirement}) could not be installed; try the PyTorch Utils module.")

    @staticmethod
    def pipInstall(requirements, constraints):
        folder = Path(slicer.util.tempDirectory("DeepMIR-install-"))
        try:
            constraintsFile = folder / "constraints.txt"
            constraintsFile.write_text("\n".join(constraints) + "\n")
            slicer.util.pip_install([*requirements, "--constraint", str(constraintsFile)])
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def inputNodes(self, parameterNode):
        if parameterNode.swiVolume is None:
            raise ValueError("Choose an SWI volume.")
        nodes = {m: getattr(parameterNode, f"{m}Volume") for m in MODALITIES}
        return {m: node for m, node in nodes.items() if node is not None}

    def startDetection(self, parameterNode):
        """Save the inputs (in world coordinates) to a temporary folder in Slicer's temporary
        directory and start the worker on them with PythonSlicer; returns the running
        worker.WorkerProcess and the folder (the caller removes it when done)."""
        from DeepMIRLib import scene
        from DeepMIRLib.volumes import write_volume

        inputs = self.inputNodes(parameterNode)
        python = worker.slicer_python()
        folder = Path(slicer.util.tempDirectory("DeepMIR-run-"))
        try:
            paths = {m: write_volume(scene.volume_from_node(node), folder / f"{m}.nii.gz") for m, node in inputs.items()}
            command = worker.worker_command(
                paths["swi"], folder / "result", parameterNode.model, parameterNode.device,
                qsm=paths.get("qsm"), t2=paths.get("t2"), participant_id=parameterNode.caseId or None, python=python,
                swi_echo_time_ms=parameterNode.swiEchoTimeMs or None,
            )
            process = worker.WorkerProcess(command)
            process.start()
        except Exception:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return process, folder

    def loadResult(self, doneEvent, parameterNode):
        """Show a finished worker's result as the segmentation (under the SWI's transform) and lesion table."""
        from DeepMIRLib import scene

        detection = worker.read_result(doneEvent)
        self.loadTerminology()
        segmentation, table = scene.show_result(
            slicer.mrmlScene, detection.labels, detection.lesions, parameterNode.swiVolume,
            parameterNode.outputSegmentation, parameterNode.lesionTable,
        )
        self.rememberResult(detection, parameterNode.swiVolume, segmentation)
        # the table first: setting the segmentation refreshes the table, which would otherwise make a second one
        parameterNode.lesionTable, parameterNode.outputSegmentation = table, segmentation

    def process(self, parameterNode, progress=None, cancel=None):
        """Blocking detection in Slicer's own Python (scripting and tests)."""
        from DeepMIRLib import scene

        self.loadTerminology()
        result = scene.run_detection(slicer.mrmlScene, self.inputNodes(parameterNode), parameterNode.model, parameterNode.device, progress, cancel)
        self.rememberResult(result.detection, parameterNode.swiVolume, result.segmentation_node)
        parameterNode.lesionTable, parameterNode.outputSegmentation = result.table_node, result.segmentation_node
        return result

    def lesionRows(self, parameterNode):
        """The lesions of the segmentation as it is now, also written to the lesion table node.
        A lesion the reader left as the model made it keeps the model's probability; edited,
        painted or relabelled lesions have none."""
        from DeepMIRLib import scene

        if parameterNode.outputSegmentation is None or parameterNode.swiVolume is None:
            return []
        lesions, parameterNode.lesionTable = scene.refresh_lesion_table(
            slicer.mrmlScene, parameterNode.outputSegmentation, parameterNode.swiVolume, parameterNode.lesionTable, self.originalsFor(parameterNode)[1])
        return lesions

    def originalsFor(self, parameterNode):
        """(labels, lesions, model) of the last run when it was made for these SWI and
        segmentation nodes, else (None, [], None)."""
        nodes = (parameterNode.swiVolume, parameterNode.outputSegmentation)
        if None in nodes or self.resultNodeIDs != tuple(node.GetID() for node in nodes):
            return None, [], None
        return self.originalLabels, self.originalLesions, self.model

    def export(self, parameterNode):
        """Save images, the model's labels and the corrected labels as a new version of the case
        (without 'original' labels when the segmentation is not the last run's)."""
        from DeepMIRLib import scene

        if not exportFolderOf(parameterNode):
            raise ValueError("Choose the training set folder to export to.")
        if parameterNode.outputSegmentation is None:
            raise ValueError("There is no segmentation to export: run DeepMIR first.")
        originalLabels, _, model = self.originalsFor(parameterNode)
        return scene.export_to_datastore(
            exportFolderOf(parameterNode), parameterNode.caseId, parameterNode.annotator, self.inputNodes(parameterNode),
            parameterNode.outputSegmentation, originalLabels, model, swi_echo_time_ms=parameterNode.swiEchoTimeMs or None,
        )


#
# Test (runs inside desktop Slicer: Reload and Test, or Slicer --python-code)
#


class DeepMIRTest(ScriptedLoadableModuleTest):
    """The reading workflow on a small simulated participant: load, run in the background,
    edit, export, read back. The same flow runs on the slicer-core wheel in the pytest suite."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        plan = dependencies.slicer_install_plan()
        if not plan.empty:  # a test never installs packages (confirmations say yes in testing mode)
            self.delayDisplay("DeepMIR test skipped: Python packages missing (" + ", ".join(plan.describe() + plan.conflicts) + ")")
            return
        self.test_read_edit_export()

    def test_read_edit_export(self):
        import numpy as np

        from DeepMIRLib import scene
        from DeepMIRLib.datastore import Datastore
        from DeepMIRLib.volumes import read_volume, same_grid

        logic = DeepMIRLogic()
        with tempfile.TemporaryDirectory(prefix="DeepMIRTest-") as tmp:
            tmp = Path(tmp)
            self.delayDisplay("Simulating a small participant")
            participantFolder = self.simulateParticipant(tmp / "participant")
            for modality in MODALITIES:
                slicer.util.loadVolume(str(participantFolder / f"{modality}.nii.gz"))
            parameterNode = logic.getParameterNode()
            nodes = {node.GetName(): node for node in slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode")}
            for modality, name in matchInputNames(list(nodes)).items():
                setattr(parameterNode, f"{modality}Volume", nodes[name])
            self.assertEqual(parameterNode.swiVolume.GetName(), "swi")

            self.delayDisplay("Running DeepMIR in a background process")
            process, runFolder = logic.startDetection(parameterNode)
            self.assertEqual(process.wait(timeout=600), worker.EXIT_OK)
            events = process.poll()
            for event in events:  # library warnings on the worker's output are logged, not failures
                if event["event"] == "log":
                    logger.info("DeepMIR worker: %s", event["message"])
            self.assertEqual([e["event"] for e in events if e["event"] in ("done", "error")], ["done"])
            logic.loadResult(events[-1], parameterNode)
            shutil.rmtree(runFolder)
            segmentation, swi = parameterNode.outputSegmentation, parameterNode.swiVolume
            rows = scene.lesion_rows(segmentation, swi)
            self.assertGreater(len(rows), 1)

            self.delayDisplay("Editing: delete one lesion, relabel another")
            self.assertTrue(scene.delete_lesion_at(segmentation, swi, rows[0].centroid_ras))
            self.assertEqual(len(scene.lesion_rows(segmentation, swi)), len(rows) - 1)
            self.assertTrue(scene.switch_lesion_class_at(segmentation, swi, rows[-1].centroid_ras))

            self.delayDisplay("Exporting twice to a new training set")
            parameterNode.caseId, parameterNode.annotator = "selftest-01", "DeepMIRTest"
            parameterNode.exportFolder = str(tmp / "trainingset")
            logic.export(parameterNode)
            logic.export(parameterNode)
            store = Datastore(tmp / "trainingset")
            self.assertEqual(len(store.entries("selftest-01")), 2)
            final = read_volume(store.final_labels_path("selftest-01"), dtype=np.uint8)
            edited = scene.labels_from_segmentation(segmentation, swi)
            self.assertTrue(same_grid(final, scene.volume_from_node(swi)))
            np.testing.assert_array_equal(final.array, edited.array)
            self.delayDisplay("DeepMIR test passed")

    @staticmethod
    def simulateParticipant(folder):
        from DeepMIRLib.simulation.phantom import Protocol, simulate_participant, write_participant
        from DeepMIRLib.simulation.placement import LesionLoad

        protocol = Protocol(slab_slices=12, swi_size=(96, 128, 104), swi_spacing=(2.0, 2.0, 1.5))
        return write_participant(simulate_participant((41, 0), protocol, LesionLoad.named("dense")), folder)
