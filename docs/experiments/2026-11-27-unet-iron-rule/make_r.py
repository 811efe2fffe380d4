"""Candidate R of round 9: a copy of a per-class model (its card and every file beside it)
whose iron classifier's section gains `keep_unet`; nothing else changes.

python make_r.py SOURCE.json OUT.json
"""
import json
import shutil
import sys
from pathlib import Path

from DeepMIRLib.modelfile import load_model

KEEP_UNET = {"unet_probability": 0.999, "lesion_probability": 0.5}

source, out = Path(sys.argv[1]), Path(sys.argv[2])
out.parent.mkdir(parents=True, exist_ok=True)
card = json.loads(source.read_text())
iron = [section for section in card["second_stage"] if section.get("decides") == ["iron"]]
assert len(iron) == 1, "the model must have one classifier that decides iron deposits alone"
iron[0]["keep_unet"] = KEEP_UNET
for path in source.parent.glob(source.stem + ".*"):
    if path.suffix != ".json":
        shutil.copyfile(path, out.parent / (out.stem + path.name[len(source.stem):]))
out.write_text(json.dumps(card, indent=2) + "\n")
print(out, [spec.keep_unet for spec in load_model(out).card.second_stages])
