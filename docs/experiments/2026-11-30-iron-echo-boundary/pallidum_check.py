"""Round 50's why: where 0.5.6's false deposits lie in round 49's 2310 participants 0000 and 0011 (first echoes 14.2 and
14.3 ms). Prints the simulated susceptibility (chi.nii.gz) at each false deposit's centroid beside the participant's
globus pallidus value (manifest.json): equal means the false deposit sits in the pallidum's natural iron.

python pallidum_check.py   (in /tmp/s49; pallidum_check.txt)
"""
import csv
import json

import SimpleITK as sitk

for participant in ("sim-2310-0000", "sim-2310-0011"):
    chi = sitk.GetArrayFromImage(sitk.ReadImage(f"select-2310/{participant}/chi.nii.gz"))  # z, y, x
    with open(f"select-2310/{participant}/manifest.json") as f:
        pallidum = json.load(f)["globus_pallidus_ppm"]
    print(f"{participant}: globus pallidus {pallidum} ppm")
    with open("eval-2310-m056/lesions.csv") as f:
        for row in csv.DictReader(f):
            if row["participant"] == participant and row["class"] == "2" and row["outcome"] == "FP":
                i, j, k = (round(float(row[f"pred_centroid_{axis}"])) for axis in "ijk")
                print(f"  false deposit at voxel {(i, j, k)}: chi {chi[k, j, i]:.3f} ppm{'; on a ' + row['mimic'] if row['mimic'] else ''}")
