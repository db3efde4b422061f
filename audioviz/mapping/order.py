"""Which component drives which scene parameter.

Components arrive ordered (component 0 first); a scene lists its parameters in importance
order. The fixed order gives component i to the i-th most important parameter, so that when
components are ordered by spread (PCA) the most dynamic one drives the element that shows it
best. The random order (the paper's method II) is a seeded permutation; a list of names lets a
user choose.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError


def fixed_order(param_names: Sequence[str], importance: Sequence[str]) -> np.ndarray:
    """perm such that component i drives parameter perm[i] (an index into param_names)."""
    index = {n: i for i, n in enumerate(param_names)}
    perm = np.array([index[n] for n in importance], dtype=np.int64)
    if sorted(perm.tolist()) != list(range(len(param_names))):
        raise ValueError("importance must name every parameter exactly once")
    return perm


def random_order(n: int, seed: int) -> np.ndarray:
    """A one-to-one assignment that depends only on the seed."""
    return np.random.default_rng([seed, 0x0D3E]).permutation(n).astype(np.int64)


def named_order(names: Sequence[str], param_names: Sequence[str], importance: Sequence[str]) -> np.ndarray:
    """Components 0, 1, ... go to the named parameters in turn; the parameters left out take
    the remaining components in importance order."""
    index = {n: i for i, n in enumerate(param_names)}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise ConfigError(
            f"--order names {', '.join(map(repr, unknown))}, which the scene does not have; "
            f"its parameters are: {', '.join(param_names)}"
        )
    repeated = sorted({n for n in names if list(names).count(n) > 1})
    if repeated:
        raise ConfigError(f"--order names {', '.join(map(repr, repeated))} more than once")
    rest = [n for n in importance if n not in names]
    return np.array([index[n] for n in [*names, *rest]], dtype=np.int64)


def resolve_order(order: str, param_names: Sequence[str], importance: Sequence[str], seed: int) -> np.ndarray:
    """`fixed`, `random` or comma-separated parameter names -> a permutation."""
    if order == "fixed":
        return fixed_order(param_names, importance)
    if order == "random":
        return random_order(len(param_names), seed)
    return named_order([n.strip() for n in order.split(",") if n.strip()], param_names, importance)


def apply_order(components: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """(N, 10) in component order -> (N, 10) in the scene's parameter order."""
    out = np.empty_like(components)
    out[:, perm] = components
    return out
