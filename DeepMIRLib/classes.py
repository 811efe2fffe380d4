"""Label values, class names and colours, the label tasks a model can be trained for, and the
input modalities.

Label values everywhere (the paper's annotation protocol, S1.1): 0 background,
1 cerebral microbleed (CMB), 2 non-hemorrhage iron deposit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BACKGROUND = 0
CMB = 1
IRON = 2
LABEL_VALUES = (BACKGROUND, CMB, IRON)  # the only values a label map may hold

MODALITIES = ("swi", "qsm", "t2")  # the inputs a model can take; SWI always, first
BRAIN_MASK = "brainmask"  # file stem of a participant's optional brain mask


@dataclass(frozen=True)
class LesionClass:
    label: int
    name: str
    key: str  # short name used in file and column names
    color: str  # hex RGB, as shown in Slicer

    def to_dict(self) -> dict:
        return asdict(self)


CMB_CLASS = LesionClass(CMB, "Cerebral microbleed", "cmb", "#ff0000")
IRON_CLASS = LesionClass(IRON, "Iron deposit", "iron", "#00ff00")
# The union task does not tell the two apart; its lesions carry label 1 like a CMB would,
# so union predictions must be compared with references merged the same way (see merge_union).
UNION_CLASS = LesionClass(CMB, "Lesion (microbleed or iron deposit)", "lesion", "#ffff00")

TASK_CLASSES = {
    "cmb": (CMB_CLASS,),
    "iron": (IRON_CLASS,),
    "union": (UNION_CLASS,),
    "multiclass": (CMB_CLASS, IRON_CLASS),
}
TASKS = tuple(TASK_CLASSES)

TOLERANCE_VOXELS = {CMB: 3.0, IRON: 5.0}  # centroid matching tolerance, paper section 2.5


def classes_for_task(task: str) -> tuple[LesionClass, ...]:
    try:
        return TASK_CLASSES[task]
    except KeyError:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASK_CLASSES)}") from None


def reference_for_task(labels: np.ndarray, task: str) -> np.ndarray:
    """A 0/1/2 reference label map reduced to what a model of `task` is asked to find."""
    labels = np.asarray(labels)
    if task == "multiclass":
        return np.where(np.isin(labels, (CMB, IRON)), labels, BACKGROUND).astype(np.uint8)
    if task == "union":
        return np.isin(labels, (CMB, IRON)).astype(np.uint8) * CMB
    (only,) = classes_for_task(task)
    return (labels == only.label).astype(np.uint8) * only.label
