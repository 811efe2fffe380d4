# ruff: noqa
# The script as run for this experiment (kept unchanged; paths relative to /tmp/ss15).
import sys, torch
from pathlib import Path
torch.set_num_threads(1)
from DeepMIRLib import secondstage as s
from DeepMIRLib.modelfile import load_model
loaded = load_model("default")
src, dst, proposal = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
dst.mkdir(exist_ok=True)
for folder in sorted(src.iterdir()):
    out = dst / (folder.name + ".npz")
    if out.exists() or not (folder / "manifest.json").exists():
        continue
    # (the library later took several proposals in one run: proposals=(P,) gives the same candidates)
    cs = s.collect_candidates([folder], loaded, (13, 28, 28), proposals=(None if proposal == "none" else float(proposal),))
    cs.save(out)
    print(folder.name, len(cs.targets), flush=True)
