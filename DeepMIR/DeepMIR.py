"""DeepMIR Slicer module: placeholder.

The reading workflow (run DeepMIR on SWI/QSM/T2, review and edit CMB and iron segments,
export corrections to the training set) is not built yet. Until it is, this module only
says so and points to the `deepmir` command line, whose outputs (labels.nii.gz, lesion
table) can be loaded into Slicer as a segmentation.
"""

from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleWidget


class DeepMIR(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "DeepMIR"
        self.parent.categories = ["Segmentation"]
        self.parent.contributors = ["DeepMIR developers"]
        self.parent.helpText = (
            "Detection of cerebral microbleeds and iron deposits (DEEPMIR). The interactive module is "
            "not available yet: run <code>deepmir predict</code> from the command line and load its "
            "labels.nii.gz as a segmentation. Research use only."
        )
        self.parent.acknowledgementText = "Implements Rashid et al., DEEPMIR."


class DeepMIRWidget(ScriptedLoadableModuleWidget):
    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        import qt

        label = qt.QLabel(
            "The DeepMIR reading module is not built yet.\n"
            "Use the command line: deepmir predict --help"
        )
        label.wordWrap = True
        self.layout.addWidget(label)
        self.layout.addStretch(1)
