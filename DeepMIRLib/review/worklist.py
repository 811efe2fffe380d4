"""The reading station's worklist: the cases a reader may open, and their status in the training set.

Cases come from the folder given on the command line: a cohort (a participant folder or a
folder of them, as `deepmir predict --input` reads) or a datastore (its cases, with the
images of their newest save). The browser only ever names a case by its id; the paths
behind an id are found here, at start-up, and each must lie under the folder given
(symbolic links are resolved first), so a browser cannot make the server read anything else.

Status of a case, from the datastore approvals go to:
    not read     no save of the case yet
    in progress  the newest save is a draft
    approved     the newest save is approved (with its annotator and version)

No slicer, vtk, trame or torch imports: listed and tested without the web extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..datastore import INDEX_NAME, Datastore, validate_case_id
from ..errors import InputError
from ..pipeline import discover_participants

NOT_READ, IN_PROGRESS, APPROVED = "not read", "in progress", "approved"


@dataclass(frozen=True)
class Case:
    """One case of the worklist: its id and its image files (swi always; qsm, t2, brainmask when there)."""

    case_id: str
    images: dict  # name ('swi', 'qsm', 't2', 'brainmask') -> Path
    # the SWI's echo time (ms) a datastore kept with the case; None for a cohort's case, whose
    # SWI sidecar (if any) gives it (echotime.read_swi_echo_time)
    swi_echo_time_ms: float | None = None


def load_worklist(source) -> list[Case]:
    """The cases of a cohort folder or of a datastore (a folder holding datastore.json), sorted
    by id. InputError when the folder holds none, when a name is not a valid case id, or when
    an image lies outside the folder."""
    source = Path(source)
    if (source / INDEX_NAME).is_file():
        cases = _datastore_cases(source)
    else:
        cases = _cohort_cases(source)
    if not cases:
        raise InputError(source, "holds no case to read")
    for case in cases:
        check_under_root(case, source)
    # absolute paths: the background worker runs in another folder
    cases = [Case(case.case_id, {name: Path(path).resolve() for name, path in case.images.items()}, case.swi_echo_time_ms) for case in cases]
    return sorted(cases, key=lambda case: case.case_id)


def _cohort_cases(folder: Path) -> list[Case]:
    cases = []
    for participant in discover_participants(folder):
        validate_case_id(participant.participant_id)
        images = {"swi": participant.swi, "qsm": participant.qsm, "t2": participant.t2, "brainmask": participant.mask}
        cases.append(Case(participant.participant_id, {name: path for name, path in images.items() if path is not None}))
    return cases


def _datastore_cases(root: Path) -> list[Case]:
    store = Datastore(root)
    return [Case(entry.case, store.image_paths(entry.case), entry.swi_echo_time_ms) for entry in store.cases()]


def check_under_root(case: Case, root) -> None:
    """InputError unless every image of the case, links resolved, lies under `root`."""
    root = Path(root).resolve()
    for name, path in case.images.items():
        if not Path(path).resolve().is_relative_to(root):
            raise InputError(path, f"case {case.case_id}: the {name} image lies outside {root}; the reading station only opens files under the folder it was given")


def case_statuses(datastore_root) -> dict[str, dict]:
    """Case id -> {"status", "annotator", "version"} for the cases saved in the training set
    at `datastore_root`; empty when it does not exist yet (it is made at the first approval)."""
    root = Path(datastore_root)
    if not (root / INDEX_NAME).is_file():
        return {}
    statuses = {}
    for row in Datastore(root).summary():
        status = APPROVED if row.status == "approved" else IN_PROGRESS
        statuses[row.case] = {"status": status, "annotator": row.annotator, "version": row.versions}
    return statuses


def status_of(statuses: dict[str, dict], case_id: str) -> dict:
    """The status record of a case; "not read" when the training set has no save of it."""
    return statuses.get(case_id, {"status": NOT_READ, "annotator": "", "version": 0})


def next_unread(cases: list[Case], statuses: dict[str, dict], after: int) -> int | None:
    """Index of the first case after position `after` (wrapping round) that is not approved;
    None when every case is approved."""
    count = len(cases)
    for step in range(1, count + 1):
        index = (after + step) % count
        if status_of(statuses, cases[index].case_id)["status"] != APPROVED:
            return index
    return None
