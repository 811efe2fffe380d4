"""Round 30's candidate H95: round 29's H (its files copied) with the microbleed classifier's
minimum probability 0.95 instead of the 0.6 its calibration chose.

python make_h95.py h/deepmir-multiclass-sim-w16.json h95
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-28-flip-averaged-classifiers"))
from make_f import copy_model

card, out = copy_model(Path(sys.argv[1]), Path(sys.argv[2]))
section = next(section for section in card["second_stage"] if section["decides"] == ["cmb"])
print("microbleed classifier", section["min_probability"], end=" -> ")
section["min_probability"]["cmb"] = 0.95
print(section["min_probability"])
card["version"] += "-min095"
out.write_text(json.dumps(card, indent=2) + "\n")
print("wrote", out)
