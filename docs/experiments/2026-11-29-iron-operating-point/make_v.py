"""Round 39's candidate V: 0.5.4 whose iron classifier keeps deposits from the minimum, on its own
calibration table (120 nominal participants, in 0.5.4's card), whose smaller of pooled sensitivity
and precision is highest (ties: the higher F1), the operating point nearest the issue's iron target
(both at least 0.90); for SWI echo times from 15 ms it keeps 0.5.4's minimum (a `long_echo`
minimum), so long-echo participants are decided as by 0.5.4. Nothing trained; the weights files
are byte copies, the card is 0.5.4's with the two minimums.

python make_v.py M054_CARD OUT_CARD    (in /tmp/s41: python make_v.py m054/deepmir-multiclass-sim-w16.json v/deepmir-multiclass-sim-w16.json)
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

source, out = Path(sys.argv[1]), Path(sys.argv[2])
card = json.loads(source.read_text())
iron = [section for section in card["second_stage"] if section["decides"] == ["iron"]]
assert len(iron) == 1 and "long_echo" not in iron[0]
iron = iron[0]
table = iron["calibration"]["tables"]["iron"]
best = max(table, key=lambda row: (min(row["sensitivity"], row["precision"]), row["f1"]))
standard = iron["min_probability"]["iron"]
print(f"chosen {best['min_probability']:g}: {best['tp']} / {best['fp']} / {best['fn']}, sensitivity {best['sensitivity']:.4f}, "
      f"precision {best['precision']:.4f}, F1 {best['f1']:.4f} (0.5.4's {standard:g} kept from 15 ms)")
iron["min_probability"]["iron"] = best["min_probability"]
iron["long_echo"] = {"from_ms": 15.0, "min_probability": {"iron": standard}, "calibration": {
    "rule": "0.5.4's iron minimum, kept for SWI echo times from 15 ms (round 39: the nominal operating point was chosen on "
            "nominal participants only)"}}
iron["calibration"]["operating_point"] = ("round 39: the minimum whose smaller of pooled sensitivity and precision on this "
                                          "table is highest (ties: the higher F1)")
card["version"] = "0.5.5-v"
out.parent.mkdir(parents=True, exist_ok=True)
for path in source.parent.glob(source.stem + ".*"):
    if path.suffix != ".json":
        shutil.copyfile(path, out.parent / (out.stem + path.name[len(source.stem):]))
out.write_text(json.dumps(card, indent=2) + "\n")
subprocess.run([sys.executable, "-m", "DeepMIRLib.cli", "info", str(out), "--check"], check=True)
