"""Lesions and mimics as unions of spheres in patient space, their placement, and their
rasterisation onto any grid.

Every object (a microbleed, an iron deposit, a vein, a calcification, an enlarged
perivascular space) is a list of spheres (LPS centre, radius in mm): one sphere for a
microbleed, a cluster for an irregular iron deposit, a chain along a curve for a vein or
a perivascular space. Rasterised with a soft edge one voxel wide, the same object lands
consistently on the fine physics grid, the SWI grid and the T2 grid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..volumes import Volume

# mimic label values in the `mimics` map (lesion labels are classes.CMB / classes.IRON)
MIMIC_LABELS = {"vein": 1, "calcification": 2, "epvs": 3}


@dataclass
class SimObject:
    kind: str  # 'cmb', 'iron', 'vein', 'calcification', 'epvs'
    spheres: list  # [(x, y, z, radius)] in LPS mm
    chi: float  # susceptibility (ppm) inside the object, replacing the tissue's
    location: str  # anatomical region it was placed in
    properties: dict = field(default_factory=dict)  # relaxation overrides etc.

    @property
    def centre(self) -> np.ndarray:
        spheres = np.asarray(self.spheres)
        weights = spheres[:, 3] ** 3
        return (spheres[:, :3] * weights[:, None]).sum(axis=0) / weights.sum()

    def manifest(self) -> dict:
        spheres = np.asarray(self.spheres)
        extent = spheres[:, :3].max(axis=0) - spheres[:, :3].min(axis=0) + 2 * spheres[:, 3].max()
        return {
            "kind": self.kind,
            "location": self.location,
            "centre_lps_mm": [round(float(v), 2) for v in self.centre],
            "extent_mm": round(float(np.linalg.norm(extent) if len(spheres) > 1 else 2 * spheres[0, 3]), 2),
            "largest_radius_mm": round(float(spheres[:, 3].max()), 2),
            "susceptibility_ppm": round(float(self.chi), 3),
            "spheres": len(spheres),
            **self.properties,
        }


def rasterise(objects: list[SimObject], grid: Volume) -> tuple[np.ndarray, np.ndarray]:
    """Occupancy (0..1, soft edge about one voxel wide) of the objects on `grid`, and the
    index (1-based, into `objects`) of the object that occupies each voxel most."""
    occupancy = np.zeros(grid.shape, np.float32)
    owner = np.zeros(grid.shape, np.int32)
    spacing = np.asarray(grid.spacing)
    edge = float(np.mean(spacing))
    for number, obj in enumerate(objects, start=1):
        for x, y, z, radius in obj.spheres:
            centre = grid.lps_to_index([x, y, z])  # (i, j, k)
            half = (radius + edge) / spacing + 1
            lo = np.maximum(np.floor(centre - half).astype(int), 0)
            hi = np.minimum(np.ceil(centre + half).astype(int) + 1, np.array(grid.shape[::-1]))
            if np.any(hi <= lo):
                continue
            k, j, i = np.meshgrid(*(np.arange(lo[a], hi[a]) for a in (2, 1, 0)), indexing="ij")
            points = grid.index_to_lps(np.stack([i, j, k], axis=-1).astype(float))
            distance = np.linalg.norm(points - [x, y, z], axis=-1)
            value = np.clip((radius - distance) / edge + 0.5, 0.0, 1.0).astype(np.float32)
            box = (slice(lo[2], hi[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0]))
            better = value > occupancy[box]
            occupancy[box] = np.where(better, value, occupancy[box])
            owner[box] = np.where(better, number, owner[box])
    return occupancy, owner


def label_map(objects: list[SimObject], grid: Volume, values: dict[str, int]) -> np.ndarray:
    """Voxels whose centre lies inside an object (occupancy >= 0.5) get its kind's value; an
    object too small to cover any voxel centre marks the voxel containing its centre, as a
    reader marks every lesion they see."""
    chosen = [o for o in objects if o.kind in values]
    labels = np.zeros(grid.shape, np.uint8)
    if not chosen:
        return labels
    occupancy, owner = rasterise(chosen, grid)
    for number, obj in enumerate(chosen, start=1):
        inside = (owner == number) & (occupancy >= 0.5)
        if not inside.any():
            i, j, k = np.clip(np.round(grid.lps_to_index(obj.centre)).astype(int), 0, np.array(grid.shape[::-1]) - 1)
            inside = np.zeros(grid.shape, bool)
            inside[k, j, i] = True
        labels[inside] = values[obj.kind]
    return labels


def as_dict(obj: SimObject) -> dict:
    return asdict(obj)
