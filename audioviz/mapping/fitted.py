"""What a mapping learns from a corpus's features, stored as plain arrays (never pickles).

One fitted state serves every way of mapping, so a model ships a single file and the choice
of scaler and scaling is made at render time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ModelError
from .scaling import KINDS, SCALINGS, Scaler

N_PARAMS = 10
METHODS = ("raw",)


@dataclass(frozen=True)
class FittedMapping:
    arrays: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, features: np.ndarray, **meta) -> FittedMapping:
        """Fit every scaler on (segments, D) features of a corpus."""
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or len(features) < 2:
            raise ValueError("fitting needs a (segments, features) array of at least 2 segments")
        arrays = {}
        if features.shape[1] == N_PARAMS:
            for kind in KINDS:
                for scaling in SCALINGS:
                    s = Scaler.fit(features, kind, scaling)
                    arrays[f"raw.{kind}.{scaling}.offset"] = s.offset
                    arrays[f"raw.{kind}.{scaling}.scale"] = s.scale
        meta = {"feature_size": int(features.shape[1]), "segments": int(len(features)), **meta}
        return cls(arrays, meta)

    @property
    def feature_size(self) -> int:
        return int(self.meta["feature_size"])

    def scaler(self, method: str, kind: str, scaling: str) -> Scaler:
        key = f"{method}.{kind}.{scaling}"
        try:
            return Scaler(kind, self.arrays[key + ".offset"], self.arrays[key + ".scale"])
        except KeyError:
            raise ConfigError(f"this fitted mapping has no {kind} {scaling} scaling for {method!r}") from None

    def transform(
        self, features: np.ndarray, method: str = "raw", kind: str = "standard", scaling: str = "features"
    ) -> np.ndarray:
        """(N, D) features -> (N, 10) components in [0, 1], in component order."""
        if method not in METHODS:
            raise ConfigError(f"mapping {method!r} is not one of: {', '.join(METHODS)}")
        if features.shape[1] != self.feature_size:
            raise ConfigError(
                f"features have {features.shape[1]} components but the mapping was fitted on "
                f"{self.feature_size}"
            )
        if method == "raw" and self.feature_size != N_PARAMS:
            raise ConfigError(
                f"raw mapping needs exactly {N_PARAMS} features, this model gives {self.feature_size}"
            )
        return self.scaler(method, kind, scaling).apply(features)

    # plain-array persistence ------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"arrays": {k: v.copy() for k, v in self.arrays.items()}, "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, d: dict) -> FittedMapping:
        return cls({k: np.asarray(v, dtype=np.float64) for k, v in d["arrays"].items()}, dict(d["meta"]))

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path).with_suffix(".npz")
        np.savez(path, __meta__=np.array(json.dumps(self.meta, sort_keys=True)), **self.arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> FittedMapping:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["__meta__"]))
                arrays = {k: z[k].astype(np.float64) for k in z.files if k != "__meta__"}
        except (OSError, ValueError, KeyError) as e:
            raise ModelError(f"{path}: not a fitted mapping file ({e})") from None
        return cls(arrays, meta)
