"""Block-circulant matrices: the one implementation of the maths that the
compiler passes, the backends and the training extra (``ernnc.train``) share.
NumPy only.

Convention (pinned by tests against explicit dense matrices): a b x b
circulant block is defined by its **first column** w, C[r, c] = w[(r - c) mod b],
so C @ x = irfft(rfft(w) * rfft(x)).

A weight matrix of ``gates`` stacked gates, each ``rows`` x ``cols``, is
blocked gate by gate: each gate is zero-padded to P*b x Q*b (P = ceil(rows/b),
Q = ceil(cols/b)) and split into P x Q blocks. Generators have shape
[gates * P, Q, b]; the padding never changes the product on the real rows
and columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def blocks(n: int, b: int) -> int:
    return -(-n // b)


@dataclass(frozen=True)
class Blocking:
    """How a stacked-gates matrix of shape [gates*rows, cols] is blocked."""

    gates: int
    rows: int  # per gate
    cols: int
    block: int

    @property
    def p(self) -> int:
        """Block rows per gate."""
        return blocks(self.rows, self.block)

    @property
    def q(self) -> int:
        return blocks(self.cols, self.block)

    @property
    def generator_shape(self) -> tuple[int, int, int]:
        return (self.gates * self.p, self.q, self.block)

    @property
    def padded_shape(self) -> tuple[int, int]:
        return (self.gates * self.p * self.block, self.q * self.block)

    @property
    def dense_params(self) -> int:
        return self.gates * self.rows * self.cols

    @property
    def params(self) -> int:
        return self.gates * self.p * self.q * self.block

    def row_index(self) -> np.ndarray:
        """Rows of the padded product that hold the real outputs, in order."""
        per_gate = self.p * self.block
        return np.concatenate([g * per_gate + np.arange(self.rows) for g in range(self.gates)])


def _diagonal_index(b: int) -> np.ndarray:
    r, c = np.indices((b, b))
    return (r - c) % b


def _padded_blocks(w: np.ndarray, bl: Blocking) -> np.ndarray:
    """[gates*P, Q, b, b] blocks of w, zero-padded per gate."""
    g, rows, cols, b = bl.gates, bl.rows, bl.cols, bl.block
    padded = np.zeros((g, bl.p * b, bl.q * b), dtype=np.float64)
    padded[:, :rows, :cols] = w.reshape(g, rows, cols)
    return (
        padded.reshape(g, bl.p, b, bl.q, b).transpose(0, 1, 3, 2, 4).reshape(g * bl.p, bl.q, b, b)
    )


def project(w: np.ndarray, bl: Blocking) -> np.ndarray:
    """The Frobenius-nearest block-circulant matrix to ``w``, as generators.

    Each generator entry is the mean of its wrapped diagonal over the real
    (unpadded) entries of the block only, which makes the projection
    lossless on (cropped) block-circulant matrices and idempotent. A diagonal
    with no real entry is 0.
    """
    w = np.asarray(w)
    if w.shape != (bl.gates * bl.rows, bl.cols):
        raise ValueError(f"matrix shape {w.shape} does not match {bl}")
    b = bl.block
    onehot = np.eye(b)[_diagonal_index(b)]  # [b(r), b(c), b(d)]
    real = np.ones((bl.gates * bl.rows, bl.cols))
    sums = np.einsum("pqrc,rcd->pqd", _padded_blocks(w, bl), onehot)
    counts = np.einsum("pqrc,rcd->pqd", _padded_blocks(real, bl), onehot)
    gen = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return gen.astype(w.dtype)


def expand(gen: np.ndarray, bl: Blocking) -> np.ndarray:
    """The dense [gates*rows, cols] matrix that generators stand for."""
    b = bl.block
    dense_blocks = gen[:, :, _diagonal_index(b)]  # [gates*P, Q, b, b]
    g = bl.gates
    padded = dense_blocks.reshape(g, bl.p, bl.q, b, b).transpose(0, 1, 3, 2, 4)
    padded = padded.reshape(g, bl.p * b, bl.q * b)
    return np.ascontiguousarray(padded[:, : bl.rows, : bl.cols].reshape(g * bl.rows, bl.cols))


def spectra(gen: np.ndarray) -> np.ndarray:
    """rfft of each generator: [gates*P, Q, b/2 + 1] complex."""
    return np.fft.rfft(np.asarray(gen, dtype=np.float64), axis=-1)


def relative_error(w: np.ndarray, gen: np.ndarray, bl: Blocking) -> float:
    """||w - expand(gen)||_F / ||w||_F (0 for a zero matrix)."""
    w64 = np.asarray(w, dtype=np.float64)
    norm = float(np.linalg.norm(w64))
    diff = float(np.linalg.norm(w64 - expand(gen, bl).astype(np.float64)))
    return diff / norm if norm else diff


def is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def real_dft(b: int) -> np.ndarray:
    """[b, 2F] real matrix: x @ real_dft(b) interleaves (Re, Im) of rfft(x)."""
    k = np.arange(b)[:, None]
    f = np.arange(b // 2 + 1)[None, :]
    angle = 2 * np.pi * k * f / b
    out = np.empty((b, 2 * (b // 2 + 1)))
    out[:, 0::2] = np.cos(angle)
    out[:, 1::2] = -np.sin(angle)
    return out


def real_idft(b: int) -> np.ndarray:
    """[2F, b] real matrix: interleaved (Re, Im) spectra @ real_idft(b) = irfft(., n=b)."""
    f = np.arange(b // 2 + 1)[:, None]
    k = np.arange(b)[None, :]
    angle = 2 * np.pi * f * k / b
    weight = np.where((f == 0) | (2 * f == b), 1.0, 2.0) / b
    out = np.empty((2 * (b // 2 + 1), b))
    out[0::2] = weight * np.cos(angle)
    out[1::2] = -weight * np.sin(angle)
    return out
