"""The compiled kernels of :mod:`seglab.cluster.fuzzy`: one fused, deterministic pass per iteration.

Internal. Every kernel and everything it inlines live in this one file, because numba's disk
cache is invalidated by changes to a kernel's own file only.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from seglab.cluster.numba_cache import cached_njit

#: Points per block (see the kernels' comment); block buffers have rows of ``BLOCK + _ROW_PAD``,
#: a stride that is not a power of two. Chunks of points start on multiples of BLOCK.
BLOCK = 64
_ROW_PAD = 8
#: Distances are summed over groups of this many features (zero-padded), four at a time.
_GROUP = 4


def _jit(**options):
    """A cached ``numba.njit`` (:func:`~seglab.cluster.numba_cache.cached_njit`) for the kernels.

    ``error_model="numpy"`` (division by zero gives inf, no branch) lets the loops vectorise. No
    fastmath: IEEE operations and explicit fused multiply-adds (:func:`_fma`), so the bits do not
    depend on how a loop is vectorised.
    """
    return cached_njit(error_model="numpy", **options)


# Scalar building blocks: fused multiply-adds, bit casts, a float32 power that vectorises.


@intrinsic
def _fma(typingctx, a, b, c):  # pragma: no cover - compiled
    """``a * b + c`` rounded once (llvm.fma), for three float64 or three float32: the same bits
    in every loop that uses it."""
    if not (a == b == c and a in (types.float64, types.float32)):
        return None

    def codegen(context, builder, signature, args):
        real = ir.DoubleType() if a == types.float64 else ir.FloatType()
        fnty = ir.FunctionType(real, [real, real, real])
        return builder.call(builder.module.declare_intrinsic("llvm.fma", [real], fnty), args)

    return a(a, a, a), codegen


def _bit_cast(source, target):
    """An intrinsic that reinterprets the bits of a ``source`` as a ``target`` (numba types)."""
    llvm_types = {
        types.float64: ir.DoubleType(), types.int64: ir.IntType(64),
        types.float32: ir.FloatType(), types.int32: ir.IntType(32),
    }  # fmt: skip

    @intrinsic
    def cast(typingctx, x):  # pragma: no cover - compiled
        if x != source:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], llvm_types[target])

        return target(source), codegen

    return cast


_bits = _bit_cast(types.float64, types.int64)
_from_bits = _bit_cast(types.int64, types.float64)
_bits32 = _bit_cast(types.float32, types.int32)
_from_bits32 = _bit_cast(types.int32, types.float32)


@intrinsic
def _wide_vectors(typingctx):  # pragma: no cover - compiled
    """Let LLVM vectorise the calling kernel with 512-bit registers where the CPU has them.

    On Intel CPUs LLVM prefers 256-bit vectors, also with AVX-512; the string attribute
    ``"prefer-vector-width"="512"`` on the caller lifts that for this kernel alone (numba's other
    users, and their caches, are untouched). The bits do not change: every operation is IEEE.
    """

    def codegen(context, builder, signature, args):
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')  # a string attribute
        return context.get_dummy_value()

    return types.none(), codegen


_TWO54 = 18014398509481984.0
_SQRT2 = 1.4142135623730951
_TINY = 2.2250738585072014e-308  # smallest normal float64
_F32 = np.float32
#: ln 2 as 355 / 512 (9 bits: its product by an integer below 2 ** 15 is exact) plus the rest.
_LN2_HI = _F32(355 / 512)
_LN2_LO = _F32(math.log(2.0) - 355 / 512)
_LOG2E = _F32(1 / math.log(2.0))
_ROUND = _F32(1.5 * 2**23)  # adding it rounds a float32 of magnitude < 2 ** 22 to an integer
_ROUND_BITS = np.int32(0x4B400000)  # the bits of _ROUND
_EXPONENT_BIAS = np.int32(127)
#: exp(t) counts as 0 below this: exp(-87) is still a normal float32 (no slow subnormals).
_FLOOR = _F32(-87.0)
_ZERO = _F32(0.0)
#: The exponent given to x = 0: finite (-inf times ln 2's negative low part would make a NaN), and
#: small enough that x ** a is 0 for any a > 1e-27.
_ZERO_EXPONENT = _F32(-(2.0**100))
_TWO = _F32(2.0)
#: 1 / 9, 1 / 7, ..., 1: the series 2 atanh(s) = 2 s (1 + s^2 / 3 + ... + s^8 / 9).
_ATANH_SERIES = tuple(_F32(1 / k) for k in (7, 5, 3, 1))
#: 1 / 6!, ..., 1 / 0!: exp's Taylor polynomial after its leading 1 / 7!.
_EXP_TAYLOR = tuple(_F32(1 / math.factorial(k)) for k in range(6, -1, -1))


@njit(inline="always")
def _split(x):  # pragma: no cover - compiled
    """``(f, k)`` as float32 with ``x = 2 ** k (1 + f)``, ``1 + f`` in [sqrt(2)/2, sqrt(2)), for a
    finite float64 ``x >= 0``, subnormals included; ``x = 0`` gives ``k = -2 ** 100``, ``f = 0``."""
    tiny = x < _TINY
    bits = _bits(x * _TWO54 if tiny else x)
    k = (bits >> 52) - (1023 + 54 if tiny else 1023)
    y = _from_bits((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = y > _SQRT2
    k = _F32(k + 1 if big else k)
    return _F32((y * 0.5 if big else y) - 1.0), _ZERO_EXPONENT if x == 0.0 else k


@njit(inline="always")
def _power32(f, k, a):  # pragma: no cover - compiled
    """``x ** a`` in float32 for ``x = 2 ** k (1 + f)`` (:func:`_split`), when ``x ** a <= 1``.

    Within ``(1 + |log(x ** a)|) * 2.5e-7`` relatively, within 2.5e-7 absolutely; 0 below
    exp(-87) and for ``x = 0``. No branch nor table, so a loop calling it vectorises (16 lanes
    with AVX-512): ``log(1 + f) = 2 atanh(f / (2 + f))`` by its series, then
    ``exp(t) = 2 ** n exp(g)`` with ``|g| <= ln(2) / 2`` by its Taylor polynomial of degree 7.
    """
    s = f / (_TWO + f)
    z = s * s
    q = _F32(1 / 9)
    for coefficient in _ATANH_SERIES:  # a constant tuple: the loop is unrolled
        q = _fma(q, z, coefficient)
    log_x = _fma(k, _LN2_HI, _fma(k, _LN2_LO, _TWO * s * q))
    t = max(a * log_x, _FLOOR)
    rounded = _fma(t, _LOG2E, _ROUND)
    n = _bits32(rounded) - _ROUND_BITS
    nf = rounded - _ROUND
    g = _fma(-nf, _LN2_LO, _fma(-nf, _LN2_HI, t))
    p = _F32(1 / 5040)
    for coefficient in _EXP_TAYLOR:
        p = _fma(p, g, coefficient)
    power = p * _from_bits32(np.int32((n + _EXPONENT_BIAS) << 23))
    return _ZERO if t == _FLOOR else power


# Kernels. The points are copied once per fit into tiles (:func:`tile`): blocks of BLOCK points
# held feature-major (one row of BLOCK values per feature, zero-padded), so every inner loop runs
# over a block's points and vectorises, and a block is one contiguous read. A chunk of points is
# processed block by block; each point's share of the next centres goes to per-lane accumulators
# added up in a fixed order at the end of the chunk. No n x c temporaries; the bits do not depend
# on threads. The last block's padding points get zero weight: one copy of the loops serves all.
#
# With squared distances d_j, r_j = min(d) / d_j in (0, 1], a = 1 / (m - 1), e_j = r_j ** a and
# s = sum_j e_j: u_j = e_j / s (nothing overflows), u_j ** m = u_j r_j s ** (1 - m), and the
# point's objective term is min(d) s ** (1 - m). For m = 2 no power at all (e_j = r_j): the
# float64 iterates of the textbook formulas. Otherwise a power per point and centre and one per
# point, in float32 (:func:`_power32`; twice the lanes and half the polynomials of float64,
# whose powers took 9 of the 23 ms of a pass at 1M x 8, c = 6): memberships within about 1e-7
# of the float64 ones, everything else in float64.
# The two cases are two compilations of one chunk loop (:func:`_chunk_loop`), chosen per chunk.


def _chunk_loop(two):
    """The block loop of a chunk for m = 2 (``two``) or any other m, inlined in its caller."""

    @njit(inline="always")
    def loop(tiles, n_samples, centres, m, lo, hi, u_all, compare, acc_num, acc_den, acc_lane):
        """Points ``lo:hi`` (``lo`` a multiple of BLOCK): memberships into ``u_all`` (compared
        first with the previous ones when ``compare``), sums into the accumulators.

        A point on a centre (min(d) = 0, or every d_j overflowing to inf) gets r_j = 1 for the
        closest centres and 0 for the others: it belongs to them alone, in equal shares.
        """
        n_clusters, n_padded = centres.shape
        width = BLOCK + _ROW_PAD
        dt = np.empty((n_clusters, width))
        rt = np.empty((n_clusters, width))
        et = rt if two else np.empty((n_clusters, width))  # e_j, then u_j
        wt = np.empty((n_clusters, width))
        lanes = np.empty((3, width))
        dmin, inv_s, g = lanes[0], lanes[1], lanes[2]  # min(d), 1 / s, s ** (1 - m)
        a = _F32(1.0 / (m - 1.0))
        one_minus_m = _F32(1.0 - m)
        # float32 rows for the powers: x = 2 ** k (1 + f), then x ** a; the last row for s
        work = np.empty((3, n_clusters + 1, width), dtype=np.float32)
        fpart, kpart, power = work[0], work[1], work[2]
        for start in range(lo, hi, BLOCK):
            nb = min(BLOCK, n_samples - start)
            xt = tiles[start // BLOCK]
            for b in range(BLOCK):
                dmin[b] = np.inf
            for j in range(n_clusters):
                for b in range(BLOCK):
                    dt[j, b] = 0.0
                for q in range(0, n_padded, _GROUP):
                    c0 = centres[j, q]
                    c1 = centres[j, q + 1]
                    c2 = centres[j, q + 2]
                    c3 = centres[j, q + 3]
                    x0 = xt[q]
                    x1 = xt[q + 1]
                    x2 = xt[q + 2]
                    x3 = xt[q + 3]
                    for b in range(BLOCK):
                        e0 = x0[b] - c0
                        e1 = x1[b] - c1
                        e2 = x2[b] - c2
                        e3 = x3[b] - c3
                        dt[j, b] = _fma(e3, e3, _fma(e2, e2, _fma(e1, e1, _fma(e0, e0, dt[j, b]))))
                for b in range(BLOCK):
                    d = dt[j, b]
                    d_min = dmin[b]
                    dmin[b] = d if d < d_min else d_min
            for b in range(BLOCK):
                inv_s[b] = 0.0
            for j in range(n_clusters):
                for b in range(BLOCK):
                    d = dt[j, b]
                    d_min = dmin[b]
                    tie = 1.0 if d == d_min else 0.0
                    r = tie if (d_min == 0.0 or d_min == np.inf) else d_min / d
                    rt[j, b] = r
                    if two:
                        inv_s[b] += r
                    else:
                        fpart[j, b], kpart[j, b] = _split(r)
                if not two:  # a loop of float32 alone: 16 lanes with AVX-512
                    for b in range(BLOCK):
                        power[j, b] = _power32(fpart[j, b], kpart[j, b], a)
                    for b in range(BLOCK):
                        e = np.float64(power[j, b])
                        et[j, b] = e
                        inv_s[b] += e
            if not two:
                for b in range(BLOCK):
                    fpart[n_clusters, b], kpart[n_clusters, b] = _split(inv_s[b])
                for b in range(BLOCK):
                    power[n_clusters, b] = _power32(
                        fpart[n_clusters, b], kpart[n_clusters, b], one_minus_m
                    )
            for b in range(BLOCK):
                s = inv_s[b]
                inv_s[b] = 1.0 / s
                g[b] = 1.0 / s if two else np.float64(power[n_clusters, b])
                term = dmin[b] * g[b]
                acc_lane[0, b] += term if b < nb else 0.0
            for j in range(n_clusters):
                for b in range(BLOCK):
                    u = et[j, b] * inv_s[b]
                    w = u * rt[j, b] * g[b]
                    w = w if b < nb else 0.0
                    wt[j, b] = w
                    acc_den[j, b] += w
                    et[j, b] = u
                uj = u_all[j, start:]  # a slice: its index cannot be negative, loops vectorise
                if compare:
                    for b in range(nb):
                        u = et[j, b]
                        delta = abs(u - uj[b])
                        change = acc_lane[1, b]
                        acc_lane[1, b] = delta if delta > change else change
                        uj[b] = u
                else:
                    for b in range(nb):
                        uj[b] = et[j, b]
            for j in range(n_clusters):
                for f in range(acc_num.shape[1]):
                    x = xt[f]
                    for b in range(BLOCK):
                        acc_num[j, f, b] = _fma(wt[j, b], x[b], acc_num[j, f, b])

    return loop


_loop_two = _chunk_loop(True)
_loop_general = _chunk_loop(False)


@_jit()
def _pass_chunk(
    tiles, n_samples, centres, m, bounds, k, u_all, compare, num, den, stats
):  # pragma: no cover
    """Chunk ``k`` of a pass for the (zero-padded) ``centres``; called by both pass kernels.

    Writes the chunk's memberships into ``u_all`` (c x n; compared first with the previous ones
    when ``compare``), the next centres' weighted sums ``num[k]`` and weights ``den[k]``, the
    objective ``stats[k, 0]`` and the largest membership change ``stats[k, 1]``.
    """
    _wide_vectors()
    n_clusters = centres.shape[0]
    n_features = num.shape[2]
    width = BLOCK + _ROW_PAD
    acc_num = np.zeros((n_clusters, n_features, width))
    acc_den = np.zeros((n_clusters, width))
    acc_lane = np.zeros((2, width))  # objective, largest change
    lo = bounds[k]
    hi = bounds[k + 1]
    if m == 2.0:
        _loop_two(tiles, n_samples, centres, m, lo, hi, u_all, compare, acc_num, acc_den, acc_lane)
    else:
        _loop_general(
            tiles, n_samples, centres, m, lo, hi, u_all, compare, acc_num, acc_den, acc_lane
        )
    objective = 0.0
    change = 0.0
    for b in range(BLOCK):
        objective += acc_lane[0, b]
        change = max(change, acc_lane[1, b])
    stats[k, 0] = objective
    stats[k, 1] = change
    for j in range(n_clusters):
        total = 0.0
        for b in range(BLOCK):
            total += acc_den[j, b]
        den[k, j] = total
        for f in range(n_features):
            total = 0.0
            for b in range(BLOCK):
                total += acc_num[j, f, b]
            num[k, j, f] = total


@_jit(parallel=True)
def fcm_pass_parallel(
    tiles, n_samples, centres, m, bounds, u_all, compare, num, den, stats
):  # pragma: no cover
    """All chunks of a pass, spread over numba's threads."""
    for k in prange(bounds.shape[0] - 1):
        # prange counts in uint64: an int64 index, so both kernels call one compiled chunk
        _pass_chunk(
            tiles, n_samples, centres, m, bounds, np.int64(k), u_all, compare, num, den, stats
        )


@_jit()
def fcm_pass_serial(
    tiles, n_samples, centres, m, bounds, u_all, compare, num, den, stats
):  # pragma: no cover
    """All chunks of a pass, one after the other (same chunks, so the same bits)."""
    for k in range(bounds.shape[0] - 1):
        _pass_chunk(tiles, n_samples, centres, m, bounds, k, u_all, compare, num, den, stats)


@_jit(parallel=True)
def tile(X, bounds, out):  # pragma: no cover - compiled
    """Fill ``out`` (n_blocks x n_padded x BLOCK) with the rows of ``X`` in tiles: block ``i``
    holds points ``i * BLOCK`` onwards feature-major, zero-padded to BLOCK points and n_padded
    features. ``bounds`` are chunk bounds on multiples of BLOCK.
    """
    n_samples, n_features = X.shape
    for k in prange(bounds.shape[0] - 1):
        for start in range(bounds[k], bounds[k + 1], BLOCK):
            nb = min(BLOCK, n_samples - start)
            xt = out[start // BLOCK]
            for b in range(nb):
                for f in range(n_features):
                    xt[f, b] = X[start + b, f]
            for f in range(out.shape[1]):
                for b in range(nb if f < n_features else 0, BLOCK):
                    xt[f, b] = 0.0


@_jit()
def combine(num, den, stats, centres, new_centres):  # pragma: no cover - compiled
    """Add the chunk partials in chunk order into ``new_centres``; return (objective, change).

    A centre of zero total weight keeps its place; the padding columns are left as they are.
    """
    n_chunks, n_clusters, n_features = num.shape
    objective = 0.0
    change = 0.0
    for k in range(n_chunks):
        objective += stats[k, 0]
        change = max(change, stats[k, 1])
    for j in range(n_clusters):
        weight = 0.0
        for k in range(n_chunks):
            weight += den[k, j]
        for f in range(n_features):
            total = 0.0
            for k in range(n_chunks):
                total += num[k, j, f]
            new_centres[j, f] = total / weight if weight > 0.0 else centres[j, f]
    return objective, change


@_jit(parallel=True)
def argmax_columns(u, bounds, out):  # pragma: no cover - compiled
    """Fill ``out`` with the row of the largest entry of each column of ``u``; the first on ties.

    ``np.argmax(u, axis=0)`` takes 35 to 50 ms on the c x n memberships of 1M points.
    """
    n_clusters = u.shape[0]
    for k in prange(bounds.shape[0] - 1):
        for i in range(bounds[k], bounds[k + 1]):
            best = 0
            for j in range(1, n_clusters):
                best = j if u[j, i] > u[best, i] else best
            out[i] = best


#: The compiled entry points, whose disk-cache statistics tell whether a process compiled.
KERNELS = (fcm_pass_parallel, fcm_pass_serial, _pass_chunk, combine, argmax_columns, tile)


def n_padded(n_features: int) -> int:
    """``n_features`` rounded up to a multiple of ``_GROUP``: the width of centres and tiles."""
    return -(-n_features // _GROUP) * _GROUP


def padded(centres: np.ndarray) -> np.ndarray:
    """``centres`` with zero columns up to :func:`n_padded` features (C order)."""
    n_clusters, n_features = centres.shape
    out = np.zeros((n_clusters, n_padded(n_features)))
    out[:, :n_features] = centres
    return out
