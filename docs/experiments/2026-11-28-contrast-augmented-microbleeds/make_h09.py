"""Round 29's diagnostic model H09: H's files with its microbleed classifier's minimum put back to
0.5.3's (0.9), so that H09 differs from 0.5.3 only by the contrast-trained classifier's scores.

python make_h09.py m053/deepmir-multiclass-sim-w16.json h/deepmir-multiclass-sim-w16.json h09
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-28-flip-averaged-classifiers"))
from make_f import copy_model

base = json.loads(Path(sys.argv[1]).read_text())
card, out = copy_model(Path(sys.argv[2]), Path(sys.argv[3]))
for section, base_section in zip(card["second_stage"], base["second_stage"], strict=True):
    assert section["decides"] == base_section["decides"]
    print(section["decides"], section["min_probability"], "->", base_section["min_probability"])
    section["min_probability"] = base_section["min_probability"]
card["version"] += "-min09"
out.write_text(json.dumps(card, indent=2) + "\n")
print("wrote", out)
