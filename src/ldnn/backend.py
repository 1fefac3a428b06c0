"""Which array module the math runs on.

The propagation formulas never hard-wire ``np.``: they ask the arrays which module made
them, so the same code runs on NumPy arrays and on any module with NumPy's API (CuPy
implements it). CuPy is only consulted when the user has already imported it.
"""

from __future__ import annotations

import sys
from types import ModuleType

import numpy as np


def get_xp(*arrays) -> ModuleType:
    """Return the array module (``numpy`` or ``cupy``) that owns ``arrays``."""
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        return cupy.get_array_module(*arrays)
    return np
