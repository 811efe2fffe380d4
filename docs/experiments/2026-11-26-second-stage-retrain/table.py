"""Mean ± SEM over participants, then pooled TP / FP / FN, per class, and mimic FP, from `deepmir evaluate` summaries."""
import json
import sys
from pathlib import Path

for folder in sys.argv[1:]:
    s = json.loads(Path(folder, "summary.json").read_text())
    row = [folder]
    for k in ("cmb", "iron"):
        m = s[k]["summary"]
        row.append(f'{m["sensitivity"]["mean"]:.2f} ± {m["sensitivity"]["sem"]:.2f} / {m["precision"]["mean"]:.2f} ± {m["precision"]["sem"]:.2f} '
                   f'({m["tp"]} / {m["fp"]} / {m["fn"]})')
    mm = s["false_positives_on_mimics"]
    row.append(f'{mm["per_participant"]:.2f} {mm["total_by_kind"]}')
    print(" | ".join(row))
