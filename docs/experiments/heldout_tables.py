"""A bundled model (0.5.4, the default of rounds 32-42, 0.5.5, of rounds 43-46, 0.5.6, of rounds 46-50, or 0.5.7, the
default since round 50) on every held-out simulated cohort it was measured on after a round's choice, gathered from the
rounds' records:
participant means (the issue's figures; with 95 % bootstrap intervals in the records) from
intervals*.txt, pooled TP / FP / FN from heldout*.txt, and on how many nominal cohorts each of issue
15's targets is met. Nothing is computed again; the table is what the records say. README.md's
held-out tables are its output.

python docs/experiments/heldout_tables.py 0.5.4    (or 0.5.5, 0.5.6, 0.5.7; from the repository root)
"""
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (cohort as written, protocol, evaluation folder name in the records, the record folder)
COHORTS_054 = [
    ("1610 + 1620 (40)", "nominal", "eval-p-m054", "2026-11-28-classifier-conflicts"),
    ("1690 (40)", "nominal", "eval-1690-m054", "2026-11-28-iron-rich-slabs"),
    ("1730 (40)", "nominal", "eval-1730-m054", "2026-11-28-long-echo-iron-minimum"),
    ("1770 (40)", "nominal", "eval-1770-m054", "2026-11-29-per-echo-classifier"),
    ("1800 (20)", "nominal", "eval-1800-m054", "2026-11-29-iron-classifier-second-trial"),
    ("1820 (20)", "nominal", "eval-1820-m054", "2026-11-29-iron-operating-point"),
    ("1880 (20)", "nominal", "eval-1880-m054", "2026-11-29-fresh-iron-classifier"),
    ("1970 (20)", "nominal", "eval-1970-m054", "2026-11-29-iron-classifier-more-slabs"),
    ("2040 (20)", "nominal", "eval-2040-m054", "2026-11-29-fresh-iron-recipe-trial"),
    ("2080 (20)", "nominal", "eval-2080-m054", "2026-11-29-fresh-iron-recipe-slabs"),
    ("2120 (20)", "nominal", "eval-2120-m054", "2026-11-29-heldout-055"),
    ("2130 (20)", "nominal", "eval-2130-m054", "2026-11-29-heldout-055"),
    ("2140 (20)", "nominal", "eval-2140-m054", "2026-11-29-heldout-055"),
    ("2150 (20)", "nominal", "eval-2150-m054", "2026-11-29-heldout-055"),
    ("1700 (20)", "unseen A", "eval-1700-m054", "2026-11-28-iron-rich-slabs"),
    ("1740 (20)", "unseen A", "eval-1740-m054", "2026-11-28-long-echo-iron-minimum"),
    ("1780 (20)", "unseen A", "eval-1780-m054", "2026-11-29-per-echo-classifier"),
    ("1980 (20)", "unseen A", "eval-1980-m054", "2026-11-29-iron-classifier-more-slabs"),
]
# 0.5.5 decides protocol A (first echo 20 ms, in the SWI's sidecar) with 0.5.4's classifiers, so it has no rows of its own there
COHORTS_055 = [
    ("2080 (20)", "nominal", "eval-2080-z", "2026-11-29-fresh-iron-recipe-slabs"),
    ("2120 (20)", "nominal", "eval-2120-m055", "2026-11-29-heldout-055"),
    ("2130 (20)", "nominal", "eval-2130-m055", "2026-11-29-heldout-055"),
    ("2140 (20)", "nominal", "eval-2140-m055", "2026-11-29-heldout-055"),
    ("2150 (20)", "nominal", "eval-2150-m055", "2026-11-29-heldout-055"),
]
# 0.5.6 is round 46's R: 2200 and 2210 predicted after its choice, 2250 (protocol B) when it was shipped
COHORTS_056 = [
    ("2200 (20)", "nominal", "eval-2200-r", "2026-11-29-unet-own-classifier"),
    ("2330 (20)", "nominal", "eval-2330-m056", "2026-11-30-interpolated-unet"),  # predicted after round 49's choice
    ("2210 (20)", "unseen A", "eval-2210-r", "2026-11-29-unet-own-classifier"),
    ("2320 (20)", "unseen A", "eval-2320-m056", "2026-11-30-interpolated-unet"),  # the same
    ("2250 (20)", "long-echo B", "eval-2250-r", "2026-11-29-unet-own-classifier"),
]
# 0.5.7 is 0.5.6 with the iron classifiers' boundary at 11 ms: it decides the nominal (7.5 ms), protocol A (20 ms) and B
# (25 ms) participants exactly as 0.5.6 did, so those rows are 0.5.6's; 2370 (varied protocols, first echoes 5-15 ms) was predicted after round 50's choice
COHORTS_057 = COHORTS_056 + [("2370 (20)", "varied", "eval-2370-t", "2026-11-30-iron-echo-boundary")]
COHORTS = {"0.5.4": COHORTS_054, "0.5.5": COHORTS_055, "0.5.6": COHORTS_056, "0.5.7": COHORTS_057}
# issue 15's nominal targets on participant means: (figure, at least or at most, value)
TARGETS = [("cmb sensitivity", ">=", 0.95), ("cmb precision", ">=", 0.90), ("iron sensitivity", ">=", 0.90),
           ("iron precision", ">=", 0.90), ("mimic FP per participant", "<=", 0.2)]


def participant_means(record: Path, name: str) -> dict[str, str]:
    """The figures of `name`'s block in the record's intervals files (the whole cohort's, not its blocks of 20)."""
    for path in sorted(record.glob("intervals*.txt")):
        block = re.search(rf"^{re.escape(name)} \(\d+ participants\)\n((?:  .*\n?)+)", path.read_text(), re.MULTILINE)
        if block:
            return dict(re.findall(r"^  ([a-z FP]+): ([0-9.]+)", block.group(1), re.MULTILINE))
    raise SystemExit(f"{record.name}: no intervals for {name}")


def pooled_counts(record: Path, name: str) -> dict[str, tuple[int, int, int]]:
    for path in sorted(record.glob("heldout*.txt")):
        rows = re.findall(rf"^{re.escape(name)} (cmb|iron) TP (\d+) FP (\d+) FN (\d+)", path.read_text(), re.MULTILINE)
        found = {cls: tuple(map(int, counts)) for cls, *counts in rows}
        if found:
            return found
    raise SystemExit(f"{record.name}: no pooled counts for {name}")


def targets_met(nominal_means: list[dict[str, str]]) -> str:
    counts = []
    for figure, direction, value in TARGETS:
        met = sum((float(m[figure]) >= value) if direction == ">=" else (float(m[figure]) <= value) for m in nominal_means)
        counts.append(f"{figure} {direction} {value}: {met}")
    return f"- targets met on the {len(nominal_means)} nominal cohorts: " + "; ".join(counts)


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in COHORTS:
        raise SystemExit(f"usage: python heldout_tables.py {'|'.join(COHORTS)}")
    print("| cohort (participants) | protocol | CMB sensitivity / precision | iron sensitivity / precision | "
          "FP on mimics per participant | CMB TP / FP / FN | iron TP / FP / FN |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    totals: dict[str, dict[str, list[int]]] = {}
    nominal_means = []
    for cohort, protocol, name, record in COHORTS[sys.argv[1]]:
        means, counts = participant_means(HERE / record, name), pooled_counts(HERE / record, name)
        if protocol == "nominal":
            nominal_means.append(means)
        cells = [f"{means['cmb sensitivity']} / {means['cmb precision']}", f"{means['iron sensitivity']} / {means['iron precision']}",
                 means["mimic FP per participant"]] + [" / ".join(map(str, counts[c])) for c in ("cmb", "iron")]
        print(f"| {cohort} | {protocol} | " + " | ".join(cells) + " |")
        for cls in ("cmb", "iron"):
            total = totals.setdefault(protocol, {}).setdefault(cls, [0, 0, 0])
            total[:] = [a + b for a, b in zip(total, counts[cls])]
    print()
    for protocol, by_class in totals.items():
        print(f"- pooled over the {protocol} cohorts: " + "; ".join(
            f"{cls} {tp} / {fp} / {fn}, sensitivity {tp / (tp + fn):.3f}, precision {tp / (tp + fp):.3f}"
            for cls, (tp, fp, fn) in by_class.items()))
    print(targets_met(nominal_means))


if __name__ == "__main__":
    main()
