"""Iron deposits found and missed by deep nucleus (putamen, globus pallidus), from `deepmir
evaluate`'s lesions.csv: each reference deposit (TP or FN row) gets the location of the
manifest's nearest iron object. Analysis only.

python iron_by_nucleus.py LABEL:REFERENCES:EVALUATION [...]
"""
import csv
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from DeepMIRLib.volumes import read_volume

for argument in sys.argv[1:]:
    label, references, evaluation = argument.split(":")
    with open(Path(evaluation, "lesions.csv"), newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["class"] == "2" and row["outcome"] in ("TP", "FN")]
    counts, grids, manifests = Counter(), {}, {}
    for row in rows:
        participant = row["participant"]
        if participant not in grids:
            grids[participant] = read_volume(Path(references, participant, "labels.nii.gz"))
            manifests[participant] = [o for o in json.loads(Path(references, participant, "manifest.json").read_text())["objects"]
                                      if o["kind"] == "iron"]
        point = grids[participant].index_to_lps(np.array([float(row[f"ref_centroid_{a}"]) for a in "ijk"]))
        nearest = min(manifests[participant], key=lambda o: np.linalg.norm(np.asarray(o["centre_lps_mm"]) - point))
        counts[(nearest["location"], row["outcome"])] += 1
    print(f"{label}: " + "; ".join(f"{where} {counts[(where, 'TP')]} found, {counts[(where, 'FN')]} missed "
                                   f"(sensitivity {counts[(where, 'TP')] / (counts[(where, 'TP')] + counts[(where, 'FN')]):.2f})"
                                   for where in sorted({w for w, _ in counts})))
