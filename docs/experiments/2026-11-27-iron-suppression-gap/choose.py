"""Round 15's rule on the pool's counts (README): pooled iron F1 per iron suppression distance over the
whole pool, the nominal part and the protocol A and B part, and the choice.

python choose.py counts-nominal.jsonl counts-other.jsonl > choose.txt
"""
import json
import sys
from pathlib import Path

BASE = "5.0"
TRAINING = {"select-320"}  # train-r10's nominal half: 0.5.0's U-Net and 0.5.1's iron classifier were trained on it


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def pooled(rows: list[dict], setting: str) -> tuple[int, int, int]:
    return tuple(sum(row["iron"][setting][i] for row in rows) for i in range(3))


def read_parts(nominal_path: str, other_path: str) -> dict[str, list[dict]]:
    """The pool's rows (one per participant, training cohorts left out): whole, nominal, protocols A and B."""
    nominal, other = ([row for row in map(json.loads, Path(path).read_text().splitlines()) if row["cohort"] not in TRAINING]
                      for path in (nominal_path, other_path))
    return {"pool": nominal + other, "nominal": nominal, "protocols A and B": other}


def print_table(parts: dict[str, list[dict]], settings: list[str], first_column: str, label=str) -> None:
    print("participants: " + ", ".join(f"{name} {len(rows)}" for name, rows in parts.items()))
    print(f"| {first_column} | " + " | ".join(f"{name}: TP / FP / FN, F1" for name in parts) + " |")
    print("| --- |" + " --- |" * len(parts))
    for setting in settings:
        cells = [f"{tp} / {fp} / {fn}, {f1(tp, fp, fn):.4f}" for tp, fp, fn in (pooled(rows, setting) for rows in parts.values())]
        print(f"| {label(setting)} | " + " | ".join(cells) + " |")


def main(nominal_path: str, other_path: str) -> None:
    parts = read_parts(nominal_path, other_path)
    distances = sorted(parts["nominal"][0]["iron"], key=float)
    print_table(parts, distances, "iron suppression (voxels)", lambda d: f"{float(d):g}")
    score = {name: {d: f1(*pooled(rows, d)) for d in distances} for name, rows in parts.items()}
    best = max(distances, key=lambda d: (round(score["pool"][d], 12), float(d)))
    gain = score["pool"][best] - score["pool"][BASE]
    checks = {"pool at least 0.01 higher": gain >= 0.01,
              "nominal at most 0.002 lower": score["nominal"][best] >= score["nominal"][BASE] - 0.002,
              "protocols A and B at most 0.002 lower": score["protocols A and B"][best] >= score["protocols A and B"][BASE] - 0.002}
    print(f"\nd* = {float(best):g} voxels: pool iron F1 {score['pool'][BASE]:.4f} -> {score['pool'][best]:.4f} ({gain:+.4f})")
    for what, holds in checks.items():
        print(f"- {what}: {'yes' if holds else 'no'}")
    print("T is chosen (0.5.2)" if all(checks.values()) and best != BASE else "nothing ships: 0.5.1 stays")


if __name__ == "__main__":
    main(*sys.argv[1:3])
