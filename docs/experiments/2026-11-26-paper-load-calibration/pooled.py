"""Pooled TP/FP/FN, sensitivity, precision and F1 per class from `deepmir evaluate` summaries.

python pooled.py EVAL_FOLDER...; the rounds' choose.py scripts import pooled_f1.
"""
import json
import sys
from pathlib import Path


def pooled_f1(folder: str) -> dict:
    """Pooled F1 per class key and false positives on mimics per participant of one evaluation folder."""
    d = json.loads(Path(folder, "summary.json").read_text())
    f1 = {k: 2 * d[k]["summary"]["tp"] / max(2 * d[k]["summary"]["tp"] + d[k]["summary"]["fp"] + d[k]["summary"]["fn"], 1) for k in ("cmb", "iron")}
    return {**f1, "mimic": d["false_positives_on_mimics"]["per_participant"]}


if __name__ == "__main__":
    for folder in sys.argv[1:]:
        d = json.loads(Path(folder, "summary.json").read_text())
        f1s = []
        for k in ("cmb", "iron"):
            s = d[k]["summary"]
            tp, fp, fn = s["tp"], s["fp"], s["fn"]
            f1 = 2 * tp / max(2 * tp + fp + fn, 1)
            f1s.append(f1)
            print(folder, k, f"TP {tp} FP {fp} FN {fn} sens {tp / max(tp + fn, 1):.3f} prec {tp / max(tp + fp, 1):.3f} F1 {f1:.3f}")
        print(folder, "mean F1", round(sum(f1s) / 2, 4), "mimic FP/participant", d["false_positives_on_mimics"]["per_participant"])
