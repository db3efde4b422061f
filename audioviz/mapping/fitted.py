"""What a mapping learns from a corpus's features, stored as plain arrays (never pickles).

The paper's methods, each giving ten components (component 0 first) before scaling:
- `raw` (I): the features themselves; only for a model with exactly ten.
- `pca` (III): standardised features projected on their ten principal axes, ordered by variance.
- `kmeans` (IV): the similarity, 1 / euclidean distance, of the standardised features to each
  of ten K-Means centroids.
- `kmeans-pca` (V): those similarities projected on their ten principal axes.
Each method's output then goes through one of four fitted scalers (standard or minmax, per
component or across all of them). One fitted state holds every method and scaler, so a model
ships a single file and the choice is made at render time.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ModelError
from .scaling import KINDS, SCALINGS, Scaler

N_PARAMS = 10
METHODS = ("raw", "pca", "kmeans", "kmeans-pca")
ORDERED = ("pca", "kmeans-pca")  # methods whose components come ordered by spread
# PCA and K-Means see at most this many segments (a seeded sample); scalers see them all
MAX_FIT_SEGMENTS = 100_000
# keeps a segment that sits exactly on a centroid finite; distances of standardised features are ~1 or more
SIMILARITY_EPS = 1e-6


def similarity(z: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(N, D) x (K, D) -> (N, K): 1 / euclidean distance to each centroid."""
    d2 = (z * z).sum(1)[:, None] - 2.0 * z @ centroids.T + (centroids * centroids).sum(1)[None, :]
    return 1.0 / (np.sqrt(np.maximum(d2, 0.0)) + SIMILARITY_EPS)


def _pca(x: np.ndarray, seed: int):
    from sklearn.decomposition import PCA

    solver = "full" if x.shape[1] <= 512 else "randomized"
    return PCA(n_components=N_PARAMS, svd_solver=solver, random_state=seed).fit(x)


@dataclass(frozen=True)
class FittedMapping:
    arrays: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, features: np.ndarray, seed: int = 0, **meta) -> FittedMapping:
        """Fit every method and scaler on (segments, D) features of a corpus.

        Deterministic: the same features and seed give identical arrays.
        """
        from sklearn.cluster import KMeans
        from sklearn.exceptions import ConvergenceWarning

        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or len(x) < N_PARAMS:
            raise ConfigError(
                f"fitting a mapping needs at least {N_PARAMS} segments (about {N_PARAMS} s of audio), "
                f"got {len(x) if x.ndim == 2 else 'an array of shape ' + str(x.shape)}"
            )
        if not np.isfinite(x).all():
            raise ConfigError("features to fit on contain NaN or infinite values")
        rng = np.random.default_rng(seed)
        sample = x if len(x) <= MAX_FIT_SEGMENTS else x[np.sort(rng.choice(len(x), MAX_FIT_SEGMENTS, replace=False))]

        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        arrays = {"input.mean": mean, "input.scale": scale}
        z = (sample - mean) / scale
        if x.shape[1] >= N_PARAMS:
            pca = _pca(z, seed)
            arrays |= {"pca.mean": pca.mean_, "pca.axes": pca.components_, "pca.variance_ratio": pca.explained_variance_ratio_}
        with warnings.catch_warnings():  # fewer distinct segments than clusters: duplicates are fine
            warnings.simplefilter("ignore", ConvergenceWarning)
            km = KMeans(n_clusters=N_PARAMS, n_init=10, random_state=seed).fit(z)
        arrays["kmeans.centroids"] = km.cluster_centers_
        sims = similarity(z, km.cluster_centers_)
        pca_sim = _pca(sims, seed)
        arrays |= {"kmeans-pca.mean": pca_sim.mean_, "kmeans-pca.axes": pca_sim.components_,
                   "kmeans-pca.variance_ratio": pca_sim.explained_variance_ratio_}

        mapping = cls(arrays, {"feature_size": int(x.shape[1]), "segments": int(len(x)), "seed": int(seed), **meta})
        for method in mapping.methods:
            comps = mapping.components(x, method)
            for kind in KINDS:
                for scaling in SCALINGS:
                    s = Scaler.fit(comps, kind, scaling)
                    arrays[f"{method}.{kind}.{scaling}.offset"] = s.offset
                    arrays[f"{method}.{kind}.{scaling}.scale"] = s.scale
                if method in ORDERED:
                    # standard scaling clips, and clipping trims a heavy-tailed component more
                    # than a light-tailed one of nearly the same variance: order by the spread
                    # that reaches the scene (for minmax, exactly PCA's order)
                    spread = Scaler.fit(comps, kind, "across").apply(comps).std(axis=0)
                    arrays[f"{method}.{kind}.across.order"] = np.argsort(-spread, kind="stable").astype(np.float64)
        return mapping

    @property
    def feature_size(self) -> int:
        return int(self.meta["feature_size"])

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods this state can do (raw needs ten features, pca at least ten)."""
        have = {
            "raw": self.feature_size == N_PARAMS,
            "pca": "pca.axes" in self.arrays,
            "kmeans": "kmeans.centroids" in self.arrays,
            "kmeans-pca": "kmeans-pca.axes" in self.arrays,
        }
        return tuple(m for m in METHODS if have[m])

    def _check(self, features: np.ndarray, method: str) -> None:
        if method not in METHODS:
            raise ConfigError(f"mapping {method!r} is not one of: {', '.join(METHODS)}")
        if features.ndim != 2 or features.shape[1] != self.feature_size:
            raise ConfigError(
                f"features have {features.shape[-1]} components but the mapping was fitted on {self.feature_size}"
            )
        if method not in self.methods:
            if method == "raw":
                raise ConfigError(
                    f"raw mapping needs exactly {N_PARAMS} features, this model gives {self.feature_size}; "
                    "use --mapping pca, kmeans or kmeans-pca"
                )
            if method == "pca" and self.feature_size < N_PARAMS:
                raise ConfigError(f"pca needs at least {N_PARAMS} features, this model gives {self.feature_size}")
            raise ConfigError(f"this fitted mapping has no {method!r} state; refit it with `audioviz fit`")

    def components(self, features: np.ndarray, method: str = "raw") -> np.ndarray:
        """(N, D) features -> (N, 10) float64 components of `method`, before scaling."""
        x = np.asarray(features, dtype=np.float64)
        self._check(x, method)
        if method == "raw":
            return x
        z = (x - self.arrays["input.mean"]) / self.arrays["input.scale"]
        if method == "pca":
            return (z - self.arrays["pca.mean"]) @ self.arrays["pca.axes"].T
        sims = similarity(z, self.arrays["kmeans.centroids"])
        if method == "kmeans":
            return sims
        return (sims - self.arrays["kmeans-pca.mean"]) @ self.arrays["kmeans-pca.axes"].T

    def scaler(self, method: str, kind: str, scaling: str) -> Scaler:
        if kind not in KINDS:
            raise ConfigError(f"scaler {kind!r} is not one of: {', '.join(KINDS)}")
        if scaling not in SCALINGS:
            raise ConfigError(f"scaling {scaling!r} is not one of: {', '.join(SCALINGS)}")
        key = f"{method}.{kind}.{scaling}"
        try:
            return Scaler(kind, self.arrays[key + ".offset"], self.arrays[key + ".scale"])
        except KeyError:
            raise ConfigError(f"this fitted mapping has no {kind} {scaling} scaling for {method!r}") from None

    def transform(
        self, features: np.ndarray, method: str = "raw", kind: str = "standard", scaling: str = "features"
    ) -> np.ndarray:
        """(N, D) features -> (N, 10) float32 components in [0, 1], in component order."""
        return self.scale(self.components(features, method), method, kind, scaling)

    def scale(self, components: np.ndarray, method: str, kind: str, scaling: str) -> np.ndarray:
        """The second half of `transform`: (N, 10) components of `method` -> [0, 1], ordered."""
        out = self.scaler(method, kind, scaling).apply(components)
        order = self.arrays.get(f"{method}.{kind}.{scaling}.order")
        return out if order is None else out[:, order.astype(np.int64)]

    # plain-array persistence ------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"arrays": {k: v.copy() for k, v in self.arrays.items()}, "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, d: dict) -> FittedMapping:
        return cls({k: np.asarray(v, dtype=np.float64) for k, v in d["arrays"].items()}, dict(d["meta"]))

    def save(self, path: str | os.PathLike) -> Path:
        """Write `path`.npz (the arrays and meta) and `path`.json (the meta, for people)."""
        path = Path(path)
        if path.suffix in (".npz", ".json"):
            path = path.with_suffix("")
        npz, summary = path.with_name(path.name + ".npz"), path.with_name(path.name + ".json")
        np.savez(npz, __meta__=np.array(json.dumps(self.meta, sort_keys=True)), **self.arrays)
        summary.write_text(json.dumps(self.summary(), indent=1) + "\n")
        return npz

    def summary(self) -> dict:
        out = {**self.meta, "methods": list(self.methods)}
        for method in ("pca", "kmeans-pca"):
            if f"{method}.variance_ratio" in self.arrays:
                out[f"{method}_variance_ratio"] = [round(float(v), 5) for v in self.arrays[f"{method}.variance_ratio"]]
        return out

    @classmethod
    def load(cls, path: str | os.PathLike) -> FittedMapping:
        """Read a mapping saved by `save`; `path` may omit the .npz."""
        path = Path(path)
        if not path.exists() and path.with_name(path.name + ".npz").exists():
            path = path.with_name(path.name + ".npz")
        if path.suffix == ".json" and path.with_suffix(".npz").exists():
            path = path.with_suffix(".npz")
        if not path.exists():
            raise ConfigError(f"{path}: no such fitted mapping (make one with `audioviz fit`)")
        import zipfile
        import zlib

        # allow_pickle=False: object arrays and pickles are refused by numpy itself, never unpickled
        broken = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error)
        try:
            z = np.load(path, allow_pickle=False)
        except broken as e:
            raise ModelError(f"{path}: not a fitted mapping file ({_why(e)})") from None
        if not isinstance(z, np.lib.npyio.NpzFile):  # one bare .npy array
            raise ModelError(f"{path}: not a fitted mapping file (one array, not an .npz archive of arrays)")
        try:
            with z:
                meta = json.loads(str(z["__meta__"]))
                arrays = {k: z[k].astype(np.float64) for k in z.files if k != "__meta__"}
        except broken as e:
            raise ModelError(f"{path}: not a fitted mapping file ({_why(e)})") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("feature_size"), int) or meta["feature_size"] < 1:
            raise ModelError(f"{path}: not a fitted mapping file (its __meta__ has no feature size)")
        mapping = cls(arrays, meta)
        mapping.validate(path)
        return mapping

    def validate(self, where) -> None:
        """Every method, scaler and scaling this state offers works on features of its size and
        gives finite values: a damaged or hand-made file is refused here, not mid-render."""
        mean = self.arrays.get("input.mean")
        if mean is None or mean.shape != (self.feature_size,):
            raise ModelError(f"{where}: not a usable fitted mapping (no input statistics for {self.feature_size} features)")
        if not all(np.isfinite(a).all() for a in self.arrays.values()):
            raise ModelError(f"{where}: not a usable fitted mapping (it holds NaN or infinite values)")
        probe = np.linspace(-1.0, 1.0, 2 * self.feature_size).reshape(2, self.feature_size)
        try:
            for method in self.methods:
                for kind in KINDS:
                    for scaling in SCALINGS:
                        out = self.transform(probe, method, kind, scaling)
                        if out.shape != (2, N_PARAMS):
                            raise ValueError(f"{method} gives {out.shape[1]} components, not {N_PARAMS}")
        except (ValueError, KeyError, IndexError, TypeError, ConfigError) as e:
            raise ModelError(f"{where}: not a usable fitted mapping ({_why(e)})") from None


def _why(e: Exception) -> str:
    text = str(e).strip()
    if "allow_pickle" in text:  # numpy's advice is to load it unsafely: say what it is instead
        what = "object arrays" if text.startswith("Object arrays") else "a Python pickle"
        return f"it holds {what}, which audioviz never unpickles"
    return f"{type(e).__name__}: {text.splitlines()[0][:160]}" if text else type(e).__name__
