"""Round 17's candidate C95: round 12's candidate C (docs/experiments/2026-11-27-long-echo-microbleeds,
`build_c.sh`: 0.5.1 whose microbleed classifier was trained further on train-r10, 30 nominal and 30
long-echo participants) with its microbleed classifier's minimum probability set to 0.95, 0.5.1's
own, instead of the 0.8 its calibration chose; nothing else changed (the weights files are copied).

python make_c95.py C.json OUT_FOLDER
"""
import json
import shutil
import sys
from pathlib import Path

source, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
for path in source.parent.glob(source.stem + ".*"):
    if path.suffix != ".json":
        shutil.copyfile(path, out / path.name)
card = json.loads(source.read_text())
assert card["version"] == "0.5.2-c"
cmb = card["second_stage"][0]
assert cmb["decides"] == ["cmb"] and cmb["min_probability"]["cmb"] == 0.8
cmb["min_probability"]["cmb"] = 0.95
card["version"] = "0.5.2-c95"
(out / source.name).write_text(json.dumps(card, indent=2) + "\n")
print(out / source.name)
