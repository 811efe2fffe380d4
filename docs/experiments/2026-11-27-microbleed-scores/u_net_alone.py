"""Put 0.5.3's U-Net-alone figures (`deepmir predict --stages 1`, at its minimums 0.995 and
0.98, on round 18's fresh nominal 460 and protocol A 1160) into the bundled card's
metrics.u_net_alone, which held 0.5.1's (measured at the earlier iron minimum 0.95).

python u_net_alone.py   (in /tmp/s24, after eval-460-u053 and eval-1160-u053)
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-long-echo-unet"))
from bundling import check, cohort_metrics

A = "--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
card_path = Path(__file__).resolve().parents[3] / "Resources" / "models" / "deepmir-multiclass-sim-w16.json"
card = json.loads(card_path.read_text())
assert card["version"] == "0.5.3" and card["postprocessing"]["min_lesion_probability"] == {"cmb": 0.995, "iron": 0.98}
card["metrics"]["u_net_alone"] = {
    "command": "deepmir predict --model default --stages 1 --input COHORT --out pred && deepmir evaluate --prediction pred "
               "--reference COHORT --out eval (the U-Net with its own calibrated minimum probabilities, 0.995 and 0.98)",
    "nominal_protocol": cohort_metrics("eval-460-u053", "deepmir simulate --n 40 --seed 460"),
    "unseen_protocol": cohort_metrics("eval-1160-u053", f"deepmir simulate --n 20 --seed 1160 {A} (protocol A)"),
    "note": "0.5.3's U-Net alone on round 18's fresh cohorts (docs/experiments/2026-11-27-microbleed-scores)",
}
card_path.write_text(json.dumps(card, indent=2) + "\n")
check("default")
print("card updated")
