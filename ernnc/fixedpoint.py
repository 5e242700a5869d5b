"""Fixed-point arithmetic with the ap_fixed meaning, on raw int64 values.

A value of a fixed-point type with F fraction bits is held as the integer
r = value * 2^F. The functions whose names start with ``fx_`` are the
runtime of the bit-accurate NumPy model: the NumPy backend copies their
source into the generated file, so the compiler and the model it writes
share one definition. They use only NumPy.

Casts follow ap_fixed: rounding ``trn`` floors, ``rnd`` rounds half up
(toward plus infinity); overflow ``wrap`` keeps the low W bits (two's
complement), ``sat`` clamps to [-2^(W-1), 2^(W-1) - 1].

Also here: fitting piecewise-linear segments and tables for activations.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import numpy as np

from .activations import apply_activation

# -- runtime (copied into generated models) --------------------------------


def fx_cast(r, f_in, w, f_out, rnd, sat, stats=None):
    """Raw values with f_in fraction bits -> a w-bit type with f_out fraction bits."""
    r = np.asarray(r, dtype=np.int64)
    s = f_in - f_out
    if s > 0:
        # half up without overflowing int64: floor(r / 2^(s-1)) + 1, halved
        r = ((r >> (s - 1)) + 1) >> 1 if rnd else r >> s
    elif s < 0:
        r = r << -s
    lo, hi = -(1 << (w - 1)), (1 << (w - 1)) - 1
    if stats is not None:
        stats[0] += int(np.count_nonzero((r < lo) | (r > hi)))
        stats[1] += r.size
    if sat:
        return np.clip(r, lo, hi)
    if w >= 64:
        return r
    return ((r - lo) & ((1 << w) - 1)) + lo


def fx_from_float(x, w, f, rnd, sat, stats=None):
    """Quantize floats to a w-bit type with f fraction bits (NaN becomes 0)."""
    v = np.nan_to_num(np.asarray(x, dtype=np.float64) * 2.0**f, nan=0.0)
    fl = np.floor(v)
    # v - floor(v) is exact; floor(v + 0.5) would round the sum first
    v = fl + (v - fl >= 0.5) if rnd else fl
    v = np.clip(v, -(2.0**62), 2.0**62)
    return fx_cast(v.astype(np.int64), 0, w, 0, False, sat, stats)


def fx_to_float(r, f, dtype=np.float32):
    return (np.asarray(r, dtype=np.float64) * 2.0**-f).astype(dtype)


def fx_align(r, f_in, f_out):
    """Exact change of the binary point to f_out >= f_in fraction bits."""
    return np.asarray(r, dtype=np.int64) << (f_out - f_in)


def fx_dot(x, wt, exact53):
    """Exact integer x @ wt (int64 in and out); float64 BLAS when the sums fit in 53 bits."""
    if exact53:
        return np.rint(x.astype(np.float64) @ wt.astype(np.float64)).astype(np.int64)
    return x @ wt


def fx_segment(r, lo, shift, n):
    """Index of the grid segment of each raw input: floor((r - lo) / 2^shift), clipped to [0, n - 1]."""
    d = np.asarray(r, dtype=np.int64) - lo
    k = d >> shift if shift >= 0 else d << -shift
    return np.clip(k, 0, n - 1)


def fx_pwl(r, f_in, lo, shift, slopes, f_s, icpts, f_c, w, f_out, rnd, sat, stats=None):
    """slope[k] * x + intercept[k], exact, then one cast; entries 0 and n + 1
    apply below and above the grid."""
    k = fx_segment(r, lo, shift, len(slopes) - 2) + 1
    below = np.asarray(r, dtype=np.int64) < lo
    above = fx_segment(r, lo, shift, 1 << 62) >= len(slopes) - 2
    k = np.where(below, 0, np.where(above, len(slopes) - 1, k))
    f = max(f_s + f_in, f_c)
    acc = fx_align(slopes[k] * np.asarray(r, dtype=np.int64), f_s + f_in, f) + fx_align(
        icpts[k], f_c, f
    )
    return fx_cast(acc, f, w, f_out, rnd, sat, stats)


def fx_lut(r, lo, shift, table):
    """table[k] for the grid segment k of each raw input (clipped to the table)."""
    return table[fx_segment(r, lo, shift, len(table))]


def fx_fft(re, im, tw_re, tw_im, tw_frac, rnd):
    """In-place-order radix-2 decimation-in-time FFT over the last axis of raw
    int64 parts (length b, a power of two). Twiddle products are rounded back
    to the data's fraction bits (half up if rnd, else down); sums are exact,
    so each stage grows the values by one bit. tw_re/tw_im hold, stage after
    stage, the raw twiddles exp(-2 pi i j / m) for j < m / 2, m = 2, 4, ..., b."""
    b = re.shape[-1]
    order = np.zeros(b, dtype=np.int64)
    bits = b.bit_length() - 1
    for k in range(b):
        order[k] = int(format(k, f"0{bits}b")[::-1], 2) if bits else 0
    re, im = re[..., order], im[..., order]
    half_up = (1 << (tw_frac - 1)) if rnd else 0
    m, at = 2, 0
    while m <= b:
        h = m // 2
        wr, wi = tw_re[at : at + h], tw_im[at : at + h]
        at += h
        shape = re.shape[:-1] + (b // m, m)
        re, im = re.reshape(shape), im.reshape(shape)
        ar, ai, br, bi = re[..., :h], im[..., :h], re[..., h:], im[..., h:]
        tr = (br * wr - bi * wi + half_up) >> tw_frac
        ti = (br * wi + bi * wr + half_up) >> tw_frac
        re = np.concatenate([ar + tr, ar - tr], axis=-1).reshape(shape[:-2] + (b,))
        im = np.concatenate([ai + ti, ai - ti], axis=-1).reshape(shape[:-2] + (b,))
        m *= 2
    return re, im


def fx_rfft(x, b, tw_re, tw_im, tw_frac, rnd):
    """Bins 0..b/2 of the FFT of each length-b block of raw x [..., Q*b]:
    returns int64 [2, ..., Q, b/2 + 1] (real, imaginary)."""
    x = np.asarray(x, dtype=np.int64)
    blocks = x.reshape(x.shape[:-1] + (-1, b))
    re, im = fx_fft(blocks, np.zeros_like(blocks), tw_re, tw_im, tw_frac, rnd)
    return np.stack([re[..., : b // 2 + 1], im[..., : b // 2 + 1]])


def fx_irfft(spec, b, tw_re, tw_im, tw_frac, rnd):
    """b times the inverse real FFT of [2, ..., b/2 + 1] raw bins: the FFT of
    the conjugated, Hermitian-extended spectrum (C-LSTM's reuse of the
    forward network); the real part is returned, [..., b]."""
    re, im = spec[0], spec[1]
    mirror = slice(b // 2 - 1, 0, -1)
    full_re = np.concatenate([re, re[..., mirror]], axis=-1)
    full_im = np.concatenate([-im, im[..., mirror]], axis=-1)
    out_re, _ = fx_fft(full_re, full_im, tw_re, tw_im, tw_frac, rnd)
    return out_re


RUNTIME = (
    fx_cast,
    fx_from_float,
    fx_to_float,
    fx_align,
    fx_dot,
    fx_segment,
    fx_pwl,
    fx_lut,
    fx_fft,
    fx_rfft,
    fx_irfft,
)


def runtime_source() -> str:
    """The source of the runtime functions, for a generated model."""
    return "\n\n".join(inspect.getsource(f) for f in RUNTIME)


# -- formats ---------------------------------------------------------------


@dataclass(frozen=True)
class Fmt:
    """A fixed-point format: w bits, i integer bits (sign included)."""

    w: int
    i: int
    rnd: bool = False
    sat: bool = False

    @property
    def f(self) -> int:
        return self.w - self.i

    @property
    def max_value(self) -> float:
        return (2 ** (self.w - 1) - 1) * 2.0**-self.f

    @property
    def min_value(self) -> float:
        return -(2 ** (self.w - 1)) * 2.0**-self.f

    def quantize(self, x: np.ndarray, stats: list[int] | None = None) -> np.ndarray:
        return fx_from_float(x, self.w, self.f, self.rnd, self.sat, stats)

    def value(self, raw: np.ndarray) -> np.ndarray:
        return np.asarray(raw, dtype=np.float64) * 2.0**-self.f


def int_bits_for(max_abs: float, margin: float = 1.25) -> int:
    """Integer bits (sign included) so that max_abs * margin is representable."""
    m = max_abs * margin
    if not m > 0 or not math.isfinite(m):
        return 1
    return max(1, math.floor(math.log2(m)) + 2)


def twiddles(b: int, frac: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw twiddles of every stage of a b-point radix-2 FFT, in the order
    ``fx_fft`` reads them: exp(-2 pi i j / m) for j < m / 2, m = 2, 4, ..., b,
    rounded to ``frac`` fraction bits."""
    re: list[float] = []
    im: list[float] = []
    m = 2
    while m <= b:
        j = np.arange(m // 2)
        re += list(np.cos(2 * np.pi * j / m))
        im += list(-np.sin(2 * np.pi * j / m))
        m *= 2
    scale = 2.0**frac
    return np.round(np.array(re) * scale).astype(np.int64), np.round(np.array(im) * scale).astype(
        np.int64
    )


def fmt_for_values(values: np.ndarray, w: int, rnd: bool = True, sat: bool = True) -> Fmt:
    a = np.abs(np.asarray(values, dtype=np.float64))
    return Fmt(w, min(int_bits_for(float(a.max()) if a.size else 0.0, 1.0), w), rnd, sat)


# -- activations -----------------------------------------------------------

# Half-width of the grid each function needs, and what applies outside it:
# ("const", low, high) limits, or "linear" to extend the edge with slopes.
_OUTSIDE: dict[str, tuple[float, str]] = {
    "Sigmoid": (5.0, "limits"),
    "Tanh": (4.0, "limits"),
    "ScaledTanh": (4.0, "limits"),
    "HardSigmoid": (4.0, "limits"),
    "Softsign": (16.0, "limits"),
    "Softplus": (8.0, "linear"),
    "Elu": (8.0, "linear"),
    "LeakyRelu": (4.0, "linear"),
    "ThresholdedRelu": (4.0, "linear"),
    "Affine": (1.0, "linear"),
    "Relu": (1.0, "linear"),
}


def _limits(fn: str, alpha: float, beta: float) -> tuple[float, float]:
    return {
        "Sigmoid": (0.0, 1.0),
        "Tanh": (-1.0, 1.0),
        "ScaledTanh": (-abs(alpha), abs(alpha)) if alpha >= 0 else (abs(alpha), -abs(alpha)),
        "HardSigmoid": (0.0, 1.0) if alpha >= 0 else (1.0, 0.0),
        "Softsign": (-1.0, 1.0),
    }[fn]


@dataclass(frozen=True)
class Table:
    """Coefficients of an activation approximation, raw integers and formats."""

    kind: str  # "pwl" or "lut"
    lo: float
    step_log2: int
    slopes: np.ndarray  # pwl: n + 2 raw; lut: unused
    slope_fmt: Fmt
    icpts: np.ndarray  # pwl: n + 2 raw; lut: the table, raw in the output format
    icpt_fmt: Fmt


def grid(fn: str, segments: int, fin: Fmt, scale: float = 1.0) -> tuple[float, int]:
    """(lo, step_log2): ``segments`` segments of a power-of-two width covering
    the function's range (and no more than the input can reach)."""
    half = min(_OUTSIDE[fn][0] * scale, max(abs(fin.min_value), fin.max_value))
    # segments // 2 of them below 0 must reach -half (an odd count's extra one is above 0)
    step_log2 = math.ceil(math.log2(half / (segments // 2)))
    step_log2 = max(step_log2, -fin.f)  # no finer than the input resolution
    # lo on the grid of the step; an odd count has its extra segment above 0
    return -(segments // 2) * 2.0**step_log2, step_log2


def _inputs(fin: Fmt, lo: float, hi: float, limit: int = 4097) -> np.ndarray:
    """Representable inputs in [lo, hi), at most ``limit`` of them, evenly spread."""
    a = math.ceil(lo * 2**fin.f)
    b = math.ceil(hi * 2**fin.f) - 1
    a, b = max(a, -(2 ** (fin.w - 1))), min(b, 2 ** (fin.w - 1) - 1)
    if b < a:
        return np.zeros(0)
    raw = np.unique(np.linspace(a, b, num=min(limit, b - a + 1)).round().astype(np.int64))
    return fin.value(raw)


def fit_pwl(
    fn: str, alpha: float, beta: float, segments: int, fin: Fmt, coef_width: int = 18
) -> Table:
    """Least-squares line per segment over the representable inputs; the two
    outside entries hold the function's limits or extend the edge segments."""
    scale = 1.0 / abs(beta) if fn == "ScaledTanh" and beta else 1.0
    lo, step_log2 = grid(fn, segments, fin, scale)
    step = 2.0**step_log2
    slopes, icpts = np.zeros(segments + 2), np.zeros(segments + 2)
    for k in range(segments):
        xs = _inputs(fin, lo + k * step, lo + (k + 1) * step)
        if xs.size == 0:
            continue
        ys = apply_activation(fn, xs, alpha, beta)
        if xs.size == 1:
            slopes[k + 1], icpts[k + 1] = 0.0, float(ys[0])
        else:
            slopes[k + 1], icpts[k + 1] = np.polyfit(xs, ys, 1)
    if _OUTSIDE[fn][1] == "limits":
        lo_v, hi_v = _limits(fn, alpha, beta)
        icpts[0], icpts[-1] = lo_v, hi_v
    else:
        slopes[0], icpts[0] = slopes[1], icpts[1]
        slopes[-1], icpts[-1] = slopes[-2], icpts[-2]
    sf = fmt_for_values(slopes, coef_width)
    cf = fmt_for_values(icpts, coef_width)
    return Table("pwl", lo, step_log2, sf.quantize(slopes), sf, cf.quantize(icpts), cf)


def build_lut(fn: str, alpha: float, beta: float, entries: int, fin: Fmt, fout: Fmt) -> Table:
    """The function at the middle of each grid cell, in the output format."""
    scale = 1.0 / abs(beta) if fn == "ScaledTanh" and beta else 1.0
    lo, step_log2 = grid(fn, entries, fin, scale)
    mids = lo + (np.arange(entries) + 0.5) * 2.0**step_log2
    values = apply_activation(fn, mids, alpha, beta)
    empty = np.zeros(0, dtype=np.int64)
    # entries beyond the format saturate (never wrap): the table is a constant
    entries = Fmt(fout.w, fout.i, fout.rnd, True).quantize(values)
    return Table("lut", lo, step_log2, empty, fout, entries, fout)


def evaluate(table: Table, raw_in: np.ndarray, fin: Fmt, fout: Fmt) -> np.ndarray:
    """Raw outputs of an approximation for raw inputs (what the hardware computes)."""
    lo_raw = int(round(table.lo * 2**fin.f))
    shift = fin.f + table.step_log2
    if table.kind == "lut":
        return fx_lut(raw_in, lo_raw, shift, table.icpts)
    return fx_pwl(
        raw_in,
        fin.f,
        lo_raw,
        shift,
        table.slopes,
        table.slope_fmt.f,
        table.icpts,
        table.icpt_fmt.f,
        fout.w,
        fout.f,
        fout.rnd,
        fout.sat,
    )


def max_error(
    table: Table,
    fn: str,
    alpha: float,
    beta: float,
    fin: Fmt,
    fout: Fmt,
    lo: float | None = None,
    hi: float | None = None,
) -> float:
    """Max |approximation - f| over the representable inputs in [lo, hi]
    (default: the whole input format; all of them up to 2^16, an even spread
    of 65,537 otherwise)."""
    lo = fin.min_value if lo is None else max(lo, fin.min_value)
    hi = fin.max_value if hi is None else min(hi, fin.max_value)
    xs = _inputs(fin, lo, hi + 2.0**-fin.f, limit=65537)
    raw = fin.quantize(xs)
    got = fout.value(evaluate(table, raw, fin, fout))
    want = apply_activation(fn, fin.value(raw), alpha, beta)
    return float(np.abs(got - want).max())
