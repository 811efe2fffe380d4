"""Round 45's candidate P: 0.5.5's card, classifiers and minimum probabilities with the U-Net that
`train_p.sh` fine-tuned. The card's training section becomes that U-Net's (it names what it was
fine-tuned from); the int8 file is left out (it is 0.5.5's U-Net quantized).

python make_p.py m055/deepmir-multiclass-sim-w16.json unet-r45/deepmir-multiclass-sim-w16.json p/deepmir-multiclass-sim-w16.json
"""
import copy
import sys

from DeepMIRLib.modelfile import load_model, save_model

base, tuned, out = load_model(sys.argv[1]), load_model(sys.argv[2]), sys.argv[3]
if base.card.architecture != tuned.card.architecture or base.card.inputs != tuned.card.inputs:
    raise SystemExit("the fine-tuned U-Net is not of the base model's architecture and inputs")
card = copy.deepcopy(base.card)
card.version = "0.5.6-p"
card.training = copy.deepcopy(tuned.card.training)
card.training["calibration"] = copy.deepcopy(base.card.training["calibration"])  # minimums kept, not chosen again
print(save_model(tuned.network, card, out, second_stage=base.second_stage_networks))
