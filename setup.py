"""Build the Cython extensions, with OpenMP where the compiler supports it.

The OpenMP probe compiles and links a tiny program (as scikit-learn's
``_build_utils.openmp_helpers`` does); when it fails the extension is built
serial and a warning is printed: ``prange`` then runs on one thread with the
same results.  ``PYNEAT_LITE_NO_OPENMP=1`` forces the serial build and
``PYNEAT_LITE_DEBUG_CYTHON=1`` turns bounds checking back on.
"""

import os
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _openmp_flag(compiler) -> list[str]:
    if sys.platform == "win32":
        return ["/openmp"]
    if sys.platform == "darwin":
        return []  # Apple clang: flags come from CPPFLAGS/LDFLAGS
    return ["-fopenmp"]


def _check_openmp(compiler) -> bool:
    if os.environ.get("PYNEAT_LITE_NO_OPENMP"):
        return False
    flags = _openmp_flag(compiler)
    code = textwrap.dedent(
        """
        #include <omp.h>
        int main(void) {
            int n = 0;
            #pragma omp parallel reduction(+:n)
            n += 1;
            return n > 0 ? 0 : 1;
        }
        """
    )
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(code)
        try:
            objs = compiler.compile([str(src)], output_dir=tmp, extra_postargs=flags)
            compiler.link_executable(
                objs, str(Path(tmp) / "probe"), extra_postargs=flags
            )
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    def build_extensions(self):
        use_openmp = _check_openmp(self.compiler)
        if not use_openmp:
            print(
                "WARNING: OpenMP not available; pyneat_lite operators will run "
                "on one thread (results are identical).",
                file=sys.stderr,
            )
        # no FMA contraction: the operators' float results stay bit-identical
        # across platforms and with the pure-Python test reference
        opt = ["/O2"] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]
        for ext in self.extensions:
            ext.extra_compile_args = opt + (
                _openmp_flag(self.compiler) if use_openmp else []
            )
            ext.extra_link_args = _openmp_flag(self.compiler) if use_openmp else []
        super().build_extensions()


_debug = bool(os.environ.get("PYNEAT_LITE_DEBUG_CYTHON"))
directives = {
    "language_level": 3,
    "boundscheck": _debug,
    "wraparound": False,
    "initializedcheck": _debug,
    "cdivision": True,
    "nonecheck": False,
}

# Two extensions: the RNG's slow paths and test shims (_rng, small) and the
# kernels (_evolution), which cimports _rng.  A new Cython module cimports
# pyneat_lite._operators._rng the same way.
extensions = [
    Extension(
        f"pyneat_lite._operators.{name}",
        [f"pyneat_lite/_operators/{name}.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_22_API_VERSION")],
    )
    for name in ("_rng", "_evolution")
]

setup(
    ext_modules=cythonize(extensions, compiler_directives=directives),
    cmdclass={"build_ext": BuildExt},
)
