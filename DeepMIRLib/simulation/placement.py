"""Where lesions and mimics go, how many there are, and what they are made of.

Counts follow the paper's Table 2 (microbleeds: 17 % none, 54 % one or two, 25 % three to
eight, 4 % over 100); positions follow the anatomy (microbleeds mostly lobar at the
grey/white junction, some deep; iron deposits in the globus pallidus, usually bilateral;
calcifications in the pallidum and choroid plexus; perivascular spaces in the basal ganglia
and centrum semiovale; veins as long tubes). Values are those of ../shared/DESIGN.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..volumes import Volume
from .anatomy import NUCLEUS_LABELS, Anatomy
from .objects import SimObject

CMB_LOAD_CATEGORIES = ((0, 0), (1, 2), (3, 8), (100, 130))  # Table 2 classes of CMB count
PAPER_CMB_PROBABILITIES = (0.17, 0.54, 0.25, 0.04)
DENSE_CMB_PROBABILITIES = (0.0, 0.35, 0.60, 0.05)  # more lesions per participant, for training


@dataclass
class LesionLoad:
    cmb_probabilities: tuple = PAPER_CMB_PROBABILITIES
    deep_cmb_fraction: float = 0.2
    iron_pair_mean: float = 1.0  # Poisson mean of bilateral iron-deposit pairs
    veins: tuple = (12, 24)
    epvs: tuple = (3, 14)
    calcification_probabilities: tuple = (0.55, 0.3, 0.15)  # 0, 1, 2 calcifications
    pallidum_iron_fraction: float = 0.85  # of iron-deposit pairs; the rest in the putamen
    pallidum_calcification_fraction: float = 0.6  # of calcifications; the rest in the choroid plexus

    @classmethod
    def named(cls, name: str) -> LesionLoad:
        """'paper' (Table 2), 'dense' (more lesions, for training) or 'hard' (dense, with half
        the iron deposits in the putamen and 0-3 calcifications, most in the choroid plexus:
        for training on the places where thick-slice protocols confuse the classes)."""
        if name == "paper":
            return cls()
        if name == "dense":
            return cls(cmb_probabilities=DENSE_CMB_PROBABILITIES, iron_pair_mean=1.5)
        if name == "hard":
            return cls(cmb_probabilities=DENSE_CMB_PROBABILITIES, iron_pair_mean=1.5, pallidum_iron_fraction=0.5,
                       calcification_probabilities=(0.1, 0.3, 0.35, 0.25), pallidum_calcification_fraction=0.25)
        raise ValueError(f"unknown lesion load {name!r} (paper, dense or hard)")


def cmb_count(rng: np.random.Generator, load: LesionLoad) -> int:
    low, high = CMB_LOAD_CATEGORIES[rng.choice(len(CMB_LOAD_CATEGORIES), p=load.cmb_probabilities)]
    return int(rng.integers(low, high + 1))


class Sampler:
    """Random points (LPS mm) in anatomical regions of a participant on the SWI grid."""

    def __init__(self, anatomy: Anatomy, grid: Volume, rng: np.random.Generator):
        self.anatomy, self.grid, self.rng = anatomy, grid, rng
        inner = ndimage.binary_erosion(anatomy.brain, iterations=3)
        nuclei = anatomy.nuclei
        self.regions = {
            "junction": inner & (anatomy.gm > 0.3) & (anatomy.gm < 0.7) & (anatomy.wm > 0.25) & (nuclei == 0),
            "deep white matter": inner & (anatomy.wm > 0.85) & (nuclei == 0) & ~anatomy.ventricles,
            "ventricle": anatomy.ventricles,
        }
        for name, label in NUCLEUS_LABELS.items():
            self.regions[name] = nuclei == label
        self._indices = {}

    def has(self, region: str) -> bool:
        return bool(self.regions[region].any())

    def point(self, region: str, side: str | None = None) -> np.ndarray | None:
        """A random point inside `region` (optionally on the patient's 'left'/'right', by LPS x
        relative to the region's own centre), or None when the region is not on this grid."""
        if region not in self._indices:
            self._indices[region] = np.argwhere(self.regions[region])
        candidates = self._indices[region]
        if len(candidates) == 0:
            return None
        if side is not None:
            lps_x = self.grid.index_to_lps(candidates[:, ::-1].astype(float))[:, 0]
            middle = np.median(lps_x)
            candidates = candidates[(lps_x > middle) if side == "left" else (lps_x <= middle)]
            if len(candidates) == 0:
                return None
        z, y, x = candidates[self.rng.integers(len(candidates))] + self.rng.uniform(-0.5, 0.5, 3)
        return self.grid.index_to_lps([x, y, z])

    def inside(self, point: Sequence[float] | np.ndarray, region: str = "brain") -> bool:
        i, j, k = np.round(self.grid.lps_to_index(point)).astype(int)
        shape = self.grid.shape
        if not (0 <= k < shape[0] and 0 <= j < shape[1] and 0 <= i < shape[2]):
            return False
        mask = self.anatomy.brain if region == "brain" else self.regions[region]
        return bool(mask[k, j, i])


def microbleeds(sampler: Sampler, count: int, load: LesionLoad) -> list[SimObject]:
    """Round microbleeds: radius log-normal around 1.1 mm (about 6 mm3, 4 SWI voxels on
    average, as in the paper's Figure 2), susceptibility 0.4-1.0 ppm (hemosiderin)."""
    rng, objects = sampler.rng, []
    deep_regions = [r for r in ("thalamus", "putamen", "caudate") if sampler.has(r)]
    for _ in range(count):
        deep = deep_regions and rng.random() < load.deep_cmb_fraction
        region = str(rng.choice(deep_regions)) if deep else "junction"
        centre = sampler.point(region)
        if centre is None:
            continue
        radius = float(np.clip(rng.lognormal(np.log(1.1), 0.3), 0.6, 3.0))
        properties = {"r2star_per_s": round(float(rng.uniform(150, 300)), 1), "pd": 0.6, "t2_ms": 40.0}
        objects.append(SimObject("cmb", [(*centre, radius)], float(rng.uniform(0.4, 1.0)), region, properties))
    return objects


def iron_deposits(sampler: Sampler, nucleus_chi: dict[str, float], load: LesionLoad) -> list[SimObject]:
    """Irregular clusters of 2-6 small overlapping spheres, mostly in the globus pallidus,
    usually bilateral; susceptibility = the nucleus's + 0.1-0.3 ppm.

    Each sphere after the first overlaps one placed before it (their centres lie closer than
    the larger of the two radii), so that a deposit is one connected region, as a reader
    outlines it: the evaluation counts the label map's
    connected components, and a cluster in pieces would count as several deposits."""
    rng, objects = sampler.rng, []
    pairs = rng.poisson(load.iron_pair_mean)
    for _ in range(pairs):
        region = "globus_pallidus" if rng.random() < load.pallidum_iron_fraction or not sampler.has("putamen") else "putamen"
        sides = ("left", "right") if rng.random() < 0.8 else (str(rng.choice(["left", "right"])),)
        excess = float(rng.uniform(0.1, 0.3))
        for side in sides:
            seed_point = sampler.point(region, side)
            if seed_point is None:
                continue
            spheres = [(*seed_point, float(rng.uniform(0.8, 1.8)))]
            for _ in range(int(rng.integers(1, 6))):
                *parent, parent_radius = spheres[rng.integers(len(spheres))]
                radius = float(rng.uniform(0.7, 1.8))
                direction = rng.normal(0, 1, 3)
                centre = np.asarray(parent) + direction / np.linalg.norm(direction) * rng.uniform(0.3, 0.8) * max(parent_radius, radius)
                if sampler.inside(centre, region):
                    spheres.append((*centre, radius))
            properties = {"r2star_per_s": round(float(rng.uniform(60, 100)), 1), "t2_ms": 40.0}
            objects.append(SimObject("iron", spheres, nucleus_chi[region] + excess, region, properties))
    return objects


def _curve(sampler: Sampler, start, direction, length_mm: float, radius: float, bend: float) -> list:
    """Spheres along a smooth random curve inside the brain, one radius apart."""
    rng = sampler.rng
    spheres, point = [], np.asarray(start, float)
    direction = np.asarray(direction, float) / np.linalg.norm(direction)
    step = max(radius, 0.4)
    for _ in range(int(length_mm / step)):
        if not sampler.inside(point):
            break
        spheres.append((*point, radius))
        direction = direction + rng.normal(0, bend, 3)
        direction /= np.linalg.norm(direction)
        point = point + step * direction
    return spheres


def veins(sampler: Sampler, load: LesionLoad, min_slices: int = 6, attempts: int = 10) -> list[SimObject]:
    """Medullary and cortical veins: tubes 0.35-0.8 mm in radius running 15-45 mm, mostly
    superior-inferior, each crossing at least `min_slices` axial slices (a vein is followed
    over many slices: the way readers tell it from a microbleed); deoxygenated blood,
    0.3-0.55 ppm."""
    rng, objects = sampler.rng, []
    slice_mm = sampler.grid.spacing[2]
    for _ in range(int(rng.integers(*load.veins))):
        for _ in range(attempts):
            start = sampler.point(str(rng.choice(["deep white matter", "junction"])))
            if start is None:
                break
            direction = np.array([rng.normal(0, 0.35), rng.normal(0, 0.35), rng.choice([-1.0, 1.0])])
            spheres = _curve(sampler, start, direction, rng.uniform(15, 45), float(rng.uniform(0.35, 0.8)), 0.08)
            z = [s[2] for s in spheres]
            if spheres and max(z) - min(z) >= min_slices * slice_mm:
                properties = {"r2star_per_s": round(float(rng.uniform(30, 60)), 1), "pd": 0.85, "t2_ms": 50.0}
                objects.append(SimObject("vein", spheres, float(rng.uniform(0.3, 0.55)), "white matter", properties))
                break
    return objects


def calcifications(sampler: Sampler, load: LesionLoad) -> list[SimObject]:
    """Round diamagnetic calcifications (-0.1 to -0.5 ppm) in the pallidum or the choroid
    plexus: dark on SWI like a microbleed, but dark on QSM."""
    rng, objects = sampler.rng, []
    for _ in range(int(rng.choice(len(load.calcification_probabilities), p=load.calcification_probabilities))):
        region = "globus_pallidus" if rng.random() < load.pallidum_calcification_fraction else "ventricle"
        centre = sampler.point(region)
        if centre is None:
            continue
        radius = float(rng.uniform(1.0, 2.5))
        properties = {"r2star_per_s": 80.0, "pd": 0.3, "t2_ms": 30.0}
        location = "choroid plexus" if region == "ventricle" else region
        objects.append(SimObject("calcification", [(*centre, radius)], float(rng.uniform(-0.5, -0.1)), location, properties))
    return objects


def perivascular_spaces(sampler: Sampler, load: LesionLoad) -> list[SimObject]:
    """Enlarged perivascular spaces: CSF-filled (0 ppm, bright on T2), 3-10 mm long and
    0.5-1.2 mm in radius, along the perforating arteries (superior-inferior) in the basal
    ganglia and the centrum semiovale."""
    rng, objects = sampler.rng, []
    for _ in range(int(rng.integers(*load.epvs))):
        region = "putamen" if rng.random() < 0.6 and sampler.has("putamen") else "deep white matter"
        start = sampler.point(region)
        if start is None:
            continue
        spheres = _curve(sampler, start, [rng.normal(0, 0.2), rng.normal(0, 0.2), 1.0], rng.uniform(3, 10), float(rng.uniform(0.5, 1.2)), 0.03)
        if spheres:
            properties = {"r2star_per_s": 2.0, "pd": 1.0, "t1_ms": 4000.0, "t2_ms": 1600.0}
            location = "basal ganglia" if region == "putamen" else "centrum semiovale"
            objects.append(SimObject("epvs", spheres, 0.0, location, properties))
    return objects
