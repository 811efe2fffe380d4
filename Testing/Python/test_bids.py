"""BIDS in (pybids, the bids extra) and BIDS derivatives out (DeepMIRLib.bids): participants
found by subject, session and suffix; a subject without SWI is its own error row; the
derivatives dataset passes the BIDS validator (bids-validator-deno, where installed)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from DeepMIRLib import bids
from DeepMIRLib.cli import main
from DeepMIRLib.errors import InputError
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.volumes import read_volume

pytest.importorskip("bids", reason="the bids extra (pybids) is not installed")


@pytest.fixture(scope="module")
def bids_dataset(slab_cohort, tmp_path_factory):
    """sub-01 with two sessions, sub-02 without sessions (SWI as acq-swi T2starw), sub-03
    with T2 only."""
    root = tmp_path_factory.mktemp("bids") / "raw"
    root.mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "test", "BIDSVersion": "1.10.0"}))
    layout = {("01", "1"): "swi", ("01", "2"): "swi", ("02", None): "acq-swi_T2starw", ("03", None): None}
    for (subject, session), swi_name in layout.items():
        anat = root / f"sub-{subject}" / (f"ses-{session}" if session else "") / "anat"
        anat.mkdir(parents=True)
        name = bids.prefix(subject, session)
        source = slab_cohort / "sim-41-0000"
        if swi_name:
            shutil.copy(source / "swi.nii.gz", anat / f"{name}_{swi_name}.nii.gz")
            shutil.copy(source / "qsm.nii.gz", anat / f"{name}_Chimap.nii.gz")
        shutil.copy(source / "t2.nii.gz", anat / f"{name}_T2w.nii.gz")
    return root


def test_participants_by_subject_session_and_suffix(bids_dataset, tmp_path):
    tasks = bids.bids_tasks(bids_dataset, tmp_path / "out", derivatives=True)
    assert [t.participant_id for t in tasks] == ["sub-01_ses-1", "sub-01_ses-2", "sub-02", "sub-03"]
    first = tasks[0].inputs
    assert first.swi.name == "sub-01_ses-1_swi.nii.gz" and first.qsm.name == "sub-01_ses-1_Chimap.nii.gz"
    assert first.t2.name == "sub-01_ses-1_T2w.nii.gz" and first.mask is None
    assert tasks[0].out_dir == tmp_path / "out" / "sub-01" / "ses-1" / "anat"
    assert tasks[2].inputs.swi.name == "sub-02_acq-swi_T2starw.nii.gz"
    assert tasks[3].inputs is None and "sub-03 has no SWI image" in str(tasks[3].problem)


def test_derivatives_dataset(bids_dataset, slab_cohort, tmp_path, capsys):
    raw = tmp_path / "raw"
    shutil.copytree(bids_dataset, raw, ignore=shutil.ignore_patterns("sub-01"))  # sub-02 and sub-03: cheap
    out = tmp_path / "derivatives"
    assert main(["predict", "--input", str(raw), "--out", str(out), "--bids-derivatives", "--device", "cpu"]) == 2  # sub-03 fails
    assert "sub-03 has no SWI image" in capsys.readouterr().err
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative" and description["GeneratedBy"][0]["Name"] == "DeepMIR"
    card = load_model("default").card
    assert f"{card.name} {card.version}" in description["GeneratedBy"][0]["Description"]
    anat = out / "sub-02" / "anat"
    labels = read_volume(anat / "sub-02_desc-deepmir_dseg.nii.gz", np.uint8)
    assert labels.shape == read_volume(raw / "sub-02" / "anat" / "sub-02_acq-swi_T2starw.nii.gz").shape
    with open(anat / "sub-02_desc-deepmir_dseg.tsv") as handle:
        lookup = list(csv.DictReader(handle, delimiter="\t"))
    assert [(row["index"], row["name"]) for row in lookup] == [("1", "Cerebral microbleed"), ("2", "Iron deposit")]
    sidecar = json.loads((anat / "sub-02_desc-deepmir_dseg.json").read_text())
    assert sidecar["Sources"] == ["bids:raw:sub-02/anat/sub-02_acq-swi_T2starw.nii.gz"]
    assert sidecar["DeepMIR"]["model"]["name"] == "deepmir-multiclass-sim" and sidecar["DeepMIR"]["settings"]["min_size"] == 1
    with open(anat / "sub-02_desc-deepmir_lesions.tsv") as handle:
        lesions = list(csv.DictReader(handle, delimiter="\t"))
    assert lesions and {int(row["label"]) for row in lesions} == set(np.unique(labels.array)) - {0}
    assert set(json.loads((anat / "sub-02_desc-deepmir_lesions.json").read_text())) == set(lesions[0])
    with open(out / "cohort.tsv") as handle:
        rows = {row["participant"]: row for row in csv.DictReader(handle, delimiter="\t")}
    assert rows["sub-02"]["status"] == "ok" and int(rows["sub-02"]["n_cmb"]) == sum(r["class"] == "Cerebral microbleed" for r in lesions)
    assert rows["sub-03"]["status"] == "error"
    # the same result as DeepMIR's own layout
    plain = tmp_path / "plain"
    main(["predict", "--input", str(raw), "--out", str(plain), "--device", "cpu"])
    assert np.array_equal(read_volume(plain / "sub-02" / "labels.nii.gz", np.uint8).array, labels.array)
    # a rerun skips the finished participant
    assert main(["predict", "--input", str(raw), "--out", str(out), "--bids-derivatives", "--device", "cpu"]) == 2
    assert "(0 done, 1 skipped, 1 failed)" in capsys.readouterr().out
    beside = Path(sys.executable).parent / "bids-validator-deno"
    validator = str(beside) if beside.is_file() else shutil.which("bids-validator-deno")
    if validator is None:
        pytest.skip("bids-validator-deno (PyPI; in the test extra) is not installed: the dataset was not validated")
    result = subprocess.run([validator, str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_swi_echo_time_comes_from_bids_metadata_inherited_or_its_own(slab_cohort, tmp_path):
    """EchoTime (seconds) of the SWI's metadata, a dataset-level swi.json inherited by every SWI
    and a subject's own sidecar overriding it, becomes the participant's echo time in ms."""
    root = tmp_path / "raw"
    root.mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "test", "BIDSVersion": "1.10.0"}))
    (root / "swi.json").write_text(json.dumps({"EchoTime": 0.02}))
    for subject in ("01", "02", "03"):
        anat = root / f"sub-{subject}" / "anat"
        anat.mkdir(parents=True)
        shutil.copy(slab_cohort / "sim-41-0000" / "swi.nii.gz", anat / f"sub-{subject}_swi.nii.gz")
    (root / "sub-02" / "anat" / "sub-02_swi.json").write_text(json.dumps({"EchoTime": 0.025}))
    (root / "sub-03" / "anat" / "sub-03_swi.json").write_text(json.dumps({"EchoTime": [0.01, 0.02]}))
    tasks = {task.participant_id: task.inputs for task in bids.bids_tasks(root, tmp_path / "out")}
    assert tasks["sub-01"].swi_echo_time_ms == 20.0 and tasks["sub-01"].echo_time() == 20.0
    assert tasks["sub-02"].echo_time() == 25.0
    assert tasks["sub-03"].swi_echo_time_ms is None  # not one number: refused where a classifier needs it
    with pytest.raises(InputError, match="is not one number of seconds"):
        tasks["sub-03"].echo_time()
