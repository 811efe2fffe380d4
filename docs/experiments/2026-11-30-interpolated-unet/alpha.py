"""Round 49's choice of ALPHA from the cards build.sh writes in WORK (the current folder).

`python alpha.py long-echo ALPHA...` prints the ALPHAs whose long-echo table (le-ALPHA's microbleed classifier, on
cal-b) finds at least 59 of the 62 microbleeds at minimum 0.05. `python alpha.py choose ALPHA...` prints every
ALPHA's figures and the chosen one: the largest that passes that and whose nominal microbleed and iron F1 on cal-nom
(k-ALPHA's calibration tables, at the minimums chosen there) are each at most 0.01 below 0.5.6's (its card's
tables on the same 40 participants: 0.9574 and 0.9421).
"""

import json
import sys

M = "deepmir-multiclass-sim-w16"
LONG_ECHO_NEEDED = 59
BASE_F1 = {"cmb": 0.9574, "iron": 0.9421}  # 0.5.6's card: second_stage calibration, figures.two_stages
ALLOWED_LOSS = 0.01


def classifiers(folder: str) -> list:
    with open(f"{folder}/{M}.json") as f:
        card = json.load(f)
    stages = card["second_stage"]
    return stages if isinstance(stages, list) else [stages]


def long_echo_found(alpha: str) -> int:
    table = next(s for s in classifiers(f"le-{alpha}") if s.get("long_echo"))["long_echo"]["calibration"]["tables"]["cmb"]
    return next(row["tp"] for row in table if row["min_probability"] == 0.05)


def nominal_figures(alpha: str) -> dict:
    """Per class, the F1 (and counts) at the minimum calibrate chose, from the classifier that decides it below 15 ms."""
    figures = {}
    for spec in classifiers(f"k-{alpha}"):
        if (spec.get("echo_times") or {}).get("from_ms") is not None:
            continue
        for key, row in spec["calibration"]["figures"]["two_stages"].items():
            figures[key] = row
    return figures


def main(mode: str, alphas: list[str]) -> None:
    passing = [a for a in alphas if long_echo_found(a) >= LONG_ECHO_NEEDED]
    if mode == "long-echo":
        print(" ".join(passing))
        return
    chosen = None
    for alpha in alphas:
        line = f"alpha {alpha}: long-echo microbleeds found at 0.05: {long_echo_found(alpha)} of 62"
        if alpha in passing:
            figures = nominal_figures(alpha)
            line += "; cal-nom " + ", ".join(f"{k} {r['tp']} / {r['fp']} / {r['fn']} F1 {r['f1']:.4f} (0.5.6 {BASE_F1[k]:.4f})"
                                             for k, r in sorted(figures.items()))
            if all(figures[k]["f1"] >= BASE_F1[k] - ALLOWED_LOSS for k in BASE_F1):
                chosen = alpha  # alphas are given in increasing order: the last passing is the largest
        print(line)
    print(f"chosen: {chosen if chosen else 'none (the round ends; 0.5.6 stays)'}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
