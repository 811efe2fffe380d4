# ruff: noqa
# The script as run for this experiment (paths relative to /tmp/ss15). With a third argument P,
# candidates are the components where the lesion probabilities sum to >= P instead of the arg-max
# (run as the separate collect_cal_low.py, which differed in that line only).
import sys, torch, numpy as np
from pathlib import Path
torch.set_num_threads(1)
from DeepMIRLib import secondstage as s
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.pipeline import min_probability_by_label, detect, participant_from_folder
from DeepMIRLib.lesions import remove_lesions
from DeepMIRLib.preprocessing import stack_modalities
from DeepMIRLib.volumes import read_volume, to_canonical
loaded = load_model("default")
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir(exist_ok=True)
for folder in sorted(src.iterdir()):
    out = dst / (folder.name + ".npz")
    if out.exists() or not (folder / "manifest.json").exists():
        continue
    detection = detect(participant_from_folder(folder), loaded, min_probability=0, stages=1)
    prepared = detection.prepared
    stack = stack_modalities(prepared.canonical, loaded.card.inputs, prepared.mask)
    labels = to_canonical(detection.labels)[0].array
    probabilities = np.stack([to_canonical(detection.probabilities[c.key])[0].array for c in loaded.card.lesion_classes])
    calibrated = remove_lesions(labels, 1, {1: probabilities[0], 2: probabilities[1]}, min_probability_by_label(loaded.card, None))
    proposals = labels
    if len(sys.argv) > 3:
        proposals = np.where(probabilities.sum(axis=0) >= float(sys.argv[3]), probabilities.argmax(axis=0) + 1, 0).astype(np.uint8)
    c = s.extract_candidates(proposals, probabilities)
    reference = to_canonical(read_volume(folder / "labels.nii.gz"))[0].array.astype(np.uint8)
    np.savez_compressed(out, argmax=labels, calibrated=calibrated, components=c.components, label=c.label, centroid=c.centroid,
                        features=c.features, patches=s.patches_for(stack, c), reference=reference)
    print(folder.name, len(c), flush=True)
