"""Round 31 diagnostic: per feature, the norm of the weight column of each classifier's first head
layer (how strongly the head reads the feature; the echo time is the microbleed classifier's last),
and the mean column norm over the pooled image features.

python weights.py e/deepmir-multiclass-sim-w16.json    (in /tmp/s34)
"""
import sys

from DeepMIRLib.modelfile import load_model

model = load_model(sys.argv[1])
for index, spec in enumerate(model.card.second_stages):
    weight = model.second_stage_network(index).head[0].weight.detach()
    n = len(spec.features)
    norms = weight[:, -n:].norm(dim=0)
    print(f"{spec.decided_keys()[0]} classifier: " + ", ".join(f"{name} {float(v):.3f}" for name, v in zip(spec.features, norms))
          + f"; image features' mean {float(weight[:, :-n].norm(dim=0).mean()):.3f}")
