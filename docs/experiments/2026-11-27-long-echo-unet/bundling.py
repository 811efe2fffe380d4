"""What rounds 10 and 11's ship.py share: a held-out cohort's figures for a model card, and
installing a candidate's files with its new card into Resources/models."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

FILES = (".safetensors", ".second.safetensors", ".second2.safetensors", ".int8.onnx")


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
    """`source`/NAME's weights files with `card` written to ship/, checked (`deepmir info
    --check`), then copied into `models`, the card last."""
    Path("ship").mkdir(exist_ok=True)
    for suffix in FILES:
        shutil.copyfile(f"{source}/{name}{suffix}", f"ship/{name}{suffix}")
    Path(f"ship/{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    check(f"ship/{name}.json")
    for suffix in (*FILES, ".json"):
        shutil.copyfile(f"ship/{name}{suffix}", models / f"{name}{suffix}")


def check(model: str) -> None:
    """`deepmir info MODEL --check`, raising if it fails."""
    subprocess.run([sys.executable, "-m", "DeepMIRLib.cli", "info", model, "--check"], check=True, stdout=subprocess.DEVNULL)
