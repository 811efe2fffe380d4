"""A round 16 candidate: MODEL's card with `suppression_spares` {"iron": N} on the iron
classifier's section, nothing else changed (the weights files are copied).

python make_candidate.py MODEL.json OUT_FOLDER N
"""
import json
import shutil
import sys
from pathlib import Path

source, out, smallest = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
for path in source.parent.glob(source.stem + ".*"):
    if path.suffix != ".json":
        shutil.copyfile(path, out / path.name)
card = json.loads(source.read_text())
iron = [section for section in card["second_stage"] if section.get("decides") == ["iron"]]
assert len(iron) == 1 and iron[0]["suppression"]["iron"] == 5.0 and "suppression_spares" not in iron[0]
iron[0]["suppression_spares"] = {"iron": smallest}
card["version"] += f"-spare{smallest}"
(out / source.name).write_text(json.dumps(card, indent=2) + "\n")
print(out / source.name)
