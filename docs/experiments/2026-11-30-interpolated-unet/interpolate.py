"""Round 49: a copy of TUNED (0.5.6: card, classifiers, minimums) whose U-Net's weights are
(1 - ALPHA) * BASE's + ALPHA * TUNED's, tensor by tensor (weight-space interpolation between a
network and its fine-tune, WiSE-FT: Wortsman et al. 2022, "Robust fine-tuning of zero-shot
models"). BASE's U-Net must be the one TUNED's was fine-tuned from (same architecture); integer
tensors (BatchNorm's batch counters) are TUNED's. The int8 file and the metrics are left out, as
secondstage.with_unet leaves them; every minimum probability is TUNED's, chosen for its own U-Net.

usage: python interpolate.py BASE_CARD TUNED_CARD ALPHA OUT_CARD VERSION
"""

import copy
import sys

import torch

from DeepMIRLib.modelfile import load_model, save_model


def interpolated_state(base: dict, tuned: dict, alpha: float) -> dict:
    if base.keys() != tuned.keys():
        raise SystemExit("the two U-Nets have different tensors")
    return {name: (1 - alpha) * base[name] + alpha * tuned[name] if torch.is_floating_point(tuned[name]) else tuned[name].clone()
            for name in tuned}


def main(base_card: str, tuned_card: str, alpha: str, out: str, version: str) -> None:
    base, tuned = load_model(base_card), load_model(tuned_card)
    weight = float(alpha)
    if not 0 <= weight <= 1:
        raise SystemExit("ALPHA lies in [0, 1]")
    if base.card.architecture != tuned.card.architecture or base.card.inputs != tuned.card.inputs:
        raise SystemExit("the U-Nets' architectures or inputs differ")
    network = tuned.network
    network.load_state_dict(interpolated_state(base.network.state_dict(), tuned.network.state_dict(), weight))
    card = copy.deepcopy(tuned.card)
    card.version = version
    card.training = {**card.training, "interpolated": (
        f"U-Net weights (1 - {weight:g}) x {base.card.name} {base.card.version}'s (sha256 {base.card.weights_sha256}) + {weight:g} x "
        f"{tuned.card.name} {tuned.card.version}'s (sha256 {tuned.card.weights_sha256}), tensor by tensor "
        "(docs/experiments/2026-11-30-interpolated-unet/interpolate.py); the minimum probabilities are the latter's, "
        "chosen for its own U-Net")}
    card.metrics = {}
    card.created = ""
    print(save_model(network, card, out, second_stage=tuned.second_stage_networks))


if __name__ == "__main__":
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
