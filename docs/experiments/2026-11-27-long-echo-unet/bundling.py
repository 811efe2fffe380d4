"""What rounds 10 and 11's ship.py share: a held-out cohort's figures for a model card, and
installing a candidate's files with its new card into Resources/models."""
import json
import shutil
import subprocess
import sys
from pathlib import Path


def weights_files(card: dict, name: str) -> list[str]:
    """The files a card names beside it: the U-Net's weights, each classifier's and the int8 U-Net's
    (rounds 10-32 shipped two classifiers; round 42's candidate has three)."""
    return [f"{name}.safetensors", *(section["weights_file"] for section in card["second_stage"]), card["int8"]["file"]]


def cohort_metrics(folder: str, simulation: str) -> dict:
    """A held-out cohort's figures, in the form of the earlier cards' metrics, from `deepmir evaluate`'s summary."""
    d = json.loads(Path(folder, "summary.json").read_text())
    figures = {"data": simulation}
    for key, label in (("cmb", "cerebral_microbleed"), ("iron", "iron_deposit")):
        s = d[key]["summary"]
        figures[label] = {**{f"{m}{part}": round(s[m][k], 2) if k != "n" else s[m][k]
                             for m in ("sensitivity", "precision") for part, k in (("", "mean"), ("_sem", "sem"), ("_n", "n"))},
                          **{k: s[k] for k in ("tp", "fp", "fn")}}
    return {**figures, "false_positives_on_mimics_per_participant": round(d["false_positives_on_mimics"]["per_participant"], 3),
            "false_positives_on_mimics_total": d["false_positives_on_mimics"]["total_by_kind"]}


def install(card: dict, source: str, name: str, models: Path) -> None:
    """`source`'s files that `card` names (weights_files) with `card` written to ship/, checked (`deepmir info
    --check`), then copied into `models`, the card last."""
    Path("ship").mkdir(exist_ok=True)
    files = weights_files(card, name)
    for file in files:
        shutil.copyfile(f"{source}/{file}", f"ship/{file}")
    Path(f"ship/{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    check(f"ship/{name}.json")
    for file in (*files, f"{name}.json"):
        shutil.copyfile(f"ship/{file}", models / file)


def check(model: str) -> None:
    """`deepmir info MODEL --check`, raising if it fails."""
    subprocess.run([sys.executable, "-m", "DeepMIRLib.cli", "info", model, "--check"], check=True, stdout=subprocess.DEVNULL)
