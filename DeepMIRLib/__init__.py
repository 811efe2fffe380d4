"""DeepMIRLib: detection of cerebral microbleeds and iron deposits in SWI, QSM and T2 MRI.

Implements the DEEPMIR method (Rashid et al.): preprocessing, a 2-D U-Net, slice-wise
inference, lesion extraction and the paper's detection metrics. Importable without 3D Slicer.
"""

__version__ = "0.1.0"
