"""One simulated participant: tissue maps -> susceptibility, relaxation -> multi-echo GRE,
SWI, QSM and T2-weighted images, with ground truth for every lesion and mimic.

Physics (values and sources in docs/simulation.md):
- field = dipole kernel * susceptibility in k-space, on a grid twice as fine as SWI's;
- multi-echo GRE at 3 T: S = PD exp(-TE R2*) exp(-i gamma B0 TE field), simulated on the fine
  grid and averaged down (intravoxel dephasing: microbleeds bloom), optionally times a smooth
  receive (bias) field, plus complex noise;
- SWI after Haacke: first echo, phase high-passed by a homodyne filter (central 64 x 64 of
  k-space, in plane), negative-phase mask to the 4th power times the magnitude;
- QSM: field from the echo-to-echo phase differences, dipole inversion (dipole.invert_field);
- T2-weighted spin echo on its own 1 mm grid, slightly misaligned, with a smooth bias field.

`draw_protocol` draws a participant's acquisition protocol from PROTOCOL_RANGES (voxel size,
echo times, B0 tilt, noise, GRE bias field), for cohorts of varied protocols.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import fft

from ..classes import CMB, IRON
from ..errors import InputError
from ..volumes import Volume, write_volume
from .anatomy import NUCLEUS_LABELS, Anatomy, participant_transform, resample_anatomy
from .dipole import forward_field, invert_field
from .objects import MIMIC_LABELS, SimObject, label_map, rasterise
from .placement import LesionLoad, Sampler, calcifications, cmb_count, iron_deposits, microbleeds, perivascular_spaces, veins

GYROMAGNETIC_HZ_PER_T = 42.577e6
MAX_FINE_SPACING_MM = 1.0  # the physics grid is at least Protocol.fine_factor times finer per axis, and at most this coarse

# susceptibility (ppm, relative to CSF), R2* (1/s), proton density, T1 and T2 (ms) at 3 T
TISSUES = {
    "csf": {"chi": 0.0, "r2s": 2.0, "pd": 1.0, "t1": 4000.0, "t2": 1600.0},
    "gm": {"chi": 0.01, "r2s": 15.0, "pd": 0.8, "t1": 1400.0, "t2": 100.0},
    "wm": {"chi": -0.03, "r2s": 20.0, "pd": 0.7, "t1": 850.0, "t2": 70.0},
}
NUCLEUS_TISSUE = {  # chi ranges are drawn per participant where given as (low, high)
    "globus_pallidus": {"chi": (0.13, 0.19), "r2s": 40.0, "pd": 0.75, "t1": 900.0, "t2": 50.0},
    "putamen": {"chi": 0.04, "r2s": 25.0, "pd": 0.8, "t1": 1100.0, "t2": 70.0},
    "caudate": {"chi": 0.04, "r2s": 24.0, "pd": 0.8, "t1": 1200.0, "t2": 75.0},
    "thalamus": {"chi": 0.02, "r2s": 22.0, "pd": 0.78, "t1": 1000.0, "t2": 75.0},
    "substantia_nigra": {"chi": (0.10, 0.15), "r2s": 35.0, "pd": 0.75, "t1": 900.0, "t2": 55.0},
    "red_nucleus": {"chi": (0.10, 0.15), "r2s": 35.0, "pd": 0.75, "t1": 900.0, "t2": 55.0},
    "dentate": {"chi": (0.10, 0.15), "r2s": 35.0, "pd": 0.75, "t1": 900.0, "t2": 55.0},
}


@dataclass
class Protocol:
    field_strength_t: float = 3.0
    echo_times_ms: tuple = (7.5, 15.0, 22.5, 30.0)
    b0_direction_lps: tuple = (0.0, 0.0, 1.0)
    swi_size: tuple = (192, 256, 104)  # x (left-right), y (anterior-posterior), z (slices)
    swi_spacing: tuple = (1.0, 1.0, 1.5)
    fine_factor: int = 2  # physics grid = SWI grid / fine_factor per axis
    gre_noise: float = 0.015  # complex noise SD; proton density of CSF is 1
    noise_scale: float = 1.0  # multiplies gre_noise and t2_noise (a noisier scanner)
    gre_bias_amplitude: float = 0.0  # smooth receive field on the GRE signal (0: none; like t2_bias_amplitude)
    swi_highpass: int = 64  # central k-space size (in plane) of the homodyne low-pass
    qsm_regularisation: float = 0.1
    t2_echo_ms: float = 408.0  # nominal TE of the 3-D turbo spin echo (paper's Table 1)
    t2_repetition_ms: float = 3200.0
    t2_contrast_echo_ms: float = 120.0  # T2 weighting of that echo train (see docs/simulation.md)
    t2_spacing: tuple = (1.0, 1.0, 1.0)
    t2_noise: float = 0.008
    t2_bias_amplitude: float = 0.2
    t2_misalignment_deg: float = 3.0
    t2_misalignment_mm: float = 3.0
    slab_slices: int | None = None  # fast mode: only this many slices around the basal ganglia

    @property
    def gamma_b0_rad_per_s_ppm(self) -> float:
        return 2 * np.pi * GYROMAGNETIC_HZ_PER_T * self.field_strength_t * 1e-6

    @property
    def fine_factors(self) -> tuple[int, int, int]:
        """Physics grid subdivisions of an SWI voxel per axis (x, y, z): `fine_factor`, more
        where that would leave the physics grid coarser than MAX_FINE_SPACING_MM (slices over
        2 mm: a 3 mm slice is simulated on three 1 mm sub-slices)."""
        return tuple(max(self.fine_factor, math.ceil(s / MAX_FINE_SPACING_MM - 1e-9)) for s in self.swi_spacing)

    def record(self) -> dict:
        """The protocol as written to manifest.json. Fields added after the first release are
        left out at their defaults, so that a default cohort's files stay the same bytes."""
        values = asdict(self)
        for name, default in LATER_FIELDS.items():
            if values[name] == default:
                del values[name]
        return values


LATER_FIELDS = {"noise_scale": 1.0, "gre_bias_amplitude": 0.0}

# Ranges of `draw_protocol` (deepmir simulate --vary-protocol). The field of view stays about
# 192 x 256 x 156 mm (x, y, z); the grid size follows from the voxel size. In-plane voxels
# under 0.6 mm and voxels under 0.5 mm3 are left out for cost (the physics grid of 0.6 x 0.6
# x 1.4 mm voxels already has about 3 times the default's points: 6.1 GB and 70 s for a full-size participant on the 2-core development machine, against 2.4 GB and 31 s).
PROTOCOL_RANGES = {
    "field_of_view_mm": (192.0, 256.0, 156.0),
    "in_plane_mm": (0.6, 1.2),  # square pixels
    "slice_mm": (1.0, 3.0),
    "min_voxel_mm3": 0.5,  # slice thickness drawn from [max(1.0, 0.5 / in_plane^2), 3.0]
    "echo_count": (3, 5),
    "first_echo_ms": (5.0, 15.0),
    "echo_spacing_ms": (5.0, 10.0),
    "b0_tilt_deg": (0.0, 20.0),  # from the slice normal, towards a uniformly drawn azimuth
    "noise_scale": (0.8, 2.5),
    "gre_bias_amplitude": (0.0, 0.3),
}


def draw_protocol(rng: np.random.Generator, base: Protocol | None = None, ranges: dict | None = None) -> tuple[Protocol, dict]:
    """A participant's acquisition protocol drawn uniformly from `ranges` (PROTOCOL_RANGES);
    everything not drawn (slab mode, T2, field strength) comes from `base`. Returns the
    protocol and the drawn values (rounded: 0.01 mm, 0.1 ms, 0.1 degree, 0.01)."""
    from dataclasses import replace

    base = base or Protocol()
    r = {**PROTOCOL_RANGES, **(ranges or {})}
    in_plane = round(float(rng.uniform(*r["in_plane_mm"])), 2)
    slice_low = max(r["slice_mm"][0], r["min_voxel_mm3"] / in_plane**2)
    slice_mm = round(float(rng.uniform(slice_low, r["slice_mm"][1])), 2)
    slice_mm = max(slice_mm, math.ceil(slice_low * 100) / 100)
    spacing = (in_plane, in_plane, slice_mm)
    size = tuple(round(f / s) for f, s in zip(r["field_of_view_mm"], spacing))
    count = int(rng.integers(r["echo_count"][0], r["echo_count"][1] + 1))
    first = round(float(rng.uniform(*r["first_echo_ms"])), 1)
    step = round(float(rng.uniform(*r["echo_spacing_ms"])), 1)
    echo_times = tuple(round(first + e * step, 1) for e in range(count))
    tilt = round(float(rng.uniform(*r["b0_tilt_deg"])), 1)
    azimuth = round(float(rng.uniform(0.0, 360.0)), 1)
    t, a = np.deg2rad(tilt), np.deg2rad(azimuth)
    b0 = tuple(round(float(v), 6) for v in (np.sin(t) * np.cos(a), np.sin(t) * np.sin(a), np.cos(t)))
    noise_scale = round(float(rng.uniform(*r["noise_scale"])), 2)
    bias = round(float(rng.uniform(*r["gre_bias_amplitude"])), 2)
    protocol = replace(base, swi_size=size, swi_spacing=spacing, echo_times_ms=echo_times, b0_direction_lps=b0,
                       noise_scale=noise_scale, gre_bias_amplitude=bias)
    drawn = {"in_plane_mm": in_plane, "slice_mm": slice_mm, "size": list(size), "echo_times_ms": list(echo_times),
             "b0_tilt_deg": tilt, "b0_azimuth_deg": azimuth, "b0_direction_lps": list(b0), "noise_scale": noise_scale,
             "gre_bias_amplitude": bias}
    return protocol, drawn


def check_protocol(protocol: Protocol) -> Protocol:
    """InputError (naming the command line's option) for a protocol that would run and give
    wrong images."""
    echo_times = protocol.echo_times_ms
    if len(echo_times) < 2:
        raise InputError("--echo-times", "QSM needs at least two echo times (it uses the echo-to-echo phase difference)")
    if np.any(np.diff(echo_times) <= 0):
        raise InputError("--echo-times", f"{' '.join(f'{t:g}' for t in echo_times)}: the echo times must increase")
    if not any(protocol.b0_direction_lps):
        raise InputError("--b0", "the B0 direction must not be the zero vector")
    if min(protocol.swi_size[:2]) < protocol.swi_highpass:
        raise InputError("--size", f"{protocol.swi_size[0]} x {protocol.swi_size[1]} in plane: at least {protocol.swi_highpass} x "
                                   f"{protocol.swi_highpass} (the SWI high-pass filter's window)")
    if not (math.isfinite(protocol.noise_scale) and protocol.noise_scale >= 0):
        raise InputError("--noise-scale", f"{protocol.noise_scale}: must be a finite number of at least 0")
    if not (math.isfinite(protocol.gre_bias_amplitude) and 0 <= protocol.gre_bias_amplitude <= MAX_BIAS_AMPLITUDE):
        raise InputError("--gre-bias", f"{protocol.gre_bias_amplitude}: must be in [0, {MAX_BIAS_AMPLITUDE:g}]")
    return protocol


MAX_BIAS_AMPLITUDE = 1.0  # e^(+-2) and more at the corners beyond this: no receive coil is that uneven


@dataclass
class SimulatedParticipant:
    images: dict  # name -> Volume: swi, qsm, t2, labels, mimics, brainmask, chi
    objects: list
    info: dict = field(default_factory=dict)

    def manifest(self) -> dict:
        return {**self.info, "objects": [o.manifest() for o in self.objects]}


def swi_grid(protocol: Protocol) -> Volume:
    """The SWI/QSM grid in participant space: axial, centred on the brain's centre (MNI
    RAS (0, -18, 5)); in slab mode only `slab_slices` slices centred at MNI z = 0."""
    nx, ny, nz = protocol.swi_size
    if protocol.slab_slices:
        nz = protocol.slab_slices
    spacing = np.asarray(protocol.swi_spacing, float)
    centre_lps = np.array([0.0, 18.0, 0.0 if protocol.slab_slices else 5.0])
    origin = centre_lps - (np.array([nx, ny, nz]) - 1) / 2 * spacing
    return Volume(np.zeros((nz, ny, nx), np.float32), tuple(origin), tuple(spacing), (1, 0, 0, 0, 1, 0, 0, 0, 1))


def _grid_image(grid: Volume) -> sitk.Image:
    image = sitk.Image([int(n) for n in grid.shape[::-1]], sitk.sitkUInt8)
    image.SetOrigin(grid.origin)
    image.SetSpacing(grid.spacing)
    image.SetDirection(grid.direction)
    return image


def tissue_parameters(anatomy: Anatomy, nucleus_chi: dict[str, float]) -> dict[str, np.ndarray]:
    """Per-voxel chi, r2s, pd, t1, t2 mixed from tissue probabilities; nuclei override."""
    total = np.maximum(anatomy.gm + anatomy.wm + anatomy.csf, 1e-6)
    weights = {name: getattr(anatomy, name) / total * anatomy.brain for name in TISSUES}
    maps = {key: sum(weights[t] * TISSUES[t][key] for t in TISSUES).astype(np.float32) for key in ("chi", "r2s", "pd", "t1", "t2")}
    for name, label in NUCLEUS_LABELS.items():
        inside = anatomy.nuclei == label
        values = {**NUCLEUS_TISSUE[name], "chi": nucleus_chi[name]}
        for key, array in maps.items():
            array[inside] = values[key]
    return maps


def _apply_objects(maps: dict[str, np.ndarray], objects: list[SimObject], grid: Volume, keys) -> None:
    """Objects replace the tissue they occupy (partial volume at their soft edge)."""
    if not objects:
        return
    occupancy, owner = rasterise(objects, grid)
    covered = owner > 0
    weight = occupancy[covered]
    for key in keys:
        values = np.array([0.0] + [_object_value(o, key, maps) for o in objects], np.float32)
        tissue = maps[key][covered]
        object_value = values[owner[covered]]
        keep_tissue = np.isnan(object_value)
        object_value = np.where(keep_tissue, tissue, object_value)
        maps[key][covered] = (1 - weight) * tissue + weight * object_value


def _object_value(obj: SimObject, key: str, maps) -> float:
    if key == "chi":
        return obj.chi
    name = {"r2s": "r2star_per_s", "pd": "pd", "t1": "t1_ms", "t2": "t2_ms"}[key]
    return float(obj.properties.get(name, np.nan))


def _brain_box(brain: np.ndarray, margin: int) -> tuple[slice, ...]:
    indices = np.argwhere(brain)
    lo = np.maximum(indices.min(axis=0) - margin, 0)
    hi = np.minimum(indices.max(axis=0) + margin + 1, brain.shape)
    return tuple(slice(a, b) for a, b in zip(lo, hi))


def _fine_grid(grid: Volume, box: tuple[slice, ...], factors_xyz: Sequence[int]) -> Volume:
    start_index = np.array([box[2].start, box[1].start, box[0].start], float)
    factors = np.asarray(factors_xyz, float)
    spacing = np.asarray(grid.spacing) / factors
    origin = grid.index_to_lps(start_index - 0.5 + 0.5 / factors)
    shape = tuple((s.stop - s.start) * f for s, f in zip(box, factors_xyz[::-1]))
    return Volume(np.zeros(shape, np.float32), tuple(origin), tuple(spacing), grid.direction)


def _block_mean(array: np.ndarray, factors_zyx: Sequence[int]) -> np.ndarray:
    fz, fy, fx = factors_zyx
    z, y, x = (n // f for n, f in zip(array.shape, factors_zyx))
    return array.reshape(z, fz, y, fy, x, fx).mean(axis=(1, 3, 5))


def gre_echoes(maps_g: dict, objects: list, grid: Volume, brain: np.ndarray, protocol: Protocol, rng: np.random.Generator,
               bias_rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Complex multi-echo GRE signal (echoes, z, y, x) on the SWI grid, and the true
    susceptibility averaged onto it. Tissue maps are repeated onto the fine grid, objects
    rasterised there, the field computed there and the signal averaged down. With
    `protocol.gre_bias_amplitude` > 0 the signal is multiplied by a smooth real receive field
    (drawn from `bias_rng`: the magnitude changes, the phase does not) before the noise."""
    factors = protocol.fine_factors[::-1]  # z, y, x
    box = _brain_box(brain, margin=12)
    fine = _fine_grid(grid, box, protocol.fine_factors)
    fine_maps = {k: np.repeat(np.repeat(np.repeat(maps_g[k][box], factors[0], 0), factors[1], 1), factors[2], 2) for k in ("chi", "r2s", "pd")}
    _apply_objects(fine_maps, objects, fine, ("chi", "r2s", "pd"))
    b0_zyx = np.asarray(protocol.b0_direction_lps, float)[::-1]
    field_ppm = forward_field(fine_maps["chi"], np.asarray(fine.spacing)[::-1], b0_zyx)
    echoes = np.zeros((len(protocol.echo_times_ms),) + grid.shape, np.complex64)
    magnitude_0 = fine_maps["pd"]
    for e, te_ms in enumerate(protocol.echo_times_ms):
        te = te_ms * 1e-3
        signal = magnitude_0 * np.exp(-te * fine_maps["r2s"]) * np.exp(-1j * protocol.gamma_b0_rad_per_s_ppm * te * field_ppm)
        echoes[e][box] = _block_mean(signal.astype(np.complex64), factors)
    chi_true = np.zeros(grid.shape, np.float32)
    chi_true[box] = _block_mean(fine_maps["chi"], factors)
    if protocol.gre_bias_amplitude > 0:
        echoes *= _bias_field(grid.shape, bias_rng if bias_rng is not None else rng, protocol.gre_bias_amplitude)
    sd = protocol.gre_noise * protocol.noise_scale
    noise = rng.normal(0, sd, echoes.shape) + 1j * rng.normal(0, sd, echoes.shape)
    return (echoes + noise).astype(np.complex64), chi_true


def swi_from_echo(echo: np.ndarray, highpass: int = 64) -> np.ndarray:
    """Haacke SWI: homodyne high-pass phase (central `highpass` x `highpass` of in-plane
    k-space as the low-pass reference), negative-phase mask (phase < 0 scaled linearly to
    0 at -pi, 1 elsewhere) applied four times to the magnitude. Phase follows the
    convention S = exp(-i gamma field TE): paramagnetic tissue has negative phase."""
    spectrum = fft.fftshift(fft.fft2(echo, axes=(1, 2)), axes=(1, 2))
    ny, nx = echo.shape[1:]
    window = np.zeros((ny, nx), np.float32)
    cy, cx, h = ny // 2, nx // 2, highpass // 2
    window[cy - h : cy + h, cx - h : cx + h] = np.outer(np.hanning(2 * h), np.hanning(2 * h))
    low = fft.ifft2(fft.ifftshift(spectrum * window, axes=(1, 2)), axes=(1, 2))
    phase = np.angle(echo * np.conj(low))
    mask = np.where(phase < 0, (np.pi + phase) / np.pi, 1.0)
    return (np.abs(echo) * mask**4).astype(np.float32)


def qsm_from_echoes(echoes: np.ndarray, brain: np.ndarray, grid: Volume, protocol: Protocol) -> np.ndarray:
    """Field from the magnitude-weighted echo-to-echo phase difference (no unwrapping needed
    below pi per echo spacing), then dipole inversion inside the brain."""
    products = (echoes[1:] * np.conj(echoes[:-1])).sum(axis=0)
    spacing_s = np.diff(protocol.echo_times_ms).mean() * 1e-3
    field_ppm = -np.angle(products) / (protocol.gamma_b0_rad_per_s_ppm * spacing_s)
    b0_zyx = np.asarray(protocol.b0_direction_lps, float)[::-1]
    return invert_field(field_ppm.astype(np.float32), brain.astype(np.float32), np.asarray(grid.spacing)[::-1], b0_zyx, protocol.qsm_regularisation)


def t2_image(transform: sitk.Transform, objects: list, nucleus_chi: dict[str, float], anatomy_grid: Volume, protocol: Protocol,
             rng: np.random.Generator, ventricle_growth_mm: float) -> tuple[Volume, sitk.Euler3DTransform]:
    """T2-weighted spin echo on its own axial 1 mm grid covering the SWI field of view,
    after a small random rigid head motion, with a smooth multiplicative bias field.
    Returns the image and the motion (T2 grid points -> participant space)."""
    lo = np.asarray(anatomy_grid.origin) - 5.0
    extent = (np.array(anatomy_grid.shape[::-1]) - 1) * np.asarray(anatomy_grid.spacing) + 10.0
    size = np.ceil(extent / np.asarray(protocol.t2_spacing)).astype(int) + 1
    grid = Volume(np.zeros(size[::-1], np.float32), tuple(lo), tuple(protocol.t2_spacing), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    motion = sitk.Euler3DTransform()
    motion.SetCenter(tuple(anatomy_grid.index_to_lps((np.array(anatomy_grid.shape[::-1]) - 1) / 2)))
    motion.SetRotation(*np.deg2rad(rng.uniform(-protocol.t2_misalignment_deg, protocol.t2_misalignment_deg, 3)))
    motion.SetTranslation(tuple(rng.uniform(-protocol.t2_misalignment_mm, protocol.t2_misalignment_mm, 3)))
    anatomy = resample_anatomy(_grid_image(grid), sitk.CompositeTransform([motion, transform]), ventricle_growth_mm)
    maps = tissue_parameters(anatomy, nucleus_chi)
    inverse = motion.GetInverse()
    moved = [SimObject(o.kind, [(*inverse.TransformPoint(s[:3]), s[3]) for s in o.spheres], o.chi, o.location, o.properties) for o in objects]
    _apply_objects(maps, moved, grid, ("pd", "t1", "t2"))
    with np.errstate(divide="ignore", invalid="ignore"):
        signal = maps["pd"] * (1 - np.exp(-protocol.t2_repetition_ms / maps["t1"])) * np.exp(-protocol.t2_contrast_echo_ms / maps["t2"])
    signal = np.nan_to_num(signal) * anatomy.brain
    signal *= _bias_field(grid.shape, rng, protocol.t2_bias_amplitude)
    sd = protocol.t2_noise * protocol.noise_scale
    noisy = np.hypot(signal + rng.normal(0, sd, signal.shape), rng.normal(0, sd, signal.shape))
    return grid.with_array(noisy.astype(np.float32)), motion


def _bias_field(shape, rng, amplitude: float) -> np.ndarray:
    """A smooth multiplicative field: exp of a random linear-plus-quadratic polynomial."""
    z, y, x = (np.linspace(-1, 1, n, dtype=np.float32) for n in shape)
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij", sparse=True)
    terms = [xx, yy, zz, xx * yy, yy * zz, xx * zz, xx**2 - 1 / 3, yy**2 - 1 / 3]
    coefficients = rng.normal(0, amplitude / 2, len(terms))
    return np.exp(sum(c * t for c, t in zip(coefficients, terms))).astype(np.float32)


def simulate_participant(seed: int | Sequence[int], protocol: Protocol | None = None, load: LesionLoad | None = None, participant_id: str = "sub-0") -> SimulatedParticipant:
    """Everything about one participant is drawn from one random generator seeded by `seed`
    (the GRE bias field from a stream of its own, so that switching it on changes nothing else)."""
    protocol = protocol or Protocol()
    load = load or LesionLoad()
    rng = np.random.default_rng(seed)
    age = float(rng.uniform(0, 1))  # 0 young ... 1 old: more pallidal iron, larger ventricles
    nucleus_chi = {}
    for name, values in NUCLEUS_TISSUE.items():
        chi = values["chi"]
        nucleus_chi[name] = float(chi[0] + (chi[1] - chi[0]) * np.clip(age + rng.normal(0, 0.2), 0, 1)) if isinstance(chi, tuple) else chi
    ventricle_growth_mm = 3.0 * age
    transform = participant_transform(rng)
    grid = swi_grid(protocol)
    anatomy = resample_anatomy(_grid_image(grid), transform, ventricle_growth_mm)
    sampler = Sampler(anatomy, grid, rng)
    objects = (
        microbleeds(sampler, cmb_count(rng, load), load)
        + iron_deposits(sampler, nucleus_chi, load)
        + veins(sampler, load)
        + calcifications(sampler, load)
        + perivascular_spaces(sampler, load)
    )
    maps = tissue_parameters(anatomy, nucleus_chi)
    echoes, chi_true = gre_echoes(maps, objects, grid, anatomy.brain, protocol, rng, _stream(seed, BIAS_STREAM))
    brain = anatomy.brain
    t2, t2_motion = t2_image(transform, objects, nucleus_chi, grid, protocol, rng, ventricle_growth_mm)
    images = {
        "swi": grid.with_array(swi_from_echo(echoes[0], protocol.swi_highpass)),
        "qsm": grid.with_array(qsm_from_echoes(echoes, brain, grid, protocol)),
        "t2": t2,
        "labels": grid.with_array(label_map(objects, grid, {"cmb": CMB, "iron": IRON})),
        "mimics": grid.with_array(label_map(objects, grid, MIMIC_LABELS)),
        "brainmask": grid.with_array(brain.astype(np.uint8)),
        "chi": grid.with_array(chi_true),
    }
    kinds = [o.kind for o in objects]
    info = {
        "participant": participant_id,
        "seed": seed if isinstance(seed, int) else "-".join(str(s) for s in seed),
        "age_factor": round(age, 3),
        "globus_pallidus_ppm": round(nucleus_chi["globus_pallidus"], 3),
        "counts": {kind: kinds.count(kind) for kind in ("cmb", "iron", "vein", "calcification", "epvs")},
        "labels": {"labels": {"1": "cerebral microbleed", "2": "iron deposit"}, "mimics": {str(v): k for k, v in MIMIC_LABELS.items()}},
        "coordinates": "LPS millimetres (participant space = scanner space of the SWI grid)",
        "t2_motion": {
            "description": "rigid motion of the T2 acquisition: maps T2 grid points to SWI space (ITK Euler3D)",
            "centre": [round(v, 4) for v in t2_motion.GetCenter()],
            "rotation_rad": [round(v, 6) for v in (t2_motion.GetAngleX(), t2_motion.GetAngleY(), t2_motion.GetAngleZ())],
            "translation_mm": [round(v, 4) for v in t2_motion.GetTranslation()],
        },
        "protocol": protocol.record(),
    }
    return SimulatedParticipant(images, objects, info)


BIAS_STREAM, PROTOCOL_STREAM = 1, 2  # spawn keys of the side streams of a participant's seed


def _stream(seed: int | Sequence[int], key: int) -> np.random.Generator:
    """A random generator independent of the participant's own (same entropy, another spawn key)."""
    entropy = seed if isinstance(seed, int) else [int(s) for s in seed]
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(key,)))


OUTPUT_FILES = ("swi", "qsm", "t2", "labels", "mimics", "brainmask", "chi")


def write_participant(participant: SimulatedParticipant, folder: Path | str) -> Path:
    """One NIfTI per image, manifest.json, and swi.json: the SWI's sidecar as BIDS and dcm2niix
    write it (EchoTime in seconds: the SWI is made from the first echo; echotime)."""
    from ..atomic import write_text_atomic

    folder = Path(folder)
    for name in OUTPUT_FILES:
        volume = participant.images[name]
        dtype = np.uint8 if name in ("labels", "mimics", "brainmask") else np.float32
        write_volume(volume.with_array(volume.array.astype(dtype)), folder / f"{name}.nii.gz")
    echo_time_s = round(participant.info["protocol"]["echo_times_ms"][0] / 1000.0, 6)
    write_text_atomic(folder / "swi.json", json.dumps({"EchoTime": echo_time_s}, indent=2) + "\n")
    write_text_atomic(folder / "manifest.json", json.dumps(participant.manifest(), indent=2) + "\n")
    return folder


PARTICIPANT_COLUMNS = ["participant", "seed", "age_factor", "globus_pallidus_ppm", "n_cmb", "cmb_voxels", "n_iron", "iron_voxels", "n_vein", "n_calcification", "n_epvs"]


def participant_row(participant: SimulatedParticipant) -> dict:
    labels = participant.images["labels"].array
    counts = participant.info["counts"]
    return {
        "participant": participant.info["participant"],
        "seed": participant.info["seed"],
        "age_factor": participant.info["age_factor"],
        "globus_pallidus_ppm": participant.info["globus_pallidus_ppm"],
        "n_cmb": counts["cmb"],
        "cmb_voxels": int((labels == CMB).sum()),
        "n_iron": counts["iron"],
        "iron_voxels": int((labels == IRON).sum()),
        "n_vein": counts["vein"],
        "n_calcification": counts["calcification"],
        "n_epvs": counts["epvs"],
    }


PROTOCOL_COLUMNS = ["in_plane_mm", "slice_mm", "size", "echo_times_ms", "b0_tilt_deg", "b0_direction_lps", "noise_scale", "gre_bias_amplitude"]


def protocol_columns(drawn: dict) -> dict:
    """The drawn protocol (draw_protocol) as participants.tsv columns."""
    text = lambda values, sep=" ": sep.join(f"{v:g}" for v in values)
    return {**{k: drawn[k] for k in ("in_plane_mm", "slice_mm", "b0_tilt_deg", "noise_scale", "gre_bias_amplitude")},
            "size": text(drawn["size"], "x"), "echo_times_ms": text(drawn["echo_times_ms"]), "b0_direction_lps": text(drawn["b0_direction_lps"])}


def simulate_cohort(n: int, seed: int, out: Path | str, protocol: Protocol | None = None, load: LesionLoad | None = None, overwrite: bool = False,
                    progress: Callable[[int, int], None] | None = None, vary_protocol: bool | dict = False) -> list[dict]:
    """`n` participants sim-<seed>-<i> in `out`, each from the seed sequence (seed, i), and
    participants.tsv. The same seed gives the same files, byte for byte.

    `vary_protocol` (True, or ranges overriding PROTOCOL_RANGES): each participant's protocol is
    drawn by draw_protocol from its own stream of (seed, i), on top of `protocol`; the draw
    is recorded in manifest.json ("protocol", "protocol_variation") and participants.tsv."""
    import csv
    import io

    from ..atomic import atomic_directory, write_text_atomic

    out = Path(out)
    rows = []
    ranges = {**PROTOCOL_RANGES, **(vary_protocol if isinstance(vary_protocol, dict) else {})}
    for i in range(n):
        participant_id = f"sim-{seed}-{i:04d}"
        participant_protocol, drawn = protocol, None
        if vary_protocol:
            participant_protocol, drawn = draw_protocol(_stream([seed, i], PROTOCOL_STREAM), protocol, ranges)
        participant = simulate_participant([seed, i], participant_protocol, load, participant_id)
        if drawn is not None:
            participant.info["protocol_variation"] = {"drawn": drawn, "ranges": ranges}
        with atomic_directory(out / participant_id, overwrite) as staging:
            write_participant(participant, staging)
        rows.append({**participant_row(participant), **(protocol_columns(drawn) if drawn is not None else {})})
        if progress is not None:
            progress(i + 1, n)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, PARTICIPANT_COLUMNS + (PROTOCOL_COLUMNS if vary_protocol else []), delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(out / "participants.tsv", buffer.getvalue())
    return rows
