# ruff: noqa
"""The grid of extrema_grid.py's rows: python extrema_eval.py ROWS.json [SWI QSM T] (one setting) ."""
import json, sys, itertools
import numpy as np
from DeepMIRLib.metrics import match_class

rows = json.load(open(sys.argv[1]))
def run(a, b, t):
    tp = fp = fn = 0; mimic_fp = 0; added = 0
    for r in rows:
        base = np.array(r["base"]["1"]).reshape(-1, 3)
        ref = np.array(r["ref"]["1"]).reshape(-1, 3)
        keep = [e for e in r["extrema"] if any(s < a and q > b for s, q in zip(e["swi"], e["qmax"])) and e["scores"][1] >= t]
        added += len(keep)
        pred = np.concatenate([base, np.array([e["centroid"] for e in keep]).reshape(-1, 3)])
        res = match_class(pred, ref, 3.0)
        tp += res.tp; fp += res.fp; fn += res.fn
        for u in res.unmatched:
            if u >= len(base) and keep[u - len(base)]["mimic"]:
                mimic_fp += 1
    f1 = 2 * tp / (2 * tp + fp + fn)
    return tp, fp, fn, f1, mimic_fp / len(rows), added
if len(sys.argv) > 2:
    print(run(*map(float, sys.argv[2:5]))); sys.exit()
b0 = run(-99, 99, 2)
print("0.4.2 alone: TP %d FP %d FN %d F1 %.4f" % b0[:4])
print("swi qsm t | TP FP FN F1 | mimic FP per participant added | candidates added")
best = None
for a, b, t in itertools.product((-2, -2.5, -3, -3.5), (2, 2.5, 3), (0.5, 0.8, 0.9, 0.95, 0.99)):
    r = run(a, b, t)
    print(a, b, t, "|", r[0], r[1], r[2], "%.4f" % r[3], "| %.3f" % r[4], "|", r[5])
    if best is None or r[3] > best[1][3]:
        best = ((a, b, t), r)
print("best:", best)
