"""Register blocks of 8 or 16 float32 values for the small-network kernels.

LLVM vectorises a loop whose trip count it does not know with a vector body
of (vector width x interleave) iterations, 32 to 64 float32 values on an
AVX2 or AVX-512 processor: a 16-wide hidden layer of a small policy never
reaches that body and runs in the scalar remainder, and its accumulators go
through memory.  These intrinsics spell out one block of 8 (16) values as an
LLVM ``<8 x float>`` (``<16 x float>``) vector, a Numba value of type
:data:`F8` (:data:`F16`): a loop keeps it in a register; a ``UniTuple``
would be split into scalars at every loop edge.  LLVM lowers the operations
to whatever the processor has (a 16-lane block is one AVX-512 register, two
AVX2 ones): the block size is a register-blocking choice, not the machine's
vector width.  Explicit vectors are also how a kernel gets 512-bit
operations on processors whose tuning makes LLVM's own vectorisers stop at
256 bits (the Xeons with AVX-512).

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

from .math32 import (
    EXP_HI,
    EXP_LN2_HI,
    EXP_LN2_LO,
    EXP_LOG2E,
    EXP_P,
    TANH_CLAMP,
    TANH_P,
    TANH_Q,
)

__all__ = ["F8", "F16", "add8", "add16", "bcast16", "exp_block", "fma8_bcast",
           "fma16", "fma16_bcast", "fma8_pairs", "lane8", "load8",
           "load16", "max16", "relu16", "splat16", "store8", "store16", "sub16",
           "tanh_block", "zeros16"]

_I32 = ir.IntType(32)
_FLT = ir.FloatType()


class Float32xN(types.Type):
    """Numba type of a block of ``n`` float32 lanes (an LLVM vector)."""

    def __init__(self, n: int) -> None:
        self.count = n
        super().__init__(name=f"Float32x{n}")


#: The Numba types of a block of 8 and of 16 lanes.
F8 = Float32xN(8)
F16 = Float32xN(16)


@register_model(Float32xN)
class _Float32xNModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):  # noqa: ANN001 (Numba's signature)
        super().__init__(dmm, fe_type, ir.VectorType(_FLT, fe_type.count))


def _ptr(context, builder, arr_ty, arr, off, n=8):
    """Address of ``arr[off]`` as a pointer to ``n`` floats."""
    ary = context.make_array(arr_ty)(context, builder, arr)
    p = builder.gep(ary.data, [off], inbounds=True)
    return builder.bitcast(p, ir.VectorType(_FLT, n).as_pointer())


def _fma(builder, a, b, c):
    vt = a.type
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vt, [vt, vt, vt]),
        f"llvm.fma.v{vt.count}f32")
    return builder.call(fn, [a, b, c])


def _check_array(arr):
    if not (isinstance(arr, types.Array) and arr.dtype == types.float32
            and arr.ndim == 1):
        raise TypeError("expected a 1-D float32 array")


def _named(fn, name, doc):
    """``fn`` as an intrinsic called ``name`` (one per block width)."""
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return intrinsic(fn)


def _zeros(n):
    def zeros(typingctx):
        def codegen(context, builder, signature, args):
            return ir.Constant(ir.VectorType(_FLT, n), [0.0] * n)

        return Float32xN(n)(), codegen

    return _named(zeros, f"zeros{n}", f"A block of {n} zeros.")


def _load(n):
    def load(typingctx, arr, off):
        _check_array(arr)

        def codegen(context, builder, signature, args):
            p = _ptr(context, builder, signature.args[0], args[0], args[1], n)
            return builder.load(p, align=4)

        return Float32xN(n)(arr, off), codegen

    return _named(load, f"load{n}",
                  f"``(arr[off], ..., arr[off + {n - 1}])`` as one block.")


def _store(n):
    def store(typingctx, arr, off, block):
        _check_array(arr)

        def codegen(context, builder, signature, args):
            p = _ptr(context, builder, signature.args[0], args[0], args[1], n)
            builder.store(args[2], p, align=4)
            return context.get_dummy_value()

        return types.void(arr, off, Float32xN(n)), codegen

    return _named(store, f"store{n}", f"``arr[off:off + {n}] = block``.")


def _add(n):
    def add(typingctx, a, b):
        def codegen(context, builder, signature, args):
            return builder.fadd(args[0], args[1])

        t = Float32xN(n)
        return t(t, t), codegen

    return _named(add, f"add{n}",
                  f"``a[i] + b[i]`` for the {n} lanes (one IEEE addition each).")


def _sub(n):
    def sub(typingctx, a, b):
        def codegen(context, builder, signature, args):
            return builder.fsub(args[0], args[1])

        t = Float32xN(n)
        return t(t, t), codegen

    return _named(sub, f"sub{n}",
                  f"``a[i] - b[i]`` for the {n} lanes (one IEEE subtraction each).")


zeros8, zeros16 = _zeros(8), _zeros(16)
load8, load16 = _load(8), _load(16)
store8, store16 = _store(8), _store(16)
add8, add16 = _add(8), _add(16)
sub16 = _sub(16)


def _splat(builder, x):
    """The 16-lane vector whose lanes all equal the float32 value ``x``."""
    undef = ir.Constant(ir.VectorType(_FLT, 16), ir.Undefined)
    v = builder.insert_element(undef, x, ir.Constant(_I32, 0))
    zeros = ir.Constant(ir.VectorType(_I32, 16), [0] * 16)
    return builder.shuffle_vector(v, undef, zeros)


@intrinsic
def splat16(typingctx, x):
    """A block of 16 lanes equal to the float32 ``x``."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return _splat(builder, args[0])

    return F16(types.float32), codegen


@intrinsic
def bcast16(typingctx, arr, off):
    """A block of 16 lanes equal to ``arr[off]`` (no index wraparound)."""
    _check_array(arr)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        x = builder.load(builder.gep(ary.data, [args[1]], inbounds=True), align=4)
        return _splat(builder, x)

    return F16(arr, off), codegen


@intrinsic
def fma16(typingctx, a, b, c):
    """``fma(a[i], b[i], c[i])`` for the 16 lanes (one IEEE fma each: what
    ``c + a * b`` compiles to under fastmath ``contract``)."""
    if not (a == F16 and b == F16 and c == F16):
        return None

    def codegen(context, builder, signature, args):
        return _fma(builder, args[0], args[1], args[2])

    return F16(F16, F16, F16), codegen


@intrinsic
def max16(typingctx, a, b):
    """``a[i] if a[i] > b[i] else b[i]`` for the 16 lanes."""
    if not (a == F16 and b == F16):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(builder.fcmp_ordered(">", args[0], args[1]), args[0],
                              args[1])

    return F16(F16, F16), codegen


@intrinsic
def exp_block(typingctx, block):
    """:func:`.math32.exp32` of every lane of a block (8 or 16 lanes): its
    operations in its order (clamp, ``floor(x log2(e) + 1/2)``, the two-part
    reduction, the degree-6 polynomial, ``2**n`` in two halves from exponent
    bits), the multiply-adds as the ``fma`` that fastmath ``contract`` makes
    of them."""
    if not isinstance(block, Float32xN):
        return None

    def codegen(context, builder, signature, args):
        x = args[0]
        vt = x.type
        it = ir.VectorType(_I32, vt.count)

        def splat(c):
            return ir.Constant(vt, [float(c)] * vt.count)

        def isplat(c):
            return ir.Constant(it, [int(c)] * vt.count)

        lo, hi = splat(-104.0), splat(EXP_HI)
        x = builder.select(builder.fcmp_ordered(">", lo, x), lo, x)
        x = builder.select(builder.fcmp_ordered("<", hi, x), hi, x)
        fl = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vt, [vt]), f"llvm.floor.v{vt.count}f32")
        n = builder.call(fl, [_fma(builder, x, splat(EXP_LOG2E), splat(0.5))])
        nn = builder.fneg(n)
        r = _fma(builder, nn, splat(EXP_LN2_HI), x)
        r = _fma(builder, nn, splat(EXP_LN2_LO), r)
        p = splat(EXP_P[0])
        for c in EXP_P[1:]:
            p = _fma(builder, p, r, splat(c))
        p = _fma(builder, builder.fmul(p, r), r, r)
        p = builder.fadd(p, splat(1.0))
        ni = builder.fptosi(n, it)
        n1 = builder.ashr(ni, isplat(1))
        n2 = builder.sub(ni, n1)
        s1 = builder.bitcast(builder.shl(builder.add(n1, isplat(127)), isplat(23)), vt)
        s2 = builder.bitcast(builder.shl(builder.add(n2, isplat(127)), isplat(23)), vt)
        return builder.fmul(builder.fmul(p, s1), s2)

    return block(block), codegen


@intrinsic
def relu16(typingctx, a):
    """``max(a[i], 0)`` for the 16 lanes as Numba lowers the scalar ``max(x,
    0.0)`` (``x > 0 ? x : 0``; NaN gives 0)."""
    if a != F16:
        return None

    def codegen(context, builder, signature, args):
        zero = ir.Constant(ir.VectorType(_FLT, 16), [0.0] * 16)
        return builder.select(builder.fcmp_ordered(">", args[0], zero), args[0], zero)

    return F16(F16), codegen


@intrinsic
def lane8(typingctx, block, i):
    """Lane ``i`` (a literal or an integer) of a block, as float32."""
    sig = types.float32(F8, i)

    def codegen(context, builder, signature, args):
        idx = builder.trunc(args[1], _I32) if args[1].type.width > 32 else args[1]
        return builder.extract_element(args[0], idx)

    return sig, codegen


def _fma_bcast(n):
    def fma_bcast(typingctx, x, arr, off, acc):
        _check_array(arr)

        def codegen(context, builder, signature, args):
            vt = ir.VectorType(_FLT, n)
            w = builder.load(_ptr(context, builder, signature.args[1], args[1],
                                  args[2], n), align=4)
            xv = builder.insert_element(ir.Constant(vt, ir.Undefined), args[0],
                                        ir.Constant(_I32, 0))
            xv = builder.shuffle_vector(xv, ir.Constant(vt, ir.Undefined),
                                        ir.Constant(ir.VectorType(_I32, n), [0] * n))
            return _fma(builder, xv, w, args[3])

        t = Float32xN(n)
        return t(types.float32, arr, off, t), codegen

    return _named(fma_bcast, f"fma{n}_bcast", (
        f"``acc[i] = fma(x, arr[off + i], acc[i])`` for the {n} lanes (one input "
        f"of a wide layer times {n} consecutive weights of its row)."))


fma8_bcast, fma16_bcast = _fma_bcast(8), _fma_bcast(16)


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
def tanh_block(typingctx, block):
    """:func:`.math32.tanh32` of every lane of a block (8 or 16 lanes): the
    same operations in the same order (clamp, ``x * x``, one ``fma`` per
    coefficient, the product by ``x``, one IEEE division), so each lane is
    ``tanh32`` of it bit for bit; written as vector operations of the
    block's width because LLVM's loop vectoriser keeps to 256-bit vectors
    on processors that prefer them, while a 16-lane block is one AVX-512
    register."""
    if not isinstance(block, Float32xN):
        return None

    def codegen(context, builder, signature, args):
        x = args[0]
        vt = x.type

        def splat(c):
            return ir.Constant(vt, [float(c)] * vt.count)

        lo, hi = splat(-TANH_CLAMP), splat(TANH_CLAMP)
        # min(max(x, -c), c) as Numba lowers it (NaN passes through)
        x = builder.select(builder.fcmp_ordered(">", lo, x), lo, x)
        x = builder.select(builder.fcmp_ordered("<", hi, x), hi, x)
        x2 = builder.fmul(x, x)
        p = splat(TANH_P[0])
        for c in TANH_P[1:]:
            p = _fma(builder, p, x2, splat(c))
        p = builder.fmul(p, x)
        q = splat(TANH_Q[0])
        for c in TANH_Q[1:]:
            q = _fma(builder, q, x2, splat(c))
        return builder.fdiv(p, q)

    return block(block), codegen
