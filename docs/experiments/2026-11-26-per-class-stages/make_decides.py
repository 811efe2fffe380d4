"""0.4.1 with second_stage.decides = ["cmb"] (iron from the U-Net alone), for comparison only."""
import copy
import dataclasses
import sys

from DeepMIRLib.modelfile import load_model, save_model

loaded = load_model("default")
card = copy.deepcopy(loaded.card)
card.second_stage = dataclasses.replace(card.second_stage, decides=("cmb",))
card.version = "0.4.1+decides-cmb"
print(save_model(loaded.network, card, sys.argv[1], second_stage=loaded.second_stage))
