"""Which component drives which scene parameter.

Components arrive ordered (component 0 first); a scene lists its parameters in importance
order. The deterministic order gives component i to the i-th most important parameter, so
that when components are ordered by spread (PCA) the most dynamic one drives the element that
shows it best.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def fixed_order(param_names: Sequence[str], importance: Sequence[str]) -> np.ndarray:
    """perm such that component i drives parameter perm[i] (an index into param_names)."""
    index = {n: i for i, n in enumerate(param_names)}
    perm = np.array([index[n] for n in importance], dtype=np.int64)
    if sorted(perm.tolist()) != list(range(len(param_names))):
        raise ValueError("importance must name every parameter exactly once")
    return perm


def apply_order(components: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """(N, 10) in component order -> (N, 10) in the scene's parameter order."""
    out = np.empty_like(components)
    out[:, perm] = components
    return out
