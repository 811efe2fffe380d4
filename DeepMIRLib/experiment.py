"""The paper's experiments (sections 2.4-2.6, Table 3, S4): cross-validation over
participants for a grid of modality sets x label tasks, per-participant metrics, a Table 3
in Markdown with rank-sum tests against the SWI-only model, and the paper's figures.

Each fold trains on the other participants (split again 75/25 into training and validation
inside `training.train_model`) and tests on its own participants, which no model of that
fold has seen: every metric is a held-out one.

With `two_stages` (multiclass only), each fold's U-Net also gets a second stage
(secondstage.build_two_stage_model): the 3-D classifier is trained on the U-Net's candidates
in the fold's training participants and its minimum probabilities are chosen on the fold's
validation participants; the two-stage detector is tested on the same participants as the
U-Net alone, and its tables go to `two-stages/` with a comparison against the U-Net alone
(`stages.md`, rank-sum tests on the same participants).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy import stats

from .atomic import write_json_atomic, write_text_atomic
from .casecache import CaseCache
from .classes import classes_for_task
from .errors import InputError
from .evaluation import read_reference, table3_row
from .lesions import label_components
from .metrics import evaluate_participant, table3_markdown
from .modelfile import load_model
from .pipeline import detect
from .training import TrainingCase, TrainingConfig, train_model
from .volumes import read_volume

CACHE_FOLDER = "cache"  # prepared cases, inside the output folder
TWO_STAGES_FOLDER = "two-stages"  # the two-stage detector's tables and figures, inside the output folder
TASK_TITLES = {"cmb": "CMB only", "iron": "Iron deposits only", "union": "CMB or iron (union)", "multiclass": "Multiclass"}


def modality_name(inputs: Iterable[str]) -> str:
    return " + ".join(m.upper() for m in inputs)


def assign_folds(case_ids: list[str], folds: int | str, seed: int) -> list[list[str]]:
    """'loo' (leave-one-out) or K folds of a seeded permutation."""
    ids = sorted(case_ids)
    if folds == "loo":
        return [[i] for i in ids]
    order = list(np.random.default_rng([seed, 3]).permutation(ids))
    return [sorted(order[k :: int(folds)]) for k in range(int(folds))]


MIN_PARTICIPANTS_FOR_OUTLIERS = 8


def outlier_counts(counts: Sequence[float] | np.ndarray, percentile: float = 99.0) -> np.ndarray:
    """Supplementary S4: which participants' lesion counts are outliers (a boolean per count).

    Counts (plus half a count) are scaled into (0, 1) by a support ten times the largest count,
    wide enough that the largest counts do not sit at the edge of the beta's support, and
    each participant is judged against a beta distribution fitted (maximum likelihood) to the
    *other* participants' counts: it is an outlier when its count lies above that fit's
    `percentile`. Fitting without the participant under test matters: one
    extreme participant inside the fit widens it until it hides itself (with counts like the
    paper's Table 2, 0-8 microbleeds and one participant with 105, a fit to all of them puts
    the 99th percentile at about 87 microbleeds; the fit to the others, at about 8).
    """
    counts = np.asarray(counts, float)
    if len(counts) < MIN_PARTICIPANTS_FOR_OUTLIERS:
        raise InputError("--exclude-outliers", f"a beta fit needs at least {MIN_PARTICIPANTS_FOR_OUTLIERS} participants, not {len(counts)}")
    scaled = (counts + 0.5) / (10 * counts.max() + 1.0)
    outliers = np.zeros(len(counts), bool)
    for i in range(len(counts)):
        a, b, _, _ = stats.beta.fit(np.delete(scaled, i), floc=0, fscale=1)
        outliers[i] = scaled[i] > stats.beta.ppf(percentile / 100, a, b)
    return outliers


def outlier_cases(cases: list[TrainingCase], percentile: float = 99.0, lesion_label: int = 1) -> list[str]:
    """Ids of the participants whose number of lesions of `lesion_label` (microbleeds, as in
    the paper's S4) is an outlier by `outlier_counts`."""
    counts = [label_components(read_volume(case.labels, dtype=np.uint8).array == lesion_label)[1] for case in cases]
    return [case.case_id for case, outlier in zip(cases, outlier_counts(counts, percentile)) if outlier]


def run_experiment(cases: list[TrainingCase], modality_sets: list[tuple], tasks: list[str], folds: int | str, base: TrainingConfig, out: Path,
                   log: Callable[[str], object] = print, cache: CaseCache | None = None, two_stages: bool = False,
                   resume: bool = False) -> dict:
    """Train and test every (task, modalities, fold); write per_participant.csv, table3.md,
    results.json and figures into `out`. Returns {(task, modalities): {participant: results}}
    (with `two_stages`, also {("two-stages", task, modalities): ...} for the multiclass task).
    `resume`: a fold whose model file in `out`/models was trained on the same participants with
    the same settings is reused instead of trained again (model files are written atomically:
    one that exists is whole).

    Every case is prepared once, with all its modalities, and kept in memory for the whole
    run (default cache: `out`/cache on disk): every fold trains on all cases but its test
    ones, so a fold holds nearly all of them anyway, and the modality sets take their
    channels as views of the same arrays. Holding them costs at most the test cases and the
    channels a set leaves out; reading them again per fold would cost time and save little."""
    out = Path(out)
    cache = cache or CaseCache(out / CACHE_FOLDER, keep_in_memory=True, log=log)
    started = time.perf_counter()
    needed = tuple(dict.fromkeys(m for inputs in modality_sets for m in inputs))
    for case in cases:
        cache.get(case, needed)
    log(f"{len(cases)} cases ready in {time.perf_counter() - started:.1f} s: {cache.prepared} prepared"
        + (f", {cache.read} read from the cache {cache.folder}" if cache.folder else " (no disk cache)"))
    by_id = {c.case_id: c for c in cases}
    fold_ids = assign_folds(list(by_id), folds, base.seed)
    if two_stages and "multiclass" not in tasks:
        raise InputError("--two-stages", "the second stage classifies microbleeds and iron deposits: it needs the multiclass task")
    results: dict = {}
    two_stage_results: dict = {}
    untrained_second_stages: list[str] = []  # folds whose U-Net proposed no lesion to learn from
    for task in tasks:
        for inputs in modality_sets:
            key = (task, tuple(inputs))
            results[key] = {}
            for k, test_ids in enumerate(fold_ids):
                train_cases = [c for c in cases if c.case_id not in test_ids]
                config = TrainingConfig(**{**base.__dict__, "inputs": tuple(inputs), "task": task})
                model_path = out / "models" / f"{task}-{'-'.join(inputs)}-fold{k}"
                log(f"{TASK_TITLES[task]}, {modality_name(inputs)}: fold {k + 1}/{len(fold_ids)} ({len(train_cases)} training participants)")
                model = _fold_model(train_cases, config, model_path, k, resume, log, cache)
                for case_id in test_ids:
                    results[key][case_id] = _test_participant(model, by_id[case_id], task, base.device, stages=1)
                if two_stages and task == "multiclass":
                    two_stage = _fold_two_stage_model(model, by_id, model_path, base.seed, resume, log)
                    if two_stage is None:
                        untrained_second_stages.append(f"{modality_name(inputs)}, fold {k + 1}")
                    for case_id in test_ids:
                        two_stage_results.setdefault(key, {})[case_id] = (
                            results[key][case_id] if two_stage is None else _test_participant(two_stage, by_id[case_id], task, base.device))
    write_results(results, out)
    if two_stages:
        write_results(two_stage_results, out / TWO_STAGES_FOLDER)
        write_text_atomic(out / "stages.md", stages_markdown(results, two_stage_results, untrained_second_stages))
    return {**results, **{("two-stages", *key): value for key, value in two_stage_results.items()}}


def _fold_model(train_cases: list[TrainingCase], config: TrainingConfig, model_path: Path, fold: int, resume: bool,
                log: Callable[[str], object], cache: CaseCache):
    """The fold's U-Net: trained, or with `resume` the one in `model_path` when it was trained
    on these participants with this configuration."""
    from .modelfile import read_card
    from .training import _config_dict, split_cases

    card_path = model_path.with_suffix(".json")
    if resume and card_path.exists():
        training = read_card(card_path).training
        train_ids, validation_ids = split_cases([c.case_id for c in train_cases], config.seed, config.validation_fraction)
        if (training.get("training_cases"), training.get("validation_cases"), training.get("config")) == (train_ids, validation_ids, _config_dict(config)):
            log(f"  reusing {card_path} (same participants and settings)")
            return load_model(card_path)
        log(f"  {card_path} was trained on other participants or settings: training again")
    return load_model(train_model(train_cases, config, model_path, model_path.name, "0", f"experiment fold {fold}",
                                  log=lambda line: log(f"  {line}"), cache=cache))


def _fold_two_stage_model(model, by_id: dict, model_path: Path, seed: int, resume: bool, log: Callable[[str], object]):
    """The fold's U-Net with a second stage trained on its training participants' candidates
    and calibrated on its validation participants (as recorded in the U-Net's card); None when
    none of its candidates there is a lesion (a U-Net that learned nothing): the fold's
    two-stage results are then the U-Net's alone, and stages.md says so."""
    from .secondstage import DEFAULT_PROPOSAL, build_two_stage_model

    out = model_path.with_name(model_path.name + "-2stage")
    if resume and out.with_suffix(".json").exists():
        two_stage = load_model(out.with_suffix(".json"))
        if two_stage.card.training == model.card.training:  # built on this fold's U-Net
            log(f"  reusing {out.with_suffix('.json')}")
            return two_stage
    training = model.card.training
    log(f"  second stage: candidates of {len(training['training_cases'])} training participants, "
        f"calibrated on {len(training['validation_cases'])} validation participants")
    try:
        build_two_stage_model(model, [by_id[i] for i in training["training_cases"]], [by_id[i] for i in training["validation_cases"]],
                              out, proposal=DEFAULT_PROPOSAL, seed=seed, log=lambda line: log(f"  {line}"))
    except InputError as error:
        log(f"  no second stage for this fold ({error}); its two-stage results are the U-Net's alone")
        return None
    return load_model(out.with_suffix(".json"))


def stages_markdown(one_stage: dict, two_stages: dict, untrained: list[str] = ()) -> str:
    """Two stages against the U-Net alone, per modality set and class, on the same test
    participants: a Table 3 with the rank-sum p-values against the U-Net alone, and the folds
    (`untrained`) whose second stage could not be trained."""
    rows = []
    for (task, inputs), per_participant in two_stages.items():
        for lesion_class in classes_for_task(task):
            title = f"{TASK_TITLES[task]}: {lesion_class.name}"
            rows.append(table3_row(title, f"{modality_name(inputs)}, U-Net alone", one_stage[(task, inputs)], lesion_class.label))
            rows.append(table3_row(title, f"{modality_name(inputs)}, two stages", per_participant, lesion_class.label, one_stage[(task, inputs)]))
    return (table3_markdown(rows) + "\n\n`*`: p < 0.05, two-sided Wilcoxon rank-sum test of the two-stage detector against the U-Net alone "
            "with the same modalities, on the same test participants.\n"
            + (f"\nNo second stage could be trained in {', '.join(untrained)}: the U-Net proposed no lesion in its training "
               "participants; there the two-stage rows repeat the U-Net's results.\n" if untrained else ""))


def _test_participant(model, case: TrainingCase, task: str, device: str, stages: int | None = None) -> dict:
    prediction = detect(case.inputs, model, device=device, stages=stages)
    reference = read_reference(case.labels, task)
    labels = [c.label for c in classes_for_task(task)]
    return evaluate_participant(prediction.labels, reference, classes=labels)


def write_results(results: dict, out: Path) -> None:
    from .figures import experiment_figures

    rows, table_rows, summary = [], [], {}
    for (task, inputs), per_participant in results.items():
        for participant, by_class in sorted(per_participant.items()):
            for label, r in by_class.items():
                rows.append({"task": task, "modalities": modality_name(inputs), "participant": participant, "class": label,
                             "tp": r.tp, "fp": r.fp, "fn": r.fn, "sensitivity": r.sensitivity, "precision": r.precision, "magnitude": r.magnitude})
    for task in dict.fromkeys(task for task, _ in results):
        for lesion_class in classes_for_task(task):
            baseline = results.get((task, ("swi",)))
            for (t, inputs), per_participant in results.items():
                if t != task:
                    continue
                against = baseline if inputs != ("swi",) else None
                row = table3_row(f"{TASK_TITLES[task]}: {lesion_class.name}", modality_name(inputs), per_participant, lesion_class.label, against)
                table_rows.append(row)
                summary[f"{task}|{modality_name(inputs)}|{lesion_class.key}"] = {
                    "sensitivity": row.summary["sensitivity"].mean, "precision": row.summary["precision"].mean,
                    "magnitude_accuracy": row.summary["magnitude_accuracy"], "false_positives_per_participant": row.summary["false_positives_per_participant"].mean,
                    "p_values": row.p_values,
                }
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, list(rows[0]) if rows else ["task"], lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: (round(v, 4) if isinstance(v, float) and not np.isnan(v) else ("" if isinstance(v, float) else v)) for k, v in row.items()} for row in rows)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "per_participant.csv", buffer.getvalue())
    note = "\n\n`*`: p < 0.05, two-sided Wilcoxon rank-sum test against the SWI-only model of the same task. Magnitude: mean of per-participant sqrt(S^2 + P^2).\n"
    write_text_atomic(out / "table3.md", table3_markdown(table_rows) + note)
    write_json_atomic(out / "results.json", summary)
    experiment_figures(results, out, TASK_TITLES, modality_name)
