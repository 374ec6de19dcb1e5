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


# Scalar building blocks: exact fused multiply-add, bit casts, log and exp that vectorise.


@intrinsic
def _fma(typingctx, a, b, c):  # pragma: no cover - compiled
    """``a * b + c`` rounded once (llvm.fma): the same bits in every loop that uses it."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        double = ir.DoubleType()
        fnty = ir.FunctionType(double, [double, double, double])
        return builder.call(builder.module.declare_intrinsic("llvm.fma", [double], fnty), args)

    return sig, codegen


@intrinsic
def _bits(typingctx, x):  # pragma: no cover - compiled
    """The IEEE bits of a float64 as an int64."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, n):  # pragma: no cover - compiled
    """The float64 whose IEEE bits are the int64 ``n``."""
    if n != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


# fdlibm's constants (e_log.c): ln 2 split in two, and log's minimax coefficients.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_ROUND = 6755399441055744.0  # 1.5 * 2 ** 52: adding it rounds to an integer
_TWO54 = 18014398509481984.0
_SQRT2 = 1.4142135623730951
_TINY = 2.2250738585072014e-308  # smallest normal float64
#: 1 / k! for k = 11, ..., 0: the Taylor coefficients of exp after the leading 1 / 12!.
_EXP_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(11, -1, -1))


@njit(inline="always")
def _log(x):  # pragma: no cover - compiled
    """Natural logarithm of ``x >= 0`` (finite), within 1 ulp; ``-inf`` at 0.

    fdlibm's method without branches (so that a loop calling it vectorises, unlike libm's
    ``log``): ``x = 2 ** k * y`` with ``y`` in [sqrt(2)/2, sqrt(2)), then
    ``log(y) = 2 atanh(f / (2 + f))`` with ``f = y - 1`` by a minimax polynomial.
    """
    tiny = x < _TINY
    xs = x * _TWO54 if tiny else x
    bits = _bits(xs)
    k = (bits >> 52) - (1023 + 54 if tiny else 1023)
    y = _from_bits((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = y > _SQRT2
    y = y * 0.5 if big else y
    k = k + 1 if big else k
    f = y - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * _fma(w, _fma(w, _LG6, _LG4), _LG2)
    t2 = z * _fma(w, _fma(w, _fma(w, _LG7, _LG5), _LG3), _LG1)
    dk = float(k)
    out = _fma(dk, _LN2_HI, -((hfsq - _fma(s, hfsq + t2 + t1, dk * _LN2_LO)) - f))
    return -np.inf if x == 0.0 else out


@njit(inline="always")
def _exp(x):  # pragma: no cover - compiled
    """``exp(x)`` for ``x <= 709`` (or ``-inf``), within 2 ulp, subnormal results included.

    No branch nor division: ``x = k ln 2 + r`` with ``|r| <= ln(2) / 2`` (fdlibm's reduction),
    ``exp(r)`` by its Taylor polynomial of degree 12, then a scaling by ``2 ** k`` in two steps.
    """
    x = max(x, -746.0)  # exp(-746) underflows to 0; also maps -inf there
    t = _fma(x, _INV_LN2, _ROUND)
    kf = t - _ROUND
    k = _bits(t) - _bits(_ROUND)
    r = _fma(-kf, _LN2_LO, _fma(-kf, _LN2_HI, x))
    p = 1.0 / 479001600.0  # 1 / 12!
    for coefficient in _EXP_TAYLOR:  # a constant tuple: the loop is unrolled
        p = _fma(r, p, coefficient)
    k1 = k >> 1
    return p * _from_bits((k1 + 1023) << 52) * _from_bits((k - k1 + 1023) << 52)


# Kernels. The points are copied once per fit into tiles (:func:`tile`): blocks of BLOCK points
# held feature-major (one row of BLOCK values per feature, zero-padded), so every inner loop runs
# over a block's points and vectorises, and a block is one contiguous read. A chunk of points is
# processed block by block; each point's share of the next centres goes to per-lane accumulators
# added up in a fixed order at the end of the chunk. No n x c temporaries; the bits do not depend
# on threads. The last block's padding points get zero weight: one copy of the loops serves all.
#
# With squared distances d_j, r_j = min(d) / d_j in (0, 1], a = 1 / (m - 1), e_j = r_j ** a and
# s = sum_j e_j: u_j = e_j / s (nothing overflows), u_j ** m = u_j r_j s ** (1 - m), and the
# point's objective term is min(d) s ** (1 - m). For m = 2 no power at all (e_j = r_j); otherwise
# one log and one exp per point and centre (r ** a = exp(a log r)) and one of each per point.
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
        a = 1.0 / (m - 1.0)
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
                        e = _exp(a * _log(r))
                        et[j, b] = e
                        inv_s[b] += e
            for b in range(BLOCK):
                s = inv_s[b]
                inv_s[b] = 1.0 / s
                g[b] = 1.0 / s if two else _exp((1.0 - m) * _log(s))
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
