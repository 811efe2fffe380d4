"""Round 45, after the diagnostics: the U-Net's highest iron probability on each pallidal calcification
(mimic label 2 components in the globus pallidus per manifest), per model, on the nominal selection cohort 2180, and whether the
prediction keeps an iron deposit on it.

python calc_probs.py m055 p q c   (in /tmp/s45; calc_probs.txt)
"""
import json
import os
import sys
from pathlib import Path

import SimpleITK as sitk
from scipy import ndimage

models = sys.argv[1:]
for participant in sorted(p for p in os.listdir("select-2180") if p.startswith("sim-")):
    manifest = json.loads(Path(f"select-2180/{participant}/manifest.json").read_text())
    calcs = [o for o in manifest["objects"] if o["kind"] == "calcification" and o.get("location") == "globus_pallidus"]
    if not calcs:
        continue
    mimics = sitk.ReadImage(f"select-2180/{participant}/mimics.nii.gz")
    for c in calcs:
        index = mimics.TransformPhysicalPointToIndex(c["centre_lps_mm"])
        components, _ = ndimage.label(sitk.GetArrayFromImage(mimics) == 2)
        label = components[index[2], index[1], index[0]]
        region = ndimage.binary_dilation(components == label, iterations=1) if label else None
        row = [participant, f"{c['extent_mm']:.1f}mm", f"{c['susceptibility_ppm']:+.3f}ppm"]
        for m in models:
            prob = sitk.GetArrayFromImage(sitk.ReadImage(f"pred-2180-{m}/{participant}/prob_iron.nii.gz"))
            labels = sitk.GetArrayFromImage(sitk.ReadImage(f"pred-2180-{m}/{participant}/labels.nii.gz"))
            if region is None:
                row.append(f"{m}: not labelled")
            else:
                row.append(f"{m}: p_iron {prob[region].max():.3f} kept {'iron' if (labels[region] == 2).any() else 'no'}")
        print("  ".join(row))
