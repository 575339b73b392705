"""Exact first and second time derivatives for the virtual lifter, carried through the maths.

The simulator's IMU signals are derivatives of the body's motion: the accelerometer needs the
second derivative of the sensor's position, the gyroscope the first derivative of its
orientation. Finite differences of sampled positions would put the simulator's own numerical
error into the ground truth, so every quantity is a ``Jet``: its value and its exact first
and second derivatives, combined with the product and chain rules. Angles come from smooth
analytic trajectories (``motion``) whose derivatives are known in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Jet:
    """Value ``v`` with first ``d`` and second ``dd`` time derivatives (same shapes).

    Scalars are (N,), vectors (N, 3) and rotation matrices (N, 3, 3) over N time points.
    """

    v: np.ndarray
    d: np.ndarray
    dd: np.ndarray

    @classmethod
    def const(cls, value: np.ndarray | float | list[float], n: int) -> Jet:
        v = np.broadcast_to(np.asarray(value, dtype=float), (n, *np.shape(value))).copy()
        z = np.zeros_like(v)
        return cls(v, z, z.copy())

    def __add__(self, other: Jet) -> Jet:
        return Jet(self.v + other.v, self.d + other.d, self.dd + other.dd)

    def __sub__(self, other: Jet) -> Jet:
        return Jet(self.v - other.v, self.d - other.d, self.dd - other.dd)

    def __neg__(self) -> Jet:
        return Jet(-self.v, -self.d, -self.dd)

    def scale(self, k: float) -> Jet:
        return Jet(self.v * k, self.d * k, self.dd * k)

    def __mul__(self, other: Jet) -> Jet:
        """Product of two scalar jets (N,)."""
        return Jet(
            self.v * other.v,
            self.d * other.v + self.v * other.d,
            self.dd * other.v + 2 * self.d * other.d + self.v * other.dd,
        )

    def sin(self) -> Jet:
        s, c = np.sin(self.v), np.cos(self.v)
        return Jet(s, c * self.d, c * self.dd - s * self.d**2)

    def cos(self) -> Jet:
        s, c = np.sin(self.v), np.cos(self.v)
        return Jet(c, -s * self.d, -s * self.dd - c * self.d**2)


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched product of (N,3,3) with (N,3,3) or (N,3)."""
    if b.ndim == 2:
        return np.einsum("nij,nj->ni", a, b)
    return a @ b


def matmul(a: Jet, b: Jet) -> Jet:
    """Product rule for rotation @ rotation or rotation @ vector over N time points."""
    return Jet(
        _mm(a.v, b.v),
        _mm(a.d, b.v) + _mm(a.v, b.d),
        _mm(a.dd, b.v) + 2 * _mm(a.d, b.d) + _mm(a.v, b.dd),
    )


def stack_vector(x: Jet, y: Jet, z: Jet) -> Jet:
    return Jet(*(np.stack([getattr(x, f), getattr(y, f), getattr(z, f)], axis=-1) for f in "v d dd".split()))


def rotation(axis: str, angle: Jet) -> Jet:
    """Rotation matrix jet about a fixed frame axis (``x``, ``y`` or ``z``), angle in rad.

    A positive angle about ``y`` tilts the ``z`` axis toward ``x``: (sin a, 0, cos a).
    """
    c, s = angle.cos(), angle.sin()
    n = len(angle.v)
    one, zero = Jet.const(1.0, n), Jet.const(0.0, n)
    rows = {
        "x": [[one, zero, zero], [zero, c, -s], [zero, s, c]],
        "y": [[c, zero, s], [zero, one, zero], [-s, zero, c]],
        "z": [[c, -s, zero], [s, c, zero], [zero, zero, one]],
    }[axis]
    return Jet(
        *(
            np.stack([np.stack([getattr(e, f) for e in row], axis=-1) for row in rows], axis=-2)
            for f in ("v", "d", "dd")
        )
    )


def body_rate(r: Jet) -> np.ndarray:
    """Angular rate in the rotating frame (what a gyroscope fixed to it reads), (N, 3):
    the vector of the skew matrix ``R^T dR/dt``."""
    w = np.swapaxes(r.v, -1, -2) @ r.d
    return np.stack([w[:, 2, 1] - w[:, 1, 2], w[:, 0, 2] - w[:, 2, 0], w[:, 1, 0] - w[:, 0, 1]], axis=-1) / 2
