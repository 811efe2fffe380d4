"""A model with a two-classifier card's U-Net and only the classifier that decides KEY (cmb or
iron), for `python -m DeepMIRLib.secondstage --fine-tune` (which starts from a model with one)
and for `--per-class` (which takes one classifier per model).

python one_classifier.py MODEL KEY OUT.json
"""
import copy
import sys

from DeepMIRLib.modelfile import load_model, save_model

model, key, out = load_model(sys.argv[1]), sys.argv[2], sys.argv[3]
card = copy.deepcopy(model.card)
index = next(i for i, spec in enumerate(card.second_stages) if spec.decided_keys() == (key,))
card.second_stages = (card.second_stages[index],)
card.version += f"-{key}-only"
print(save_model(model.network, card, out, second_stage=[model.second_stage_network(index)]))
