"""Candidate B: a model card's second stage with decides = ["cmb"] (iron from the U-Net alone), same weights.

python make_decides.py a/deepmir-multiclass-sim-w16.json b/deepmir-multiclass-sim-w16
"""
import copy
import dataclasses
import sys

from DeepMIRLib.modelfile import load_model, save_model

loaded = load_model(sys.argv[1])
card = copy.deepcopy(loaded.card)
card.second_stage = dataclasses.replace(card.second_stage, decides=("cmb",))
card.version = card.version + "+decides-cmb"
print(save_model(loaded.network, card, sys.argv[2], second_stage=loaded.second_stage))
