"""Type stub of the Cython kernels in ``_operators.pyx`` (no validation)."""

import numpy as np
import numpy.typing as npt

_F32 = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]
_I32 = npt.NDArray[np.int32]
_U64 = npt.NDArray[np.uint64]

def openmp_enabled() -> bool: ...
def _ziggurat_tables() -> tuple[_U64, _F64, _F64]: ...
def _exponential_tables() -> tuple[_U64, _F64, _F64]: ...
def _rng_words(seed: int, n: int) -> _U64: ...
def _rng_draws(seed: int, n: int, kind: int, bound: int = ...) -> _F64: ...
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
