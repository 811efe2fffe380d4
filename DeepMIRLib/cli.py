"""The `deepmir` command line.

    deepmir predict   detect microbleeds and iron deposits in one participant or a cohort
    deepmir evaluate  compare predictions with reference labels (the paper's metrics)
    deepmir info      print a model card
    deepmir datastore list the cases of a training set (datastore)

Exit status: 0 success; 2 bad input or options, or a file that cannot be read or written
(one line naming the file or option and the problem; nothing half-written is left); 1 an
unexpected error (one line; DEEPMIR_DEBUG=1 shows the traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from tqdm import tqdm

from . import __version__
from .atomic import check_output_folder
from .echotime import ECHO_TIME_RANGE_MS
from .errors import Cancelled, DeepMIRError, InputError
from .onnxrt import RUNTIMES
from .options import MAX_BASE_WIDTH, argument, canvas, device, positive_number, probability, real_number, whole_number
from .secondstagespec import SecondStageSpec

EXIT_INPUT = 2
DICOM_SEG_FILE = "seg.dcm"  # dicomseg.SEG_FILE, named here so --help does not import highdicom

PREDICT_EPILOG = """\
inputs:
  One participant from files:   deepmir predict --model M --swi swi.nii.gz --qsm qsm.nii.gz --t2 t2.nii.gz --out results/sub-01
  One participant folder:       deepmir predict --model M --input sub-01/ --out results/
  A folder of participants:     deepmir predict --model M --input cohort/ --out results/
A participant folder holds swi, qsm, t2 and (optionally) brainmask images: NIfTI (.nii,
.nii.gz), NRRD, MetaImage (.mha/.mhd) or a DICOM series folder of that name. Only the
modalities the model needs are read. Without a brain mask, one is computed from SWI
(a foreground mask: fine for skull-stripped images, a head mask otherwise).

outputs (per participant folder, written all-or-nothing):
  labels.nii.gz      0 background, 1 cerebral microbleed, 2 iron deposit, on the SWI grid
  prob_<class>.nii.gz  probability map per class, on the SWI grid
  lesions.tsv        one row per lesion: class, voxels, volume (mm3), centroid in voxel
                     indices and in LPS mm, max/mean probability, bounding box, hemisphere
  prediction.json    model, inputs, notes (registration, resampling, computed mask)
and for --input, cohort.tsv in --out: lesion counts and volumes per participant.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepmir",
        description="DeepMIR: detection of cerebral microbleeds and iron deposits in SWI, QSM and T2 MRI (research use only).",
    )
    parser.add_argument("--version", action="version", version=f"deepmir {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    predict = commands.add_parser(
        "predict",
        help="detect lesions in one participant or a folder of participants",
        description="Detect cerebral microbleeds and iron deposits with a DeepMIR model.",
        epilog=PREDICT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument("--model", default="default", help="model card (.json) or weights (.safetensors) path, or a registry id (default: the registry's default model, trained on simulated data)")
    source = predict.add_argument_group("input (either --input or --swi with optional --qsm/--t2/--mask)")
    source.add_argument("--input", type=Path, help="a participant folder or a folder of participant folders")
    source.add_argument("--swi", type=Path, help="SWI image (file or DICOM folder)")
    source.add_argument("--qsm", type=Path, help="QSM image, on the SWI grid (resampled onto it if not)")
    source.add_argument("--t2", type=Path, help="T2-weighted image (rigidly registered to SWI if on another grid)")
    source.add_argument("--mask", type=Path, help="brain mask (computed from SWI when not given)")
    source.add_argument("--id", dest="participant_id", help="participant id for --swi input (default: the --out folder name)")
    source.add_argument("--swi-echo-time", type=argument(real_number, low=ECHO_TIME_RANGE_MS[0], high=ECHO_TIME_RANGE_MS[1]), metavar="MS",
                        help="the SWI's echo time in ms, for a model whose second stage takes it (default: from the JSON sidecar "
                             "beside each SWI, EchoTime in seconds, as BIDS and dcm2niix write it; where both are there they must agree)")
    predict.add_argument("--out", type=Path, required=True, help="output folder (for --input: one sub-folder per participant)")
    processing = predict.add_argument_group("processing")
    processing.add_argument("--device", type=argument(device), default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N (default: auto)")
    processing.add_argument("--batch-size", type=argument(whole_number, minimum=1), default=8, help="slices per network batch (default: 8)")
    processing.add_argument("--canvas", type=argument(canvas), default="auto", help="'auto' (crop to the brain, sides rounded up to multiples of 32) or HxW with sides multiples of 32, e.g. 256x256 as in the paper (default: auto)")
    processing.add_argument("--threshold", type=argument(real_number, low=0.0, high=1.0, low_open=True), default=0.5, help="probability threshold of single-class models, in (0, 1] (default: 0.5)")
    processing.add_argument("--min-size", type=argument(whole_number, minimum=1), default=1, help="drop lesions smaller than this many voxels (default: 1)")
    processing.add_argument("--min-probability", type=argument(probability), default=None,
                            help="drop lesions whose highest probability stays below this (default: the model card's "
                                 "calibrated values, see `deepmir calibrate`; 0 keeps every lesion)")
    processing.add_argument("--register", choices=("auto", "always", "never"), default="auto", help="rigid registration of T2 to SWI: auto = when T2 is on another grid (default: auto)")
    processing.add_argument("--n4", action="store_true", help="N4 bias-field correction of T2 before registration")
    processing.add_argument("--runtime", choices=RUNTIMES, default="auto",
                            help="run the networks with PyTorch, ONNX Runtime (CPU; the fast extra: pip install 'DeepMIRLib[fast]') "
                                 "or OpenVINO (CPU; the openvino extra: pip install 'DeepMIRLib[openvino]'): openvino in bfloat16 where "
                                 "the CPU has it, else float32 (labels may differ at lesion borders; recorded in prediction.json), "
                                 "openvino-f32 in float32; onnxruntime-int8 runs the U-Net from the model's int8 file (deepmir "
                                 "quantize; recorded in prediction.json); auto = ONNX Runtime on the CPU when installed, never "
                                 "int8 nor OpenVINO (default: auto)")
    processing.add_argument("--stages", type=int, choices=(1, 2), default=None,
                            help="1: the U-Net alone; 2: the U-Net proposes candidates and the model's second stage (a 3-D "
                                 "classifier) keeps, relabels or removes each (default: 2 when the model has a second stage)")
    predict.add_argument("--overwrite", action="store_true", help="replace existing participant output folders")
    predict.add_argument("--stop-on-error", action="store_true", help="for a cohort: stop at the first participant that fails")
    predict.add_argument("--dicom-seg", action="store_true",
                         help=f"when SWI is a DICOM series folder, also write the result as a DICOM Segmentation referencing it "
                              f"({DICOM_SEG_FILE} in the participant's folder; needs the dicom extra: pip install 'DeepMIRLib[dicom]')")
    predict.add_argument("--bids-derivatives", action="store_true",
                         help="write --out as a BIDS derivatives dataset (dseg, probseg, lesion tables with JSON sidecars) "
                              "instead of one folder per participant")
    cluster = predict.add_argument_group(
        "cohort on a Dask cluster (needs the cohort extra: pip install 'DeepMIRLib[cohort]')",
        "Without these, participants run one after another in this process. A participant whose folder in --out "
        "holds a result of the same model and settings is skipped, so a stopped run continues where it was.")
    cluster.add_argument("--workers", type=int, metavar="N", help="run participants on a local Dask cluster of N worker processes (one thread each)")
    cluster.add_argument("--scheduler", metavar="ADDRESS", help="run participants on an existing Dask cluster, e.g. tcp://node1:8786 "
                                                                 "(inputs, outputs and model on a file system its workers share)")
    predict.set_defaults(handler=run_predict)

    evaluate = commands.add_parser(
        "evaluate",
        help="compare predicted with reference label maps (sensitivity, precision, ...)",
        description=(
            "Per-participant detection metrics of the paper (section 2.5): 3-D connected components "
            "(26-connectivity), centroids matched one-to-one within a tolerance by optimal assignment; "
            "and a cohort summary like the paper's Table 3."
        ),
        epilog=(
            "layouts: PRED/<participant>/labels.nii.gz (deepmir predict output); REF/<participant>/labels.<ext> "
            "(simulator) or REF/<participant>.<ext> (datastore labels/final). Participants are paired by name."
        ),
    )
    evaluate.add_argument("--prediction", type=Path, required=True, help="folder of predictions")
    evaluate.add_argument("--reference", type=Path, required=True, help="folder of reference label maps")
    evaluate.add_argument("--baseline", type=Path, help="predictions of a baseline model (e.g. SWI only): rank-sum test against it, * where p < 0.05")
    evaluate.add_argument("--task", choices=("multiclass", "cmb", "iron", "union"), default="multiclass", help="which classes to score (default: multiclass = CMB and iron separately)")
    evaluate.add_argument("--unit", choices=("voxel", "mm"), default="voxel", help="unit of the matching tolerances (default: voxel, as in the paper)")
    evaluate.add_argument("--tolerance-cmb", type=argument(positive_number), default=None, help="centroid distance for a CMB match, above 0 (default: 3 voxels; required with --unit mm)")
    evaluate.add_argument("--tolerance-iron", type=argument(positive_number), default=None, help="centroid distance for an iron deposit match, above 0 (default: 5 voxels; required with --unit mm)")
    evaluate.add_argument("--label", default="", help="model name for the summary table's Modalities column")
    evaluate.add_argument("--out", type=Path, required=True, help="folder for per_participant.csv, summary.md and summary.json")
    evaluate.set_defaults(handler=run_evaluate)

    calibrate = commands.add_parser(
        "calibrate",
        help="choose a model's minimum lesion probability on participants it was not trained on",
        description=(
            "Run the model over participants with reference labels that it never saw in training or validation, "
            "choose per class the lowest minimum lesion probability with the best F1 (TP, FP, FN summed over the "
            "participants, matched as in the paper), and write a copy of the model whose card carries it as "
            "predict's default (postprocessing) together with the table it was chosen from. With a two-stage model "
            "it also chooses the second stage's minimum probability per class on the same participants "
            "(second_stage.min_probability, with its table in second_stage.calibration); with one classifier per "
            "class, each classifier's only for the class it decides."
        ),
    )
    calibrate.add_argument("--model", default="default", help="model card path or registry id (default: the registry's default model)")
    calibrate.add_argument("--data", type=Path, required=True, help="folder of simulated participants, or a datastore (labels/final)")
    calibrate.add_argument("--out", type=Path, required=True, help="path of the calibrated model, without suffix")
    calibrate.add_argument("--version", help="version of the calibrated model (default: the model's version)")
    calibrate.add_argument("--device", type=argument(device), default="auto", help="auto, cpu, cuda (default: auto)")
    calibrate.set_defaults(handler=run_calibrate)

    simulate = commands.add_parser(
        "simulate",
        help="simulate participants: SWI, QSM, T2 with microbleeds, iron deposits and mimics",
        description=(
            "Simulate multimodal phantoms from physics on the MNI152 2009a anatomy: susceptibility and "
            "relaxation maps, microbleeds and iron deposits (labels 1 and 2), veins, calcifications and "
            "enlarged perivascular spaces (mimics 1, 2, 3), multi-echo GRE at 3 T -> SWI and QSM, and a "
            "misaligned T2 with a bias field. Simulated data: not for clinical conclusions."
        ),
        epilog=(
            "outputs: OUT/sim-<seed>-<i>/{swi,qsm,t2,labels,mimics,brainmask,chi}.nii.gz, swi.json (EchoTime) and manifest.json "
            "(every lesion and mimic: kind, centre in LPS mm, size, susceptibility; the protocol), and OUT/participants.tsv. "
            "The same --seed gives the same bytes. "
            "--vary-protocol draws each participant's protocol from its own stream of (seed, i), uniformly: in-plane voxel "
            "0.6-1.2 mm (square; smaller left out for cost), slices 1-3 mm with voxels of at least 0.5 mm3 (cost: about "
            "6 GB and 70 s at the smallest), grid size for a field of view of about 192 x 256 x 156 mm, 3-5 echoes, first echo 5-15 ms, "
            "echo spacing 5-10 ms, B0 tilted 0-20 degrees from the slice normal towards any azimuth, noise scale 0.8-2.5, "
            "GRE bias amplitude 0-0.3; the draw is written to manifest.json and participants.tsv. "
            "A held-out protocol outside these ranges (first echo 20 ms): docs/simulation.md."
        ),
    )
    simulate.add_argument("--n", type=argument(whole_number, minimum=1), default=1, help="number of participants (default: 1)")
    simulate.add_argument("--seed", type=argument(whole_number, minimum=0), default=0, help="cohort seed; participant i uses (seed, i) (default: 0)")
    simulate.add_argument("--out", type=Path, required=True, help="output folder")
    simulate.add_argument("--load", choices=("paper", "dense", "hard"), default="paper",
                          help="lesion load: 'paper' follows Table 2; 'dense' has more lesions, for training; 'hard' is dense with half "
                               "the iron deposits in the putamen and more calcifications, most in the choroid plexus (default: paper)")
    simulate.add_argument("--slab", type=argument(whole_number, minimum=4), default=None, metavar="SLICES", help="fast mode: only this many slices through the basal ganglia")
    simulate.add_argument("--size", type=argument(whole_number, minimum=4), nargs=3, default=None, metavar=("X", "Y", "Z"), help="SWI grid size in voxels (default: 192 256 104)")
    simulate.add_argument("--spacing", type=argument(positive_number), nargs=3, default=None, metavar=("X", "Y", "Z"), help="SWI voxel size in mm (default: 1 1 1.5)")
    simulate.add_argument("--echo-times", type=argument(positive_number), nargs="+", default=None, metavar="MS", help="GRE echo times in ms (default: 7.5 15 22.5 30)")
    simulate.add_argument("--b0", type=argument(real_number), nargs=3, default=None, metavar=("X", "Y", "Z"), help="B0 direction in LPS (default: 0 0 1)")
    simulate.add_argument("--noise-scale", type=argument(real_number, low=0.0), default=None, metavar="F",
                          help="multiply the noise of the GRE (SD 0.015, PD of CSF 1) and the T2 (SD 0.008) by F; 0: none (default: 1)")
    simulate.add_argument("--gre-bias", type=argument(real_number, low=0.0, high=1.0), default=None, metavar="A",
                          help="smooth multiplicative receive (bias) field on the GRE signal, hence on SWI's magnitude, of amplitude A "
                               "in [0, 1] (0.2: about +-20 %%, as the T2's); the phase and QSM are not changed (default: 0, none)")
    simulate.add_argument("--vary-protocol", action="store_true",
                          help="draw each participant's voxel size, grid size, echo times, B0 tilt, noise scale and GRE bias "
                               "(ranges below); not with --size, --spacing, --echo-times, --b0, --noise-scale or --gre-bias")
    simulate.add_argument("--overwrite", action="store_true", help="replace existing participant folders")
    simulate.set_defaults(handler=run_simulate)

    train = commands.add_parser(
        "train",
        help="train a model on simulated participants or a datastore",
        description=(
            "Train the DeepMIR U-Net (paper 2.4, S3.2): 75/25 split by participant, lesion slices plus as many "
            "lesion-free slices per epoch, on-the-fly augmentation, best validation IoU epoch kept. Writes "
            "OUT.safetensors and OUT.json (model card), and a resumable OUT.checkpoint.* after every epoch. "
            "Under torchrun, trains data-parallel (gloo on CPU, NCCL on GPU)."
        ),
    )
    train.add_argument("--data", type=Path, required=True, help="folder of simulated participants, or a datastore (labels/final)")
    train.add_argument("--out", type=Path, required=True, help="model path without suffix, e.g. models/deepmir-mc")
    train.add_argument("--inputs", nargs="+", default=["swi", "qsm", "t2"], choices=("swi", "qsm", "t2"), help="modalities in order, SWI first (default: swi qsm t2)")
    train.add_argument("--task", choices=("multiclass", "cmb", "iron", "union"), default="multiclass", help="label task (default: multiclass)")
    _add_training_options(train)
    train.add_argument("--name", default=None, help="model name for the card (default: the --out file name)")
    train.add_argument("--version", default="0.1.0", help="model version for the card (default: 0.1.0)")
    train.add_argument("--resume", action="store_true", help="continue from OUT.checkpoint.* if present")
    train.add_argument("--fine-tune", default=None, metavar="MODEL",
                       help="start from this model's U-Net (card, weights or registry id, e.g. default) instead of fresh weights; "
                            "its inputs, task and --width must match. Its validation IoU counts as epoch 0's")
    train.set_defaults(handler=run_train)

    experiment = commands.add_parser(
        "experiment",
        help="the paper's cross-validated experiments: modality sets x tasks, Table 3, figures",
        description=(
            "Cross-validation over participants (leave-one-out or K folds) for every modality set and label task: "
            "per-participant metrics (per_participant.csv), a Table 3 in Markdown (table3.md, * where the rank-sum "
            "test against the SWI-only model gives p < 0.05), results.json and the paper's figures (PNG)."
        ),
    )
    experiment.add_argument("--data", type=Path, required=True, help="folder of simulated participants, or a datastore")
    experiment.add_argument("--out", type=Path, required=True, help="output folder")
    experiment.add_argument("--modalities", nargs="+", default=["swi", "swi+qsm", "swi+t2", "swi+qsm+t2"], help="modality sets, e.g. swi swi+qsm (default: the paper's four)")
    experiment.add_argument("--tasks", nargs="+", default=["multiclass"], choices=("multiclass", "cmb", "iron", "union"), help="label tasks (default: multiclass)")
    experiment.add_argument("--folds", type=argument(_folds), default="loo", help="'loo' (leave-one-out, the paper) or a number of folds, at least 2 (default: loo)")
    experiment.add_argument("--two-stages", action="store_true",
                            help="also give each fold's multiclass U-Net a second stage (trained on its training participants' candidates, "
                                 "calibrated on its validation participants) and compare the two (two-stages/, stages.md)")
    experiment.add_argument("--resume", action="store_true",
                            help="reuse each fold's model already in OUT/models when it was trained on the same participants with the same settings")
    experiment.add_argument("--exclude-outliers", action="store_true", help="supplementary S4: drop participants whose number of microbleeds lies above the 99th percentile of a beta fit to the other participants' counts (at least 8 participants)")
    _add_training_options(experiment)
    experiment.set_defaults(handler=run_experiment_command)

    demo = commands.add_parser(
        "demo",
        help="simulate a participant, detect lesions with the default model, compare with the truth",
        description=(
            "The main job on built-in defaults: simulate one participant (fixed seed), run the bundled default "
            "model (trained on simulated data only), compare with the simulated truth, and write the label map, "
            "lesion table and a QC figure."
        ),
    )
    demo.add_argument("--out", type=Path, default=Path("deepmir-demo"), help="output folder (default: ./deepmir-demo)")
    demo.add_argument("--seed", type=argument(whole_number, minimum=0), default=7, help="simulation seed (default: 7: 3 microbleeds, 4 iron deposits)")
    demo.add_argument("--model", default="default", help="model file or registry id (default: the registry's default)")
    demo.add_argument("--device", type=argument(device), default="auto", help="auto, cpu, cuda (default: auto)")
    demo.set_defaults(handler=run_demo)

    datastore = commands.add_parser(
        "datastore",
        help="list the cases of a training set (datastore): status, versions, annotator, changes",
        description=(
            "List the cases of a DeepMIR datastore: the newest save's status, annotator, time and model, the number "
            "of saved versions, the version training reads (the newest approved one) and what the reader changed "
            "relative to the model output (lesions kept, relabelled, added, deleted)."
        ),
        epilog="layout and index format: see 'Training set (datastore)' in README.md",
    )
    datastore.add_argument("root", type=Path, help="datastore folder (holds datastore.json)")
    datastore.add_argument("--json", action="store_true", help="print the rows as JSON")
    datastore.set_defaults(handler=run_datastore)

    review = commands.add_parser(
        "review",
        help="the reading station in the browser: detect, correct and approve cases into a training set",
        description=(
            "Serve the reading station (needs the web extra: pip install 'DeepMIRLib[web]'): a worklist of the cases of "
            "a cohort folder or a datastore, their SWI, QSM and T2 in linked views, the detection run in the background, "
            "the lesions as segments and a table, deleting, relabelling, painting and erasing, and approval as a new "
            "version of the case in the training set. Prints the URL to open."
        ),
        epilog=(
            "Bound to 127.0.0.1 by default. On any other address the printed URL carries a random access token, and "
            "requests without it are refused. Only the cases listed at start-up can be opened. One server is one "
            "reading station: several readers run one each (on their own ports) against the same training set; two "
            "approvals of one case make two versions."
        ),
    )
    review.add_argument("source", type=Path, metavar="COHORT_OR_DATASTORE",
                        help="a participant folder, a folder of participant folders, or a datastore (holds datastore.json)")
    review.add_argument("--datastore", type=Path, required=True, metavar="TRAININGSET",
                        help="training set that approvals are saved to (created at the first approval)")
    review.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default: 8080)")
    review.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                        help="address to bind (default: 127.0.0.1; any other address requires the access token)")
    review.add_argument("--model", default="default", help="model file or registry id (default: the registry's default)")
    review.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    review.set_defaults(handler=run_review)

    quantize = commands.add_parser(
        "quantize",
        help="add an int8 U-Net for ONNX Runtime to a model (--runtime onnxruntime-int8)",
        description=(
            "Quantize a model's U-Net to int8 for ONNX Runtime (static QDQ quantization: weights int8 per channel, "
            "activations uint8 with ranges measured on the brain slices of --participants participants of --data, "
            "prepared as a detection prepares them; the output head stays float32) and save a copy of the model at "
            "--out whose card names the int8 file and its sha256. Run it with --runtime onnxruntime-int8. Needs the "
            "fast extra: pip install 'DeepMIRLib[fast]'."
        ),
        epilog="calibrate on participants apart from those you evaluate on; the accuracy and speed measured: BENCHMARKS.md",
    )
    quantize.add_argument("--model", default="default", help="model file or registry id (default: the registry's default)")
    quantize.add_argument("--data", type=Path, required=True, metavar="COHORT",
                          help="folder of participant folders (e.g. from deepmir simulate); the first --participants, by name, calibrate")
    quantize.add_argument("--out", type=Path, required=True, help="the quantized model's card (.json) or stem; the .int8.onnx file goes beside it")
    quantize.add_argument("--participants", type=argument(whole_number, minimum=1), default=4,
                          help="how many participants of --data calibrate (default: 4)")
    quantize.add_argument("--threads", type=argument(whole_number, minimum=0), default=0,
                          help="ONNX Runtime threads for the calibration runs (default: 0, one per core)")
    quantize.set_defaults(handler=run_quantize)

    info = commands.add_parser("info", help="print a model card", description="Print the model card of a model file or registry id.")
    info.add_argument("model", help="model card (.json), weights (.safetensors) or registry id")
    info.add_argument("--json", action="store_true", help="print the card as JSON")
    info.add_argument("--check", action="store_true", help="also load the weights and check them against the card")
    info.set_defaults(handler=run_info)
    return parser


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by train and experiment (see training.TrainingConfig)."""
    group = parser.add_argument_group("training")
    group.add_argument("--width", type=argument(whole_number, minimum=1, maximum=MAX_BASE_WIDTH), default=16, help="U-Net base width (default: 16, see BENCHMARKS.md)")
    group.add_argument("--epochs", type=argument(whole_number, minimum=1), default=30, help="epochs (default: 30)")
    group.add_argument("--batch-size", type=argument(whole_number, minimum=1), default=16, help="slices per batch (default: 16)")
    group.add_argument("--crop", type=argument(whole_number, minimum=0), default=128, help="training crop size, a multiple of 32; 0 for whole slices (default: 128)")
    group.add_argument("--learning-rate", type=argument(positive_number), default=1e-3, help="Adam learning rate, above 0 (default: 1e-3)")
    group.add_argument("--cosine", action="store_true",
                       help="decay the learning rate along half a cosine to 1/20 of it by the last epoch "
                            "(default: constant, as in the paper)")
    group.add_argument("--dice-weight", type=argument(real_number, low=0.0), default=1.0, help="weight of the soft Dice term added to cross-entropy; 0 for plain cross-entropy (default: 1)")
    group.add_argument("--copies", type=argument(whole_number, minimum=1), default=4, help="augmented copies of every lesion slice per epoch (default: 4)")
    group.add_argument("--mimic-fraction", type=argument(probability), default=0.0,
                       help="share of the lesion-free slices drawn around simulated mimics (veins, calcifications, "
                            "perivascular spaces; needs mimics maps, i.e. simulated participants); 0 draws them at "
                            "random as the paper did (default: 0)")
    group.add_argument("--seed", type=argument(whole_number, minimum=0), default=0, help="seed of split, sampling and augmentation (default: 0)")
    group.add_argument("--device", type=argument(device), default="auto", help="auto, cpu, cuda (default: auto)")
    group.add_argument("--threads", type=argument(whole_number, minimum=0), default=0,
                       help="CPU threads for PyTorch (default: 0, PyTorch's choice of one per core); on a machine "
                            "shared with other jobs fewer threads train faster (BENCHMARKS.md)")
    cache = group.add_mutually_exclusive_group()
    cache.add_argument("--cache", type=Path, default=None, metavar="DIR",
                       help="folder of prepared cases (aligned, reoriented, normalised), reused while their files and the "
                            "preprocessing are unchanged (default: train: $XDG_CACHE_HOME/deepmir/cases or "
                            "~/.cache/deepmir/cases; experiment: OUT/cache)")
    cache.add_argument("--no-cache", action="store_true", help="prepare every case from its files and keep nothing on disk")


def _folds(value, name: str):
    """--folds: 'loo', or a number of folds (at least 2)."""
    return value if value == "loo" else whole_number(value, name or "--folds", minimum=2)


def _training_config(args, inputs=("swi", "qsm", "t2"), task="multiclass"):
    from .training import TrainingConfig

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    return TrainingConfig(tuple(inputs), task, args.width, args.epochs, args.batch_size, args.crop or None,
                          args.learning_rate, args.dice_weight, args.copies, args.seed, args.device,
                          mimic_fraction=args.mimic_fraction, cosine_schedule=args.cosine)


def _case_cache(args, default_folder: Path, keep_in_memory: bool = False, log=None):
    """The cache of prepared cases that --cache / --no-cache ask for."""
    from .casecache import CaseCache

    return CaseCache(None if args.no_cache else args.cache or default_folder, keep_in_memory, log=log)


# --- predict --------------------------------------------------------------------------------

def _parse_canvas(text):
    """'auto' or (height, width): the parser has checked it (options.canvas)."""
    return canvas(text)


def _detection_options(args):
    from .cohort import DetectionOptions

    options = DetectionOptions(args.device, args.batch_size, _parse_canvas(args.canvas), args.threshold, args.min_size,
                               args.min_probability, args.register, args.n4, args.runtime, args.stages)
    options.check()
    return options


def _single_participant(args):
    from .pipeline import ParticipantInputs

    if args.swi is None:
        raise InputError(None, "no input: give --input FOLDER or --swi FILE")
    for path in (args.swi, args.qsm, args.t2, args.mask):
        if path is not None and not path.exists():
            raise InputError(path, "file not found")
    return ParticipantInputs(args.participant_id or args.out.name, args.swi, args.qsm, args.t2, args.mask, args.swi_echo_time)


def run_predict(args) -> int:
    check_output_folder(args.out)

    options = _detection_options(args)
    if args.input is not None and args.swi is not None:
        raise InputError("--input", "give either --input or --swi, not both")
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers", f"{args.workers} is not a number of worker processes (at least 1)")
    if args.workers is not None and args.scheduler is not None:
        raise InputError("--workers", "give either --workers (a local cluster) or --scheduler (an existing one), not both")
    if args.input is None:
        if args.bids_derivatives:
            raise InputError("--bids-derivatives", "needs --input (a folder of participants or a BIDS dataset)")
        participant = _single_participant(args)
        if args.dicom_seg and not participant.swi.is_dir():
            raise InputError("--dicom-seg", f"SWI {participant.swi} is not a DICOM series folder")
        return _predict_one(participant, _model_for_runtime(args), options, args)
    tasks, layout = _cohort_tasks(args)
    if args.swi_echo_time is not None:
        tasks = [dataclasses.replace(task, inputs=dataclasses.replace(task.inputs, swi_echo_time_ms=args.swi_echo_time))
                 if task.inputs is not None else task for task in tasks]
    return _predict_cohort(tasks, _model_for_runtime(args), options, args, layout)


def _model_for_runtime(args):
    """The model of --model, refused before any participant when --runtime needs what it lacks
    (onnxruntime-int8 without an int8 file)."""
    from .modelfile import load_model
    from .onnxrt import check_model

    model = load_model(args.model)
    check_model(model, args.runtime)
    return model


def _cohort_tasks(args):
    """The participants of --input (a BIDS dataset, or participant folders) and the layout of
    their results (DeepMIR's folders, or a BIDS derivatives dataset)."""
    from . import bids
    from .cohort import folder_tasks

    source = args.input if bids.is_bids_dataset(args.input) else None
    if source is not None:
        tasks = bids.bids_tasks(args.input, args.out, derivatives=args.bids_derivatives)
    else:
        tasks = folder_tasks(args.input, args.out)
        if args.bids_derivatives:
            tasks = bids.as_derivatives(tasks, args.out)
    if args.bids_derivatives:
        if args.dicom_seg:
            raise InputError("--dicom-seg", "is written in DeepMIR's participant folders, not with --bids-derivatives")
        return tasks, bids.DerivativesLayout(source)
    from .cohort import FolderLayout

    return tasks, FolderLayout(dicom_seg=args.dicom_seg)


def _predict_one(participant, model, options, args) -> int:
    from .pipeline import detect
    from .results import write_detection

    with tqdm(desc=participant.participant_id, unit="slice", leave=False) as bar:
        def progress(done, total):
            bar.total = total
            bar.n = done
            bar.refresh()

        detection = detect(participant, model, **options.detect_arguments(), progress=progress)
    extra = None
    if args.dicom_seg:
        from .dicomseg import SEG_FILE, write_dicom_seg

        def extra(folder):
            write_dicom_seg(detection, participant.swi, folder / SEG_FILE)
    write_detection(detection, args.out, overwrite=args.overwrite, extra=extra)
    for note in detection.notes:
        print(f"{participant.participant_id}: {note}")
    print(f"{participant.participant_id}: {_describe_counts(detection.lesion_counts())} -> {args.out}")
    return 0


def _predict_cohort(tasks, model, options, args, layout=None) -> int:
    from .cohort import COHORT_TABLE, DaskRunner, run_cohort

    runner = DaskRunner(args.workers, args.scheduler) if args.workers or args.scheduler else None
    note = runner.trim_threshold_note() if runner is not None else None
    if note:
        print(f"deepmir predict: note: {note}", file=sys.stderr)
    bar = tqdm(total=len(tasks), desc="participants", unit="participant")
    folders = {task.participant_id: task.out_dir for task in tasks}

    def report(outcome, done, total):
        if outcome.status == "error":
            tqdm.write(f"deepmir predict: error: {outcome.message}", file=sys.stderr)
        elif outcome.status == "skipped":
            tqdm.write(f"{outcome.participant_id}: skipped (its result for this model and these settings is there)")
        else:
            for note in outcome.notes:
                tqdm.write(f"{outcome.participant_id}: {note}")
            tqdm.write(f"{outcome.participant_id}: {_describe_counts(outcome.row)} -> {folders[outcome.participant_id]}")
        bar.update(1)

    try:
        outcomes = run_cohort(tasks, model, options, args.out, overwrite=args.overwrite, stop_on_error=args.stop_on_error,
                              runner=runner, on_outcome=report, layout=layout)
    finally:
        bar.close()
        if runner is not None:
            runner.close()
    failures = sum(outcome.status == "error" for outcome in outcomes)
    skipped = sum(outcome.status == "skipped" for outcome in outcomes)
    print(f"cohort table: {args.out / COHORT_TABLE} ({len(outcomes) - failures - skipped} done, {skipped} skipped, {failures} failed)")
    return EXIT_INPUT if failures else 0


def _describe_counts(counts: dict) -> str:
    return ", ".join(f"{counts.get(f'n_{key}', 0)} {name}" for key, name in (("cmb", "CMB"), ("iron", "iron deposits"), ("lesion", "lesions")) if f"n_{key}" in counts)


# --- evaluate -------------------------------------------------------------------------------

def run_evaluate(args) -> int:
    from .evaluation import evaluate_cohort, task_tolerances

    check_output_folder(args.out)
    with tqdm(desc="evaluate", unit="participant", leave=False) as bar:
        def progress(done, total):
            bar.total = total
            bar.n = done
            bar.refresh()

        evaluation = evaluate_cohort(
            args.prediction, args.reference, args.task, task_tolerances(args.task, args.tolerance_cmb, args.tolerance_iron),
            args.unit, args.baseline, args.label, progress,
        )
    evaluation.write(args.out)
    print(evaluation.report())
    print(f"{len(evaluation.results)} participants; per-participant metrics in {args.out / 'per_participant.csv'}, "
          f"every lesion's outcome in {args.out / 'lesions.csv'}")
    return 0


# --- simulate -------------------------------------------------------------------------------

def run_calibrate(args) -> int:
    import dataclasses

    from .calibration import calibrate
    from .modelfile import load_model, save_model
    from .training import find_training_cases

    check_output_folder(args.out.parent)
    model = load_model(args.model)
    cases = find_training_cases(args.data)
    seen = set(model.card.training.get("training_cases", [])) | set(model.card.training.get("validation_cases", []))
    reused = sorted(seen & {c.case_id for c in cases})
    if reused:
        raise InputError(args.data, f"holds participants the model was trained or validated on ({', '.join(reused)}); calibrate on others")
    specs = model.card.second_stages
    # the classifiers that run together: for short (or unknown) echo times, and from each long-echo classifier's
    for echo_time in (None, *(spec.echo_times["from_ms"] for spec in specs if spec.echo_times and "from_ms" in spec.echo_times)):
        decided = [key for spec in specs if spec.applies_to(echo_time) for key in spec.decided_keys()]
        if len(set(decided)) != len(decided):  # each classifier's minimums are chosen on its own, not for lesions two of them add up
            raise InputError(args.model, f"its second-stage classifiers decide {decided}: calibrate does not choose minimums for a "
                                         "class two classifiers decide; set them in the card")
    if any(spec.second_opinion for spec in specs):  # the minimums would be chosen without the lesions the opinion adds
        raise InputError(args.model, "a second-stage classifier takes a second opinion (second_opinion): calibrate does not choose "
                                     "minimums for it; set them in the card")
    rows = [[] for _ in specs]  # per second-stage classifier, the cases' scores
    on_detection = None
    if model.has_second_stage:  # the second stage is scored from the same one-stage detection: the U-Net runs once per case
        from .secondstage import calibrate_second_stage, check_standard_echo_times, score_classifiers, unet_arrays

        # read once, before any work: refused where a long-echo rule applies; each classifier is scored on the cases
        # whose echo time it runs for (echo_times)
        echo_times = ({case.case_id: case.inputs.echo_time() for case in cases}
                      if any(spec.echo_times or spec.long_echo for spec in specs) else {})
        check_standard_echo_times(specs, cases, echo_times)

        def on_detection(case, detection):
            running = [index for index, spec in enumerate(specs) if spec.applies_to(echo_times.get(case.case_id))]
            for index, row in score_classifiers(case, unet_arrays(detection, model), model, running).items():
                rows[index].append(row)
    with tqdm(desc="calibrate", unit="participant", total=len(cases), leave=False) as bar:
        result = calibrate(model, cases, args.device, progress=lambda done, total: bar.update(done - bar.n), on_detection=on_detection)
    if model.has_second_stage:
        for index, spec in enumerate(specs):
            if not rows[index]:
                tqdm.write(f"second-stage classifier {index} ({spec.echo_times_text()}): no participant of these echo times; "
                           "its minimum probabilities are kept")
        specs = tuple(calibrate_second_stage(model, model.second_stage_network(index), spec, cases, log=tqdm.write, rows=rows[index])
                      if rows[index] else spec for index, spec in enumerate(specs))
    card = dataclasses.replace(
        model.card,
        version=args.version or model.card.version,
        second_stages=specs,
        postprocessing={**model.card.postprocessing, "min_lesion_probability": result["min_lesion_probability"]},
        training={**model.card.training, "calibration": {"data": str(args.data), **result}},
        weights_sha256="",
        created="",
    )
    _print_calibration_tables(result["tables"])
    print(f"chosen minimum lesion probability: {result['min_lesion_probability']}" + (" (the U-Net's, used with --stages 1)" if model.has_second_stage else ""))
    for index, spec in enumerate(specs):
        if not rows[index]:  # kept as it was (no participant of its echo times)
            continue
        which = f"second stage, deciding {', '.join(spec.decided_keys())}" + (f" {spec.echo_times_text()}" if spec.echo_times else "")
        _print_calibration_tables(spec.calibration["tables"], f", {which}")
        print(f"chosen minimum probability of the {which}: {spec.min_probability}")
    # the U-Net is unchanged, so its int8 file (deepmir quantize) still belongs to it
    print(f"model: {save_model(model.network, card, args.out, second_stage=model.second_stage_networks, int8=model.int8_file)}")
    return 0


def _print_calibration_tables(tables: dict, which: str = "") -> None:
    """Per class key, the calibration table's rows (minimum probability, TP, FP, FN,
    sensitivity, precision, F1)."""
    for key, rows in tables.items():
        print(f"{key}{which}: min probability -> TP FP FN sensitivity precision F1")
        for row in rows:
            print(f"  {row['min_probability']:.3g}: {row['tp']} {row['fp']} {row['fn']} {row['sensitivity']:.3f} {row['precision']:.3f} {row['f1']:.3f}")


def run_simulate(args) -> int:
    from .simulation.phantom import Protocol, check_protocol, simulate_cohort
    from .simulation.placement import LesionLoad

    check_output_folder(args.out)
    if args.n < 1:
        raise InputError("--n", "must be at least 1")
    overrides = {
        "slab_slices": args.slab,
        "swi_size": tuple(args.size) if args.size else None,
        "swi_spacing": tuple(args.spacing) if args.spacing else None,
        "echo_times_ms": tuple(args.echo_times) if args.echo_times else None,
        "b0_direction_lps": tuple(args.b0) if args.b0 else None,
        "noise_scale": args.noise_scale,
        "gre_bias_amplitude": args.gre_bias,
    }
    if args.vary_protocol:
        options = {"swi_size": "--size", "swi_spacing": "--spacing", "echo_times_ms": "--echo-times", "b0_direction_lps": "--b0",
                   "noise_scale": "--noise-scale", "gre_bias_amplitude": "--gre-bias"}
        given = [flag for key, flag in options.items() if overrides[key] is not None]
        if given:
            raise InputError("--vary-protocol", f"draws each participant's protocol: leave out {', '.join(given)}")
    protocol = check_protocol(Protocol(**{k: v for k, v in overrides.items() if v is not None}))
    with tqdm(total=args.n, desc="simulate", unit="participant") as bar:
        rows = simulate_cohort(args.n, args.seed, args.out, protocol, LesionLoad.named(args.load), args.overwrite, lambda done, total: bar.update(1),
                               vary_protocol=args.vary_protocol)
    cmb = sum(r["n_cmb"] for r in rows)
    iron = sum(r["n_iron"] for r in rows)
    print(f"{len(rows)} participants in {args.out} ({cmb} microbleeds, {iron} iron deposits); table: {args.out / 'participants.tsv'}")
    return 0


# --- train ----------------------------------------------------------------------------------

def epoch_progress(bar: tqdm):
    """The trainer's progress callback (slices done, slices in the epoch, mean loss) drawing
    each epoch on `bar` from zero: the bar starts again at an epoch's first batch, so its rate
    and time left are that epoch's, not diluted by case preparation, validation or earlier
    epochs (round 45 stopped a run on such an estimate)."""
    def progress(done: int, total: int, loss: float) -> None:
        if bar.total != total or done <= bar.n:  # within an epoch `done` only grows
            bar.reset(total=total)
        bar.n = done
        bar.set_postfix(loss=f"{loss:.4f}")
        bar.refresh()

    return progress


def run_train(args) -> int:
    from .casecache import default_cache_folder
    from .training import find_training_cases, train_model

    check_output_folder(args.out.parent)
    if args.inputs[0] != "swi":
        raise InputError("--inputs", "must start with swi")
    config = _training_config(args, args.inputs, args.task)
    fine_tune = None
    if args.fine_tune is not None:
        from .modelfile import load_model

        fine_tune = load_model(args.fine_tune)  # checked against the run by train_model, before any case is prepared
    cases = find_training_cases(args.data)
    name = args.name or args.out.name
    bar = tqdm(unit="slice", leave=False)
    print(f"training on {len(cases)} cases from {args.data}")
    cache = _case_cache(args, default_cache_folder(), log=tqdm.write)
    card_path = train_model(cases, config, args.out, name, args.version, f"{len(cases)} cases from {args.data.name}", args.resume,
                            epoch_progress(bar), tqdm.write, cache, fine_tune)
    bar.close()
    print(f"model: {card_path}")
    return 0


# --- experiment -----------------------------------------------------------------------------

def run_experiment_command(args) -> int:
    from .experiment import CACHE_FOLDER, outlier_cases, run_experiment
    from .training import find_training_cases

    check_output_folder(args.out)
    modality_sets = []
    for text in args.modalities:
        inputs = tuple(text.lower().split("+"))
        if inputs[0] != "swi" or not set(inputs) <= {"swi", "qsm", "t2"}:
            raise InputError("--modalities", f"{text!r}: a '+'-joined set of swi, qsm, t2 starting with swi")
        modality_sets.append(inputs)
    folds = args.folds if args.folds == "loo" else int(args.folds)
    cases = find_training_cases(args.data)
    if args.exclude_outliers:
        outliers = outlier_cases(cases)
        print(f"outliers (beta fit, 99th percentile of microbleed counts): {', '.join(outliers) or 'none'}")
        cases = [c for c in cases if c.case_id not in outliers]
    base = _training_config(args)
    cache = _case_cache(args, args.out / CACHE_FOLDER, keep_in_memory=True, log=tqdm.write)
    run_experiment(cases, modality_sets, args.tasks, folds, base, args.out, log=tqdm.write, cache=cache, two_stages=args.two_stages,
                   resume=args.resume)
    print((args.out / "table3.md").read_text(encoding="utf-8"))
    if args.two_stages:
        print((args.out / "stages.md").read_text(encoding="utf-8"))
    return 0


# --- demo -----------------------------------------------------------------------------------

def run_demo(args) -> int:
    from .demo import run_demo as demo

    check_output_folder(args.out)
    return demo(args.out, args.seed, args.model, args.device)


# --- datastore ------------------------------------------------------------------------------

def run_datastore(args) -> int:
    from .datastore import Datastore

    rows = Datastore(args.root).summary()
    if args.json:
        print(json.dumps([row.to_dict() for row in rows], indent=2))
        return 0
    if not rows:
        print(f"{args.root}: no cases yet")
        return 0
    header = ["case", "status", "versions", "training", "annotator", "time", "model", "kept", "relabelled", "added", "deleted"]
    table = [header]
    for row in rows:
        model = row.model or {}
        changes = row.changes or {}
        table.append([
            row.case, row.status, str(row.versions),
            f"v{row.training_version}" if row.training_version else "-",
            row.annotator or "-", row.time,
            " ".join(str(model[key]) for key in ("name", "version") if model.get(key)) or "-",
            *(str(changes[kind]) if kind in changes else "-" for kind in header[-4:]),
        ])
    widths = [max(len(line[column]) for line in table) for column in range(len(header))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    training = sum(1 for row in rows if row.training_version)
    print(f"{len(rows)} case{'s' if len(rows) != 1 else ''}, {training} with an approved label (read by deepmir train)")
    return 0


# --- review ---------------------------------------------------------------------------------

def run_review(args) -> int:
    from .review.server import serve

    def announce(url: str) -> None:
        print(f"DeepMIR review: open {url}", flush=True)

    serve(args.source, args.datastore, host=args.host, port=args.port, model=args.model, device=args.device, announce=announce)
    return 0


# --- quantize -------------------------------------------------------------------------------

def run_quantize(args) -> int:
    from .quantize import quantize_model

    check_output_folder(args.out.parent)
    with tqdm(desc="calibrate", unit="participant", total=args.participants, leave=False) as bar:
        path = quantize_model(args.model, args.data, args.out, args.participants, args.threads or None,
                              progress=lambda participant: bar.update(1))
    from .modelfile import read_card

    spec = read_card(path).int8
    print(f"calibrated on {', '.join(spec.calibration['participants'])} ({spec.calibration['slices']} brain slices); "
          f"kept float32: {', '.join(spec.float32_nodes)}")
    print(f"int8 file: {path.parent / spec.file} (sha256 {spec.sha256})")
    print(f"model: {path}")
    return 0


# --- info -----------------------------------------------------------------------------------

def run_info(args) -> int:
    from .modelfile import load_model, read_card, resolve_model

    path = resolve_model(args.model)
    card = load_model(path).card if args.check else read_card(path)
    if args.json:
        print(json.dumps(card.to_dict(), indent=2))
        return 0
    a = card.architecture
    lines = [
        f"{card.name} {card.version}  ({path})",
        f"  task:          {card.task}",
        f"  inputs:        {', '.join(m.upper() for m in card.inputs)}",
        "  classes:       " + ", ".join(f"{c.label} {c.name} ({c.color})" for c in card.classes),
        f"  architecture:  {a.name}, {a.levels} levels, base width {a.base_width}, {a.head} head",
        f"  normalisation: {json.dumps(card.normalisation)}",
        f"  training:      {json.dumps(card.training) if card.training else 'not recorded'}",
        f"  metrics:       {json.dumps(card.metrics) if card.metrics else 'none recorded'}",
        f"  intended use:  {card.intended_use}",
        f"  weights:       sha256 {card.weights_sha256}" + ("  (checked)" if args.check else ""),
        f"  created:       {card.created} with deepmir {card.deepmir_version}",
    ]
    for spec in card.second_stages:
        lines.insert(-3, f"  second stage:  {second_stage_line(spec)}")
    if card.int8 is not None:
        lines.insert(-3, f"  int8 U-Net:    {card.int8.file} (sha256 {card.int8.sha256}; calibrated on "
                         f"{', '.join(card.int8.calibration.get('participants', [])) or 'not recorded'}; --runtime onnxruntime-int8)")
    if card.description:
        lines.insert(1, f"  {card.description}")
    print("\n".join(lines))
    return 0


def second_stage_line(spec: SecondStageSpec) -> str:
    """One line of `deepmir info` on the card's second stage (SecondStageSpec)."""
    proposal = f"lesion probabilities summing to >= {spec.proposal}" if spec.proposal else "the U-Net's arg-max"
    if spec.extrema:
        proposal += f", and SWI minima below {spec.extrema['swi_below']:g} SD beside QSM above {spec.extrema['qsm_above']:g} SD"
    minimum = ", ".join(f"{key} {value}" for key, value in spec.min_probability.items())
    if spec.long_echo:
        minimum += (f" (for SWI echo times from {spec.long_echo['from_ms']:g} ms, from a sidecar beside the SWI or --swi-echo-time: "
                    f"{spec.long_echo_minimum_text()})")
    decides = ", ".join(spec.decided_keys())
    if spec.echo_times:
        decides += f" ({spec.echo_times_text()}: from a sidecar beside the SWI or --swi-echo-time)"
    if spec.keep_unet:
        decides += (f" (keeping the U-Net's lesions of these classes at its probability >= {spec.keep_unet['unet_probability']:g} "
                    f"where the classifier's lesion probability is >= {spec.keep_unet['lesion_probability']:g})")
    suppression = ", ".join(f"{key} within {value:g}" for key, value in spec.suppression.items()) or "none"
    if spec.suppression_spares:
        suppression += " (sparing " + ", ".join(f"{key} of >= {value}" for key, value in spec.suppression_spares.items()) + " voxels)"
    flips = " (mean over the patch and its left-right, front-back and both-ways flips)" if spec.average_flips else ""
    echo = "; takes the SWI's echo time (a sidecar beside the SWI, or --swi-echo-time)" if spec.uses_echo_time else ""
    if spec.second_opinion:
        minimum += (" (and " + ", ".join(f"{key} from {value:g}" for key, value in spec.second_opinion["min_probability"].items())
                    + f" where classifier {spec.second_opinion['from']} keeps the same class"
                    + (f", for SWI echo times below {spec.second_opinion['below_ms']:g} ms or not known" if "below_ms" in spec.second_opinion else "")
                    + ")")
    return (f"{spec.architecture}, base width {spec.width}, patch {' x '.join(map(str, spec.patch))} voxels{flips}{echo}; candidates: {proposal}; "
            f"minimum probability {minimum}; decides {decides}; pieces suppressed: {suppression}; weights sha256 {spec.weights_sha256}")


def main(argv=None) -> int:
    """Run a command; every failure becomes one line on stderr and an exit status (module
    docstring). DEEPMIR_DEBUG=1 lets unexpected errors through with their traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except InputError as err:
        print(f"deepmir {args.command}: error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except (Cancelled, KeyboardInterrupt) as err:
        print(f"deepmir {args.command}: {err or 'interrupted'}", file=sys.stderr)
        return 130
    except OSError as err:  # a file or folder that cannot be read or written: disk full, permissions, ...
        where = f"{err.filename}: " if err.filename else ""
        print(f"deepmir {args.command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return EXIT_INPUT
    except DeepMIRError as err:
        print(f"deepmir {args.command}: error: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # a bug: say so in one line rather than with a traceback
        if os.environ.get("DEEPMIR_DEBUG"):
            raise
        kind = "out of memory" if isinstance(err, MemoryError) else f"unexpected error ({type(err).__name__}: {err})"
        print(f"deepmir {args.command}: {kind}; run again with DEEPMIR_DEBUG=1 for the traceback, and please report it", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
