"""Which Python packages DeepMIR still needs in a given Python (3D Slicer's), and how to get them.

Pure logic, standard library plus `packaging` (Slicer ships it): the Slicer module asks for an
`InstallPlan` on the first Run, shows it in one confirmation dialog, installs PyTorch through
the PyTorch extension (which picks the CUDA or CPU build that fits the computer) and the rest
with pip, constrained to the versions of the packages Slicer itself provides, so that Slicer's
own numpy, scipy, SimpleITK and vtk are never replaced.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

# What detection needs at run time in Slicer's Python (the worker and the scene layer), and
# so what the Slicer module installs. These are [project] dependencies of pyproject.toml with
# the same specifiers (a test keeps them so); the others there (tqdm, matplotlib, nilearn)
# serve only the command line, its figures and the simulator, which never run inside Slicer.
# An installed Slicer extension carries no pyproject.toml, so the list lives here.
REQUIREMENTS = (
    "numpy>=1.24",
    "scipy>=1.10",
    "SimpleITK>=2.2",  # Slicer 5.6 ships 2.2.1, 5.8 2.3.1, 5.10 2.5.2
    "nibabel>=4",
    "torch>=2.1",
    "safetensors>=0.4",
    "packaging>=21",
)

# built into Slicer: replacing them would break it (Slicer's SimpleITK has its own IO classes)
SLICER_PROVIDES = ("numpy", "scipy", "SimpleITK", "vtk")
# installed by the PyTorch extension's PyTorchUtils, never by plain pip
TORCH = "torch"


def installed_version(name: str) -> str | None:
    """The version of an installed distribution, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def is_satisfied(requirement: str, installed: Callable[[str], str | None] = installed_version) -> bool:
    """True when the package is installed in a version the requirement accepts."""
    parsed = Requirement(requirement)
    version = installed(parsed.name)
    if version is None:
        return False
    try:
        return parsed.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def missing_requirements(requirements: Iterable[str] = REQUIREMENTS, installed: Callable[[str], str | None] = installed_version) -> list[str]:
    """The requirements that are not installed, or installed in a version too old or too new."""
    return [r for r in requirements if not is_satisfied(r, installed)]


@dataclass
class InstallPlan:
    torch: str | None = None  # the torch requirement, for PyTorchUtils
    pip: list[str] = field(default_factory=list)  # requirements for pip
    constraints: list[str] = field(default_factory=list)  # 'name==version' pins of Slicer's own packages
    conflicts: list[str] = field(default_factory=list)  # Slicer's own packages that do not fit

    @property
    def empty(self) -> bool:
        return self.torch is None and not self.pip and not self.conflicts

    def describe(self) -> list[str]:
        """One line per package to install, for the confirmation dialog."""
        lines = []
        if self.torch:
            lines.append(f"{self.torch} (through the PyTorch extension; can take several minutes)")
        return lines + self.pip


def slicer_install_plan(requirements: Iterable[str] = REQUIREMENTS, installed: Callable[[str], str | None] = installed_version) -> InstallPlan:
    """What to install into Slicer's Python so that DeepMIR runs there."""
    own = {canonicalize_name(name) for name in SLICER_PROVIDES}
    plan = InstallPlan()
    for requirement in missing_requirements(requirements, installed):
        name = canonicalize_name(Requirement(requirement).name)
        if name in own:
            found = installed(name)
            plan.conflicts.append(f"{requirement} (Slicer provides {found or 'none'}; DeepMIR does not replace it)")
        elif name == TORCH:
            plan.torch = requirement
        else:
            plan.pip.append(requirement)
    if plan.pip:
        plan.constraints = [f"{name}=={installed(name)}" for name in SLICER_PROVIDES if installed(name)]
    return plan
