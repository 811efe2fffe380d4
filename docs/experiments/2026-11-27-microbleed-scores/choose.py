"""Round 18's rule (README, part 2): C18 against 0.5.2 on the fresh cohorts, pooled counts of
`deepmir evaluate` (eval-SEED-MODEL/summary.json in /tmp/s24).

python choose.py   (in /tmp/s24)
"""
import json
from pathlib import Path


def pooled(seeds, model):
    """Per class TP / FP / FN summed over the cohorts, F1 from the sums; mimic FP per participant."""
    total = {"cmb": [0, 0, 0], "iron": [0, 0, 0]}
    mimic, participants = 0, 0
    for seed in seeds:
        d = json.loads(Path(f"eval-{seed}-{model}/summary.json").read_text())
        for key, counts in total.items():
            total[key] = [a + d[key]["summary"][k] for a, k in zip(counts, ("tp", "fp", "fn"))]
        mimic += sum(d["false_positives_on_mimics"]["total_by_kind"].values())
        participants += d["false_positives_on_mimics"]["participants"]
    f1 = {key: 2 * tp / max(2 * tp + fp + fn, 1) for key, (tp, fp, fn) in total.items()}
    return total, f1, mimic / participants


checks = []
for part, seeds in (("nominal 460", [460]), ("A 1160 + B 1170", [1160, 1170])):
    old, new = pooled(seeds, "m052"), pooled(seeds, "c18")
    for model, (total, f1, mimic) in (("0.5.2", old), ("C18", new)):
        print(f"{part} {model}: microbleeds {'/'.join(map(str, total['cmb']))} F1 {f1['cmb']:.4f}; "
              f"iron {'/'.join(map(str, total['iron']))} F1 {f1['iron']:.4f}; mimic FP per participant {mimic:.3f}")
    gain = new[1]["cmb"] - old[1]["cmb"]
    if part.startswith("nominal"):
        checks.append((f"{part}: microbleed F1 at most 0.005 lower ({gain:+.4f})", gain >= -0.005))
    else:
        checks.append((f"{part}: microbleed F1 at least 0.01 higher ({gain:+.4f})", gain >= 0.01))
    iron = new[1]["iron"] - old[1]["iron"]
    checks.append((f"{part}: iron F1 at most 0.005 lower ({iron:+.4f})", iron >= -0.005))
    checks.append((f"{part}: mimic FP per participant {new[2]:.3f} at most max(0.2, 0.5.2's {old[2]:.3f})", new[2] <= max(0.2, old[2]) + 1e-9))
for text, ok in checks:
    print(("PASS " if ok else "FAIL ") + text)
print("C18 becomes 0.5.3" if all(ok for _, ok in checks) else "C18 is not chosen; 0.5.2 stays")
