"""Round 50: a copy of MODEL (0.5.6) whose two iron classifiers change over at BOUNDARY ms instead of the card's
15 ms: the short-echo one (trained on nominal 7.5 ms slabs) for SWI echo times below BOUNDARY or not known, the
long-echo one (trained on nominal and 25 ms participants) from BOUNDARY. Nothing is trained or calibrated; every file is
a byte copy of MODEL's (secondstage.write_model_copy). The microbleed classifier's minimum from 15 ms is unchanged.

usage: python boundary.py MODEL_CARD BOUNDARY_MS OUT_CARD VERSION
"""
import copy
import dataclasses
import sys

from DeepMIRLib.modelfile import ModelCard, load_model
from DeepMIRLib.secondstage import write_model_copy


def main(model: str, boundary: str, out: str, version: str) -> None:
    loaded = load_model(model)
    ms = float(boundary)
    card = copy.deepcopy(loaded.card)
    specs = []
    for spec in card.second_stages:
        if spec.echo_times and "below_ms" in spec.echo_times:
            spec = dataclasses.replace(spec, echo_times={"below_ms": ms})
        elif spec.echo_times and "from_ms" in spec.echo_times:
            spec = dataclasses.replace(spec, echo_times={"from_ms": ms})
        specs.append(spec)
    if sum(1 for spec in specs if spec.echo_times) != 2:
        raise SystemExit("MODEL needs one classifier below an echo time and one from it")
    card.second_stages = tuple(specs)
    card.version = version
    card = ModelCard.from_dict(card.to_dict(), out)  # checked as a card read from disk is
    print(write_model_copy(loaded, card, None, out))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
