"""The default model 0.5.3 over every simulated cohort it was measured on after it shipped (analysis only:
nothing predicted, trained or calibrated here). Each row: seed, protocol, participants, pooled microbleed
and iron TP / FP / FN, copied from the record named beside it (`deepmir evaluate` via pooled.py). Left
out: 460, 1160 and 1170, which decided that 0.5.3 ships, and 1120, swept while its calibration was chosen;
1130 and 1150, whose microbleed counts are not written.

python pooled_default.py
"""
import numpy as np

ROWS = [  # seed, protocol, n, cmb (tp, fp, fn), iron (tp, fp, fn), source (docs/experiments/...)
    (470, "nominal", 40, (269, 7, 11), (49, 2, 6), "2026-11-27-protocol-a-heldout/pooled.txt"),
    (480, "nominal", 20, (249, 9, 15), (27, 0, 4), "2026-11-27-thick-slice-training/select.txt"),
    (510, "nominal", 20, (154, 5, 3), (32, 1, 6), "2026-11-27-thick-slice-nominal-mix/select.txt"),
    (540, "nominal", 20, (259, 14, 11), (29, 1, 6), "2026-11-27-iron-classifier-only/select.txt"),
    (550, "nominal", 40, (480, 15, 17), (60, 5, 10), "2026-11-28-iron-touching-truth/select.txt"),
    (560, "nominal", 40, (387, 19, 19), (63, 1, 14), "2026-11-27-microbleed-classifier-iron/select.txt"),
    (570, "nominal", 40, (321, 8, 14), (48, 4, 14), "2026-11-28-iron-classifier-extrema/select.txt"),
    (580, "nominal", 40, (94, 5, 1), (60, 7, 10), "2026-11-28-iron-calibration-two-protocols/heldout.txt"),
    (600, "nominal", 40, (300, 8, 13), (69, 3, 7), "2026-11-28-iron-calibration-two-protocols/select.txt"),
    (620, "nominal", 40, (292, 14, 12), (70, 8, 10), "2026-11-28-flip-averaged-classifiers/select.txt"),
    (640, "nominal", 40, (398, 14, 18), (51, 6, 9), "2026-11-28-flip-averaged-mimics/select.txt"),
    (650, "nominal", 20, (482, 11, 25), (16, 1, 3), "2026-11-28-contrast-augmented-microbleeds/select.txt"),
    (670, "nominal", 20, (139, 3, 7), (33, 2, 1), "2026-11-28-contrast-augmented-minimum/r30sel.txt"),
    (690, "nominal", 20, (237, 6, 15), (17, 2, 7), "2026-11-28-echo-time-microbleeds/select.txt"),
    (1180, "A", 40, (62, 12, 5), (70, 3, 17), "2026-11-27-protocol-a-heldout/pooled.txt"),
    (1220, "A", 40, (159, 9, 22), (51, 1, 16), "2026-11-27-thick-slice-training/heldout.txt"),
    (1270, "A", 40, (226, 5, 45), (44, 3, 12), "2026-11-28-iron-calibration-two-protocols/heldout.txt"),
    (1440, "A", 20, (60, 2, 6), (29, 2, 2), "2026-11-28-contrast-augmented-microbleeds/heldout.txt"),
    (1470, "A", 20, (46, 5, 7), (25, 4, 6), "2026-11-28-contrast-augmented-minimum/r30held.txt"),
    (1500, "A", 20, (148, 5, 23), (29, 0, 7), "2026-11-28-echo-time-microbleeds/heldout.txt"),
    (1240, "B", 20, (38, 1, 13), (32, 1, 4), "2026-11-27-thick-slice-nominal-mix/select.txt"),
    (1260, "B", 20, (88, 1, 58), (18, 3, 5), "2026-11-27-iron-classifier-only/select.txt"),
    (1290, "B", 20, (32, 2, 10), (32, 3, 4), "2026-11-27-microbleed-classifier-iron/select.txt"),
    (1310, "B", 20, (124, 1, 43), (37, 2, 6), "2026-11-28-iron-classifier-extrema/select.txt"),
    (1330, "B", 20, (39, 1, 14), (22, 0, 0), "2026-11-28-iron-touching-truth/select.txt"),
    (1360, "B", 20, (195, 0, 88), (33, 5, 3), "2026-11-28-iron-calibration-two-protocols/select.txt"),
    (1380, "B", 20, (32, 3, 22), (35, 8, 3), "2026-11-28-flip-averaged-classifiers/select.txt"),
    (1420, "B", 20, (251, 2, 139), (27, 8, 8), "2026-11-28-flip-averaged-mimics/select.txt"),
    (1430, "B", 20, (176, 2, 84), (26, 4, 7), "2026-11-28-contrast-augmented-microbleeds/select.txt"),
    (1460, "B", 20, (85, 0, 53), (31, 1, 3), "2026-11-28-contrast-augmented-minimum/r30sel.txt"),
    (1490, "B", 20, (34, 0, 10), (45, 3, 4), "2026-11-28-echo-time-microbleeds/select.txt"),
]
PROTOCOLS = ("nominal", "A", "B")


def rates(rows, key):
    tp, fp, fn = np.sum([r[3 if key == "cmb" else 4] for r in rows], axis=0)
    return tp / (tp + fn), tp / (tp + fp), (tp, fp, fn)


def main():
    rng = np.random.default_rng(0)
    by = {p: [r for r in ROWS if r[1] == p] for p in PROTOCOLS}
    for key in ("cmb", "iron"):
        for p in PROTOCOLS:
            sens, prec, counts = rates(by[p], key)
            print(f"{key} {p}: {len(by[p])} cohorts, {sum(r[2] for r in by[p])} participants, pooled TP / FP / FN "
                  f"{' / '.join(map(str, counts))}: sensitivity {sens:.3f}, precision {prec:.3f}")
        for p in ("A", "B"):
            diffs = []
            for _ in range(10000):  # cohorts drawn again within each protocol
                a = [by[p][i] for i in rng.integers(len(by[p]), size=len(by[p]))]
                n = [by["nominal"][i] for i in rng.integers(len(by["nominal"]), size=len(by["nominal"]))]
                diffs.append(np.subtract(rates(a, key)[:2], rates(n, key)[:2]))
            low, high = np.percentile(diffs, [2.5, 97.5], axis=0)
            point = np.subtract(rates(by[p], key)[:2], rates(by["nominal"], key)[:2])
            print(f"{key} {p} minus nominal: sensitivity {point[0]:+.3f} [{low[0]:+.3f}, {high[0]:+.3f}], "
                  f"precision {point[1]:+.3f} [{low[1]:+.3f}, {high[1]:+.3f}] (95 % interval, cohorts resampled)")


if __name__ == "__main__":
    main()
