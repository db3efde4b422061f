"""Scaling into [0, 1], fitted with scikit-learn and kept as two arrays (offset, scale).

`standard` maps to mean 0.5 and standard deviation 0.4, then clips; `minmax` maps the fitted
range onto [0, 1] (and clips values outside it). `features` fits one scaler per component;
`across` one scaler over all components together, which keeps their relative means and
spreads (the order PCA gives them survives).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Scaler as ScalerKind
from ..config import Scaling, resolved

KINDS = resolved(ScalerKind)
SCALINGS = resolved(Scaling)
TARGET_MEAN, TARGET_STD = 0.5, 0.4


@dataclass(frozen=True)
class Scaler:
    kind: str
    offset: np.ndarray  # mean or minimum, per component (across: the same for all)
    scale: np.ndarray  # standard deviation or range, never zero

    @classmethod
    def fit(cls, x: np.ndarray, kind: str = "standard", scaling: str = "features") -> Scaler:
        from sklearn.preprocessing import MinMaxScaler, StandardScaler

        if kind not in KINDS:
            raise ValueError(f"scaler {kind!r} is not one of {KINDS}")
        if scaling not in SCALINGS:
            raise ValueError(f"scaling {scaling!r} is not one of {SCALINGS}")
        x = np.asarray(x, dtype=np.float64)
        data = x.reshape(-1, 1) if scaling == "across" else x
        if kind == "standard":
            s = StandardScaler().fit(data)
            offset, scale = s.mean_, s.scale_  # sklearn leaves scale 1 for constant columns
        else:
            s = MinMaxScaler().fit(data)
            offset, scale = s.data_min_, np.where(s.data_range_ > 0, s.data_range_, 1.0)
        width = x.shape[1]
        return cls(kind, np.broadcast_to(offset, width).copy(), np.broadcast_to(scale, width).copy())

    def apply(self, x: np.ndarray) -> np.ndarray:
        # a value far outside the fitted range overflows to +-inf, and the clip makes that 1 or 0,
        # which is right: no RuntimeWarning for it
        with np.errstate(over="ignore"):
            z = (np.asarray(x, dtype=np.float64) - self.offset) / self.scale
            if self.kind == "standard":
                z = z * TARGET_STD + TARGET_MEAN
        return np.clip(z, 0.0, 1.0).astype(np.float32)
