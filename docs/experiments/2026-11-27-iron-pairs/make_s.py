"""Candidate S of round 13: MODEL's card with the iron deposits' suppression distance set to 3
voxels (or DISTANCE: round 15's candidate T) in every second-stage section, nothing else
changed (the weights files are copied).

python make_s.py MODEL.json OUT_FOLDER [DISTANCE]
"""
import json
import shutil
import sys
from pathlib import Path

source, out = Path(sys.argv[1]), Path(sys.argv[2])
distance = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
out.mkdir(parents=True, exist_ok=True)
for path in source.parent.glob(source.stem + ".*"):
    if path.suffix != ".json":
        shutil.copyfile(path, out / path.name)
card = json.loads(source.read_text())
for section in card["second_stage"]:
    assert section["suppression"]["iron"] == 5.0
    section["suppression"]["iron"] = distance
card["version"] += f"-s{distance:g}"
(out / source.name).write_text(json.dumps(card, indent=2) + "\n")
print(out / source.name)
