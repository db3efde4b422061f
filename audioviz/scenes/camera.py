"""Camera matrices in numpy (column-major for GL), made once per frame on the CPU."""

from __future__ import annotations

import math

import numpy as np


def look_at(eye, target, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    f = target - eye
    f /= np.linalg.norm(f)
    s = np.cross(f, up)
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    m = np.identity(4)
    m[0, :3], m[1, :3], m[2, :3] = s, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def perspective(fovy: float, aspect: float, near: float, far: float) -> np.ndarray:
    f = 1.0 / math.tan(fovy / 2)
    m = np.zeros((4, 4))
    m[0, 0], m[1, 1] = f / aspect, f
    m[2, 2], m[2, 3] = (far + near) / (near - far), 2 * far * near / (near - far)
    m[3, 2] = -1.0
    return m


def gl_bytes(m: np.ndarray) -> bytes:
    """A row-major numpy matrix as the column-major float32 bytes GL expects."""
    return np.ascontiguousarray(m.T, dtype="f4").tobytes()


def fit_distance(fovy: float, aspect: float, half_width: float, half_height: float) -> float:
    """How far back a camera must stand for a box of these half-extents to fill its view."""
    t = math.tan(fovy / 2)
    return max(half_height / t, half_width / (t * aspect))
