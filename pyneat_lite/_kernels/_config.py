"""Options shared by every Numba kernel, and the codes they read.

Kernels must see compile-time constants: Numba freezes module-level ints at
compile time, so the activation ids are read here, once, from
:data:`pyneat_lite.activations.ACTIVATIONS` (the one table), and every kernel
imports them from this module.
"""

from __future__ import annotations

import numpy as np

from ..activations import ACTIVATIONS, LEAKY_RELU_SLOPE

# error_model="numpy": a float division by zero gives inf/nan instead of
# raising, which removes a branch from every division and lets LLVM vectorise
# the activation loops.  fastmath "contract" only: fused multiply-adds, but no
# reassociation, so sums keep their written order and results do not depend on
# the vector width or the thread count.
FASTMATH = frozenset({"contract"})
OPTS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": set(FASTMATH)}
#: Options of small helpers inlined at the Numba level, so that LLVM sees a
#: caller's loop whole (a call per value would keep it scalar).
INLINE_OPTS = {"inline": "always", "error_model": "numpy", "fastmath": set(FASTMATH)}
#: Options of kernels whose float64 arithmetic must round exactly as written:
#: environment dynamics (compared step by step with gymnasium, where a fused
#: multiply-add could move a state across a termination bound) and loss
#: reductions (the same numbers as before the kernels moved, and as a NumPy
#: reference summing in the same order).  No fastmath, not even "contract".
EXACT_OPTS = {"cache": True, "nogil": True, "error_model": "numpy"}
#: :data:`EXACT_OPTS` for helpers inlined at the Numba level.
EXACT_INLINE_OPTS = {"inline": "always", "error_model": "numpy"}

LINEAR = ACTIVATIONS["linear"]
RELU = ACTIVATIONS["relu"]
LEAKY_RELU = ACTIVATIONS["leaky_relu"]
ELU = ACTIVATIONS["elu"]
TANH = ACTIVATIONS["tanh"]
SIGMOID = ACTIVATIONS["sigmoid"]
SOFTPLUS = ACTIVATIONS["softplus"]
SIN = ACTIVATIONS["sin"]
GAUSSIAN = ACTIVATIONS["gaussian"]
STEP = ACTIVATIONS["step"]
SOFTMAX = ACTIVATIONS["softmax"]

LEAKY_SLOPE = np.float32(LEAKY_RELU_SLOPE)
