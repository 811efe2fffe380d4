"""The microbleed classifier's minimum probability swept over the scored cohorts (score.py);
with --iron, the iron classifier's likewise.

For each cohort and each minimum: the pooled microbleed TP / FP / FN exactly as calibration
counts them (`secondstage.cohort_figures` on the microbleed classifier's rows, the rest of
its card section unchanged), and its kept false microbleed candidates by cause (the
candidate's truth: the mimic it overlaps most, `secondstage.candidate_truth`). Then the
scores of the candidates that are reference microbleeds, in bands.

  python sweep.py [--iron] SCORES_FOLDER NAME [NAME ...]
"""

from __future__ import annotations

import pickle
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from DeepMIRLib.candidates import decide_candidates
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.secondstage import cohort_figures

GRID = (0.5, 0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.97, 0.98, 0.99)
BANDS = ((0.0, 0.5), (0.5, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01))


LABELS = {"cmb": 1, "iron": 2}


def deciding(specs, key: str) -> int:
    return next(i for i, spec in enumerate(specs) if key in spec.decided_keys())


def false_by_cause(rows, entries_of, spec, minimum, key="cmb") -> Counter:
    """`entries_of`: participant -> the classifier's candidate table rows, in its candidates' order."""
    counts = Counter()
    for row in rows:
        entries = entries_of[row["participant"]]
        decisions = decide_candidates(row["candidates"], row["scores"], spec, {**spec.min_probability, key: minimum})
        counts.update(entries[i]["cause"] for i in np.flatnonzero(decisions == LABELS[key]) if entries[i]["target"] != key)
    return counts


def main(folder: Path, names: list[str], key: str = "cmb") -> None:
    specs = load_model("default").card.second_stages
    index = deciding(specs, key)
    spec = specs[index]
    print(f"{key} classifier: second stage {index}, card minimum {spec.min_probability[key]}")
    for name in names:
        data = pickle.loads((folder / f"{name}.pkl").read_bytes())
        rows, table = data["rows"][index], data["candidates"]
        entries_of = {row["participant"]: [c for c in table if c["participant"] == row["participant"] and c["classifier"] == index]
                      for row in rows}
        print(f"\n## {name}: {len(rows)} participants")
        print(f"| minimum | TP | FP | FN | sensitivity | precision | F1 | false {key} candidates by cause |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for minimum in GRID:
            f = cohort_figures(rows, "second", {**spec.min_probability, key: minimum}, spec)[key]
            causes = ", ".join(f"{k} {v}" for k, v in sorted(false_by_cause(rows, entries_of, spec, minimum, key).items()))
            print(f"| {minimum} | {f['tp']} | {f['fp']} | {f['fn']} | {f['sensitivity']:.3f} | {f['precision']:.3f} | {f['f1']:.3f} | {causes} |")
        mine = [c for c in table if c["classifier"] == index]
        for target in (key, "neither"):
            scores = np.array([c[f"p_{key}"] for c in mine if c["target"] == target])
            bands = ", ".join(f"[{lo}, {min(hi, 1.0)}): {int(((scores >= lo) & (scores < hi)).sum())}" for lo, hi in BANDS)
            print(f"candidates of truth {target} ({len(scores)}), p({key}) in {bands}")
        if key == "cmb":
            small = np.array([c["p_cmb"] for c in mine if c["target"] == "cmb" and c["voxels"] <= 2])
            print(f"  of those of truth cmb, 1-2 voxels ({len(small)}): below 0.95 {int((small < 0.95).sum())}, "
                  f"median p(cmb) {np.median(small) if len(small) else float('nan'):.3f}")


if __name__ == "__main__":
    iron = sys.argv[1] == "--iron"
    arguments = sys.argv[2:] if iron else sys.argv[1:]
    main(Path(arguments[0]), arguments[1:], "iron" if iron else "cmb")
