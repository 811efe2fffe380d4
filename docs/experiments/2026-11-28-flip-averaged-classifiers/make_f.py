"""Round 27's candidate F, in two steps (build_f.sh):

python make_f.py flips BASE.json OUT_FOLDER
    BASE's files copied to OUT_FOLDER, `average_flips` true in every second_stage section.
python make_f.py unet-minimums BASE.json CALIBRATED.json OUT_FOLDER
    CALIBRATED's files copied to OUT_FOLDER with BASE's U-Net-alone minimums (postprocessing) put
    back, so that only the second stage's minimums are the calibration's.
"""
import json
import shutil
import sys
from pathlib import Path


def copy_model(card_path: Path, out: Path) -> tuple[dict, Path]:
    """The card of `card_path` and its files copied into `out` (card written by the caller)."""
    card = json.loads(card_path.read_text())
    out.mkdir(parents=True, exist_ok=True)
    for path in card_path.parent.glob(card_path.stem + ".*"):
        if path.suffix != ".json":
            shutil.copy2(path, out / path.name)
    return card, out / card_path.name


if __name__ == "__main__":
    step = sys.argv[1]
    if step == "flips":
        card, out = copy_model(Path(sys.argv[2]), Path(sys.argv[3]))
        for section in card["second_stage"]:
            section["average_flips"] = True
        card["version"] = card["version"] + "-flips"
    else:
        base = json.loads(Path(sys.argv[2]).read_text())
        card, out = copy_model(Path(sys.argv[3]), Path(sys.argv[4]))
        print("calibration's U-Net-alone minimums", card["postprocessing"]["min_lesion_probability"],
              "-> 0.5.3's", base["postprocessing"]["min_lesion_probability"])
        card["postprocessing"] = base["postprocessing"]
        print("second-stage minimums", [section["min_probability"] for section in card["second_stage"]],
              "(0.5.3:", [section["min_probability"] for section in base["second_stage"]], ")")
    out.write_text(json.dumps(card, indent=2) + "\n")
    print("wrote", out)
