"""Which packages the wheel holds; everything else about the package is in pyproject.toml.

pyproject's package discovery cannot reach outside the package folders, and the bundled
models, registry and terminology live in the repository's top-level Resources/ folder (the
3D Slicer extension's; their one copy). It is installed as the data-only package
DeepMIRLib.Resources (with its subfolders), where DeepMIRLib/bundled.py finds it.
"""

from setuptools import find_namespace_packages, find_packages, setup

RESOURCES = ["DeepMIRLib.Resources"] + [f"DeepMIRLib.Resources.{name}" for name in find_namespace_packages(where="Resources")]

setup(
    packages=find_packages(include=["DeepMIRLib", "DeepMIRLib.*"]) + RESOURCES,
    package_dir={"DeepMIRLib.Resources": "Resources"},
    package_data={"DeepMIRLib.Resources": ["**/*"]},
)
