"""Type aliases shared by the package."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Float32Array = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SeedLike = int | np.random.SeedSequence | None

__all__ = ["Float32Array", "Float64Array", "IntArray", "SeedLike"]
