"""Round 50: pooled counts of every iron-classifier boundary T (8-15 ms) on cohorts that 0.5.6 (boundary 15 ms) and
b8 (boundary 8 ms) were both predicted and evaluated on. Each participant is decided by the short-echo iron classifier
when its SWI's first echo is below T, by the long-echo one from T, so its counts under boundary T are its counts under
0.5.6 (echo below T) or under b8 (from T): exactly what a model with boundary T gives, since nothing else differs.
The chosen T (README's rule): the highest pooled iron F1 among the T whose microbleed F1 is at most 0.01 below
0.5.6's and whose false positives on mimics are at most 0.05 per participant above 0.5.6's; ties go to the higher T.

python boundary_table.py COHORT...   (in /tmp/s49; evaluation folders eval-SEED-m056 and eval-SEED-b8; COHORT is
the simulated folder, e.g. cal-2350, whose seed names the evaluation folders)
"""
import json
import sys
from pathlib import Path

from DeepMIRLib.echotime import read_swi_echo_time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-iron-classifier-only"))
from paired_f1 import counts as class_counts

BOUNDARIES = [8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0]


def participant_counts(folder: str) -> dict:
    """participant -> {cmb: (tp, fp, fn), iron: (...), mimic: false positives on mimics}."""
    by_class = class_counts(folder)
    mimics = json.loads(Path(folder, "summary.json").read_text())["false_positives_on_mimics"]["by_participant"]
    return {participant: {**{key: tuple(int(n) for n in by_class[key][participant]) for key in by_class}, "mimic": sum(kinds.values())}
            for participant, kinds in mimics.items()}


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(2 * tp + fp + fn, 1)


def table(cohorts: list[str]) -> list[dict]:
    participants = []
    for cohort in cohorts:
        seed = cohort.rsplit("-", 1)[1]
        short, long = participant_counts(f"eval-{seed}-m056"), participant_counts(f"eval-{seed}-b8")
        participants += [(read_swi_echo_time(Path(cohort, p, "swi.nii.gz")), short[p], long[p]) for p in sorted(short)]
    rows = []
    for boundary in BOUNDARIES:
        chosen = [long if echo >= boundary else short for echo, short, long in participants]
        row = {"boundary_ms": boundary, "changed": sum(1 for echo, _, _ in participants if 8.0 <= echo < 15.0 and echo >= boundary)}
        for key in ("cmb", "iron"):
            tp, fp, fn = (sum(c[key][i] for c in chosen) for i in range(3))
            row[key] = (tp, fp, fn, round(f1(tp, fp, fn), 4))
        row["mimic"] = round(sum(c["mimic"] for c in chosen) / len(chosen), 3)
        rows.append(row)
    return rows


def main(cohorts: list[str]) -> None:
    rows = table(cohorts)
    base = rows[-1]  # 15 ms: 0.5.6
    for row in rows:
        print(f"T {row['boundary_ms']:g} ms (participants changed {row['changed']}): microbleeds {row['cmb']}, iron {row['iron']}, "
              f"mimic FP per participant {row['mimic']}")
    allowed = [row for row in rows if row["cmb"][3] >= base["cmb"][3] - 0.01 - 1e-9 and row["mimic"] <= base["mimic"] + 0.05 + 1e-9]
    best = max(row["iron"][3] for row in allowed)
    chosen = max(row["boundary_ms"] for row in allowed if row["iron"][3] == best)
    print(f"chosen boundary: {chosen:g} ms" + (" (0.5.6's: nothing changes)" if chosen == 15.0 else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
