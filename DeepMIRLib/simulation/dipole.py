"""The dipole model of susceptibility: field from susceptibility in k-space, and its inverse.

field = IFFT(D(k) FFT(chi)) with D(k) = 1/3 - (k . b0)^2 / |k|^2 (b0 the unit B0 direction,
D(0) = 0), field and chi in ppm. The inversion is the closed-form Tikhonov solution with a
gradient regulariser, chi = IFFT(conj(D) F / (|D|^2 + lambda |G|^2)), G the forward
difference operator in k-space: fast (two FFTs) and well below plain TKD's error on real data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import fft

FFT_WORKERS = -1  # all cores


def _frequencies(shape, spacing_zyx):
    return np.meshgrid(*[fft.fftfreq(n, d) for n, d in zip(shape, spacing_zyx)], indexing="ij", sparse=True)


def dipole_kernel(shape: tuple[int, ...], spacing_zyx: Sequence[float] = (1.0, 1.0, 1.0), b0_zyx: Sequence[float] = (1.0, 0.0, 0.0)) -> np.ndarray:
    """D(k) on the FFT grid of an array of `shape` (z, y, x); b0 in the same axis order."""
    k = _frequencies(shape, spacing_zyx)
    b0 = np.asarray(b0_zyx, float) / np.linalg.norm(b0_zyx)
    k_dot_b0 = sum(kk * bb for kk, bb in zip(k, b0))
    k2 = sum(kk**2 for kk in k)
    with np.errstate(invalid="ignore", divide="ignore"):
        kernel = 1.0 / 3.0 - k_dot_b0**2 / k2
    kernel[0, 0, 0] = 0.0
    return kernel.astype(np.float32)


def forward_field(chi: np.ndarray, spacing_zyx: Sequence[float] = (1.0, 1.0, 1.0), b0_zyx: Sequence[float] = (1.0, 0.0, 0.0)) -> np.ndarray:
    """Field shift (ppm of B0) produced by a susceptibility map (ppm)."""
    kernel = dipole_kernel(chi.shape, spacing_zyx, b0_zyx)
    return fft.ifftn(kernel * fft.fftn(chi, workers=FFT_WORKERS), workers=FFT_WORKERS).real.astype(np.float32)


def invert_field(field: np.ndarray, mask: np.ndarray, spacing_zyx: Sequence[float] = (1.0, 1.0, 1.0), b0_zyx: Sequence[float] = (1.0, 0.0, 0.0),
                 regularisation: float = 0.1) -> np.ndarray:
    """Susceptibility (ppm) from a local field (ppm) inside `mask` by gradient-regularised
    closed-form L2 inversion; 0 outside the mask."""
    kernel = dipole_kernel(field.shape, spacing_zyx, b0_zyx)
    gradient_power = np.zeros(field.shape, np.float32)
    for axis, n in enumerate(field.shape):
        frequencies = np.arange(n) / n
        shape = [1, 1, 1]
        shape[axis] = n
        gradient_power = gradient_power + (np.abs(1 - np.exp(-2j * np.pi * frequencies)) ** 2).reshape(shape).astype(np.float32)
    spectrum = fft.fftn(field * mask, workers=FFT_WORKERS)
    denominator = kernel**2 + regularisation * gradient_power
    denominator[0, 0, 0] = 1.0  # k = 0: D and G vanish; the mean susceptibility is not observable
    chi = fft.ifftn(kernel * spectrum / denominator, workers=FFT_WORKERS).real
    return (chi * mask).astype(np.float32)
