"""`deepmir demo`: simulate one participant, detect with the default model, compare with the truth."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .atomic import atomic_directory
from .classes import CMB_CLASS, IRON_CLASS
from .figures import qc_figure
from .metrics import evaluate_participant
from .modelfile import load_model
from .pipeline import detect, participant_from_folder
from .results import LABELS_FILE, LESION_TABLE_FILE, write_detection
from .simulation.phantom import Protocol, simulate_participant, write_participant
from .simulation.placement import LesionLoad
from .volumes import read_volume, to_canonical


def run_demo(out: Path | str, seed: int, model_name: str = "default", device: str = "auto", log: Callable[[str], object] = print,
             protocol: Protocol | None = None) -> int:
    """`protocol` (a simulation Protocol) lets tests run the demo on a slab."""
    out = Path(out)
    start = time.perf_counter()
    model = load_model(model_name)
    log(f"model: {model.card.name} {model.card.version} ({', '.join(m.upper() for m in model.card.inputs)}; {model.card.training.get('data', 'training data not recorded')})")
    participant = simulate_participant(seed, protocol, LesionLoad.named("dense"), participant_id=f"demo-{seed}")
    folder = out / "participant"
    with atomic_directory(folder, overwrite=True) as staging:
        write_participant(participant, staging)
    log(f"simulated participant (seed {seed}): {participant.info['counts']['cmb']} microbleeds, {participant.info['counts']['iron']} iron deposits, "
        f"{participant.info['counts']['vein']} veins, {participant.info['counts']['calcification']} calcifications, {participant.info['counts']['epvs']} perivascular spaces -> {folder}")
    inputs = participant_from_folder(folder)
    inputs.participant_id = participant.info["participant"]
    detection = detect(inputs, model, device=device)
    write_detection(detection, out / "prediction", overwrite=True)
    truth = read_volume(folder / LABELS_FILE, dtype=np.uint8)
    results = evaluate_participant(detection.labels, truth, classes=[c.label for c in model.card.lesion_classes])
    prepared = detection.prepared
    canonical = {name.upper(): prepared.canonical[name] for name in model.card.inputs}
    figure = qc_figure(
        canonical, prepared.mask, to_canonical(detection.labels)[0].array, out / "qc.png", to_canonical(truth)[0].array,
        title=f"DeepMIR demo on a simulated participant (seed {seed}); model trained on simulated data only",
    )
    log(f"lesion table: {out / 'prediction' / LESION_TABLE_FILE}; label map: {out / 'prediction' / LABELS_FILE}; QC figure: {figure}")
    placed = {CMB_CLASS.label: participant.info["counts"]["cmb"], IRON_CLASS.label: participant.info["counts"]["iron"]}
    for lesion_class in (CMB_CLASS, IRON_CLASS):
        r = results.get(lesion_class.label)
        if r is not None:
            pieces = "" if r.n_ref == placed[lesion_class.label] else (
                f" (the evaluation counts the reference label map's {r.n_ref} connected components; the simulator placed "
                f"{placed[lesion_class.label]}, some touching)")
            log(f"{lesion_class.name}: {r.n_ref} true, {r.n_pred} detected, {r.tp} correct, {r.fp} false positives, {r.fn} missed{pieces}")
    log(f"done in {time.perf_counter() - start:.0f} s (simulated data; not a clinical result)")
    return 0
