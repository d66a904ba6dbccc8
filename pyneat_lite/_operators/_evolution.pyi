"""Type stub of the Cython kernels in ``_evolution.pyx`` (no validation)."""

import enum

import numpy as np
import numpy.typing as npt

_F32 = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]
_I32 = npt.NDArray[np.int32]
_U64 = npt.NDArray[np.uint64]

class SelectionCode(enum.IntEnum):
    SEL_PRE = 0
    SEL_TOURNAMENT = 1
    SEL_CDF = 2
    SEL_CAND = 3

class CrossoverCode(enum.IntEnum):
    CX_COPY = 0
    CX_UNIFORM = 1
    CX_KPOINT = 2
    CX_BLEND = 3
    CX_BLX = 4
    CX_SBX = 5
    CX_NEURON = 6
    CX_PATCH = 7

class MutationCode(enum.IntEnum):
    MUT_GAUSS = 0
    MUT_RESET = 1
    MUT_NGENE = 2
    MUT_FLIP = 3
    MUT_POLY = 4
    MUT_BLOCK = 5
    MUT_CLIP = 6

N_PRM: int
MAX_CUTS: int

def openmp_enabled() -> bool: ...
def _last_team() -> list[int]: ...
def _standard_normal(out: _F32, seeds: _U64, n_threads: int) -> None: ...
def _uniform(out: _F64, seeds: _U64, n_threads: int) -> None: ...
def _select(
    out: _I64, seeds: _U64, code: int, k: int, f: _F64, cand: _I64, n_threads: int
) -> None: ...
def _sus(out: _I64, cdf: _F64, seed: int | np.uint64) -> None: ...
def _cross(
    pa: _F32,
    pb: _F32,
    out: _F32,
    seeds: _U64,
    code: int,
    prm: _F64,
    iprm: _I64,
    n_threads: int,
) -> None: ...
def _mate(
    pop: _F32,
    out: _F32,
    seeds: _U64,
    code: int,
    prm: _F64,
    iprm: _I64,
    n_threads: int,
) -> None: ...
def _mutate(
    pop: _F32,
    out: _F32,
    seeds: _U64,
    codes: _I32,
    prm: _F64,
    aux: _F32,
    n_threads: int,
) -> None: ...
def _next_generation(
    parents: _F32,
    out: _F32,
    pairs: _I64,
    seeds: _U64,
    n_elite: int,
    sel_code: int,
    sel_k: int,
    sel_f: _F64,
    sel_cand: _I64,
    cx_code: int,
    cx_prm: _F64,
    cx_iprm: _I64,
    cx_prob: float,
    mut_codes: _I32,
    mut_prm: _F64,
    mut_aux: _F32,
    mut_prob: float,
    n_threads: int,
) -> None: ...
def _count_nonfinite(x: _F32, n_threads: int) -> int: ...
