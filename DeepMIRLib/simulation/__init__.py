"""The simulator of multimodal phantoms: SWI, QSM and T2 with microbleeds, iron deposits
and their mimics, on the MNI152 2009a anatomy, from the physics of susceptibility."""
from __future__ import annotations
