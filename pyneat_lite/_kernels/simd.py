"""Register blocks of 8 float32 values for the small-network kernels.

LLVM vectorises a loop whose trip count it does not know with a vector body
of (vector width x interleave) iterations, 32 to 64 float32 values on an
AVX2 or AVX-512 processor: a 16-wide hidden layer of a small policy never
reaches that body and runs in the scalar remainder, and its accumulators go
through memory.  These intrinsics spell out one block of 8 values as an LLVM
``<8 x float>`` vector, a Numba value of type :data:`F8` (a loop keeps it in
a register; a ``UniTuple`` would be split into 8 scalars at every loop
edge).  LLVM lowers the 8-wide operations to whatever the processor has (one
AVX register, two SSE registers, ...): the block size is a register-blocking
choice, not the machine's vector width.

Every lane does one IEEE ``fma`` per call (``llvm.fma``): exactly what the
scalar loops compiled with fastmath ``contract`` compute for ``a += x * w``
on a processor with FMA, so blocked and scalar code give the same bits
(the tests compare them).  Arrays are 1-D C-contiguous float32 and offsets
unsigned; nothing is bounds-checked (callers stay in range).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

__all__ = ["F8", "add8", "fma8_bcast", "fma8_lanes", "fma8_pairs", "lane8", "load8",
           "store8", "zeros8"]

_V8 = ir.VectorType(ir.FloatType(), 8)
_I32 = ir.IntType(32)


class Float32x8(types.Type):
    """Numba type of a block of 8 float32 lanes (an LLVM vector)."""

    def __init__(self) -> None:
        super().__init__(name="Float32x8")


#: The Numba type of a block.
F8 = Float32x8()


@register_model(Float32x8)
class _Float32x8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):  # noqa: ANN001 (Numba's signature)
        super().__init__(dmm, fe_type, _V8)


def _ptr(context, builder, arr_ty, arr, off, n=8):
    """Address of ``arr[off]`` as a pointer to ``n`` floats."""
    ary = context.make_array(arr_ty)(context, builder, arr)
    p = builder.gep(ary.data, [off], inbounds=True)
    return builder.bitcast(p, ir.VectorType(ir.FloatType(), n).as_pointer())


def _fma(builder, a, b, c):
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(_V8, [_V8, _V8, _V8]), "llvm.fma.v8f32")
    return builder.call(fn, [a, b, c])


def _check_array(arr):
    if not (isinstance(arr, types.Array) and arr.dtype == types.float32
            and arr.ndim == 1):
        raise TypeError("expected a 1-D float32 array")


@intrinsic
def zeros8(typingctx):
    """A block of 8 zeros."""

    def codegen(context, builder, signature, args):
        return ir.Constant(_V8, [0.0] * 8)

    return F8(), codegen


@intrinsic
def lane8(typingctx, block, i):
    """Lane ``i`` (a literal or an integer) of a block, as float32."""
    sig = types.float32(F8, i)

    def codegen(context, builder, signature, args):
        idx = builder.trunc(args[1], _I32) if args[1].type.width > 32 else args[1]
        return builder.extract_element(args[0], idx)

    return sig, codegen


@intrinsic
def load8(typingctx, arr, off):
    """``(arr[off], ..., arr[off + 7])`` as one block."""
    _check_array(arr)

    def codegen(context, builder, signature, args):
        p = _ptr(context, builder, signature.args[0], args[0], args[1])
        return builder.load(p, align=4)

    return F8(arr, off), codegen


@intrinsic
def store8(typingctx, arr, off, block):
    """``arr[off:off + 8] = block``."""
    _check_array(arr)

    def codegen(context, builder, signature, args):
        p = _ptr(context, builder, signature.args[0], args[0], args[1])
        builder.store(args[2], p, align=4)
        return context.get_dummy_value()

    return types.void(arr, off, F8), codegen


@intrinsic
def fma8_bcast(typingctx, x, arr, off, acc):
    """``acc[i] = fma(x, arr[off + i], acc[i])`` for the 8 lanes (one input
    of a wide layer times 8 consecutive weights of its row)."""
    _check_array(arr)

    def codegen(context, builder, signature, args):
        w = builder.load(_ptr(context, builder, signature.args[1], args[1],
                              args[2]), align=4)
        xv = builder.insert_element(ir.Constant(_V8, ir.Undefined), args[0],
                                    ir.Constant(_I32, 0))
        xv = builder.shuffle_vector(xv, ir.Constant(_V8, ir.Undefined),
                                    ir.Constant(ir.VectorType(_I32, 8), [0] * 8))
        return _fma(builder, xv, w, args[3])

    return F8(types.float32, arr, off, F8), codegen


@intrinsic
def fma8_pairs(typingctx, src, soff, arr, off, acc):
    """``acc[i] = fma(src[soff + i // 2], arr[off + i], acc[i])``: four
    inputs of a 2-output layer times its 8 weights ``W[j:j + 4, 0:2]`` (row
    major), lane ``2 r + k`` being running sum ``r`` of output ``k``."""
    _check_array(src)
    _check_array(arr)

    def codegen(context, builder, signature, args):
        s4 = builder.load(_ptr(context, builder, signature.args[0], args[0],
                               args[1], 4), align=4)
        sv = builder.shuffle_vector(
            s4, ir.Constant(ir.VectorType(ir.FloatType(), 4), ir.Undefined),
            ir.Constant(ir.VectorType(_I32, 8), [0, 0, 1, 1, 2, 2, 3, 3]))
        w = builder.load(_ptr(context, builder, signature.args[2], args[2],
                              args[3]), align=4)
        return _fma(builder, sv, w, args[4])

    return F8(src, soff, arr, off, F8), codegen


@intrinsic
def fma8_lanes(typingctx, x, xoff, arr, off, acc):
    """``acc[i] = fma(x[xoff + i], arr[off + i], acc[i])``: 8 lanes of an
    input times 8 lanes of a weight (lane-minor arrays, SIMD over lanes)."""
    _check_array(x)
    _check_array(arr)

    def codegen(context, builder, signature, args):
        xv = builder.load(_ptr(context, builder, signature.args[0], args[0],
                               args[1]), align=4)
        w = builder.load(_ptr(context, builder, signature.args[2], args[2],
                              args[3]), align=4)
        return _fma(builder, xv, w, args[4])

    return F8(x, xoff, arr, off, F8), codegen


@intrinsic
def add8(typingctx, a, b):
    """``a[i] + b[i]`` for the 8 lanes (one IEEE addition each)."""

    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1])

    return F8(F8, F8), codegen
