"""A held-out cohort's figures for a model card, from `deepmir evaluate`'s summary.json (rounds 10 and 11's ship.py)."""
import json
from pathlib import Path


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
