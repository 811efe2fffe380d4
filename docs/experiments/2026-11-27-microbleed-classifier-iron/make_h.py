"""Round 23's candidate H: the default 0.5.3 whose microbleed classifier (listed first) also decides
iron deposits, at the iron minimum its section already gives (0.9, the iron classifier's too).
The iron classifier, listed second, then adds its deposits where the first put no lesion
(pipeline.combine_stages). Weights are byte copies; the card is written by write_card and loaded
again to check it.

python make_h.py OUT/deepmir-multiclass-sim-w16.json
"""
import dataclasses
import shutil
import sys
from pathlib import Path

from DeepMIRLib.modelfile import load_model, model_paths, write_card

default = load_model("default")
assert default.card.version == "0.5.3" and [spec.decides for spec in default.card.second_stages] == [("cmb",), ("iron",)]
out = Path(sys.argv[1])
out.parent.mkdir(parents=True, exist_ok=True)
for path in model_paths(default.path)[0].parent.glob(f"{model_paths(default.path)[0].stem}.*"):
    shutil.copyfile(path, out.parent / path.name)
card = default.card
microbleeds, iron = card.second_stages
assert microbleeds.min_probability["iron"] == iron.min_probability["iron"] == 0.9
card.second_stages = (dataclasses.replace(microbleeds, decides=("cmb", "iron")), iron)
card.version = "0.5.4-h"
write_card(card, out)
for spec in load_model(out).card.second_stages:
    print(spec.decides, spec.min_probability, spec.weights_file)
