"""Round 45, after the diagnostics: what the images hold at each pallidal calcification of the nominal
selection cohort 2180 (mimic label 2 components in the globus pallidus per manifest): the median true
susceptibility (chi), simulated QSM and SWI in the component and in a ring 2-3 voxels around it.

python calc_qsm.py   (in /tmp/s45; calc_qsm.txt)
"""
import json
import os
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage


def array(folder: str, name: str) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(f"{folder}/{name}.nii.gz"))


for participant in sorted(p for p in os.listdir("select-2180") if p.startswith("sim-")):
    folder = f"select-2180/{participant}"
    manifest = json.loads(Path(folder, "manifest.json").read_text())
    calcifications = [o for o in manifest["objects"] if o["kind"] == "calcification" and o.get("location") == "globus_pallidus"]
    if not calcifications:
        continue
    mimics = sitk.ReadImage(f"{folder}/mimics.nii.gz")
    components, _ = ndimage.label(sitk.GetArrayFromImage(mimics) == 2)
    chi, qsm, swi = array(folder, "chi"), array(folder, "qsm"), array(folder, "swi")
    for calcification in calcifications:
        i, j, k = mimics.TransformPhysicalPointToIndex(calcification["centre_lps_mm"])
        if not components[k, j, i]:
            print(participant, "no mimic component at the manifest's centre")
            continue
        core = components == components[k, j, i]
        ring = ndimage.binary_dilation(core, iterations=3) & ~ndimage.binary_dilation(core, iterations=1)
        print(f"{participant} voxels {core.sum():3d}  chi {np.median(chi[core]):+.3f} ring {np.median(chi[ring]):+.3f}  "
              f"QSM {np.median(qsm[core]):+.3f} ring {np.median(qsm[ring]):+.3f}  SWI {np.median(swi[core]):.3f} ring {np.median(swi[ring]):.3f}")
