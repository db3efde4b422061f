"""What a mapping learns from a corpus's features, stored as plain arrays (never pickles).

The paper's methods, each giving ten components (component 0 first) before scaling:
- `raw` (I): the features themselves; only for a model with exactly ten.
- `pca` (III): standardised features projected on their ten principal axes, ordered by variance.
- `kmeans` (IV): the similarity of the standardised features to each of ten K-Means centroids,
  the paper's 1 / euclidean distance made finite: d0 / (d + d0), with d0 the median distance of
  the fitted segments to their nearest centroid, so a segment on a centroid (a repeated loop,
  digital silence) gets 1 instead of a value a million times larger than every other.
- `kmeans-pca` (V): those similarities projected on their ten principal axes.
Each method's output then goes through one of four fitted scalers (standard or minmax, per
component or across all of them). One fitted state holds every method and scaler, so a model
ships a single file and the choice is made at render time.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import N_PARAMS, Method, resolved
from ..errors import ConfigError, ModelError
from .scaling import KINDS, SCALINGS, Scaler

METHODS = resolved(Method)
ORDERED = ("pca", "kmeans-pca")  # methods whose components come ordered by spread
# PCA and K-Means see at most this many segments (a seeded sample); scalers see them all
MAX_FIT_SEGMENTS = 100_000
# mappings fitted before `kmeans.scale` existed used 1 / (d + this); their scalers were fitted on it
LEGACY_EPS = 1e-6


def distances(z: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(N, D) x (K, D) -> (N, K) euclidean distances."""
    d2 = (z * z).sum(1)[:, None] - 2.0 * z @ centroids.T + (centroids * centroids).sum(1)[None, :]
    return np.sqrt(np.maximum(d2, 0.0))


def similarity(z: np.ndarray, centroids: np.ndarray, scale: float | None = None) -> np.ndarray:
    """(N, D) x (K, D) -> (N, K) similarity to each centroid: scale / (distance + scale), in
    (0, 1]; without a scale (a mapping fitted by an older audioviz), 1 / (distance + 1e-6)."""
    d = distances(z, centroids)
    if scale is None:
        return 1.0 / (d + LEGACY_EPS)
    return scale / (d + scale)


def similarity_scale(z: np.ndarray, centroids: np.ndarray) -> float:
    """The median distance of segments to their nearest centroid: where similarity is 1/2.
    1 when most segments sit on a centroid (fewer distinct segments than clusters)."""
    nearest = distances(z, centroids).min(axis=1)
    median = float(np.median(nearest))
    return median if median > 1e-9 else 1.0


def _pca(x: np.ndarray, seed: int):
    from sklearn.decomposition import PCA

    solver = "full" if x.shape[1] <= 512 else "randomized"
    pca = PCA(n_components=N_PARAMS, svd_solver=solver, random_state=seed).fit(x)
    # features that never vary (a held tone fitted with --fit track) have no variance to share
    # out: sklearn divides 0 by 0, the true share of each component is 0
    pca.explained_variance_ratio_ = np.nan_to_num(pca.explained_variance_ratio_, nan=0.0)
    return pca


def _finite(x: np.ndarray) -> np.ndarray:
    """`x`, where scikit-learn may see it: it refuses inf and NaN with a ValueError."""
    if not np.isfinite(x).all():
        raise ConfigError("features to fit on are too large to fit a mapping on (their statistics overflow)")
    return x


@dataclass(frozen=True)
class FittedMapping:
    arrays: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, features: np.ndarray, seed: int = 0, **meta) -> FittedMapping:
        """Fit every method and scaler on (segments, D) features of a corpus.

        Deterministic: the same features and seed give identical arrays.
        """
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or len(x) < N_PARAMS:
            raise ConfigError(
                f"fitting a mapping needs at least {N_PARAMS} segments (about {N_PARAMS} s of audio), "
                f"got {len(x) if x.ndim == 2 else 'an array of shape ' + str(x.shape)}"
            )
        if not np.isfinite(x).all():
            raise ConfigError("features to fit on contain NaN or infinite values")
        # features so large that their squares overflow give inf and NaN: refused below, in
        # words, instead of as numpy's and scikit-learn's RuntimeWarnings
        with np.errstate(all="ignore"):
            mapping = cls._fit(x, seed, meta)
        if not all(np.isfinite(a).all() for a in mapping.arrays.values()):
            raise ConfigError("features to fit on are too large to fit a mapping on (their statistics overflow)")
        return mapping

    @classmethod
    def _fit(cls, x: np.ndarray, seed: int, meta: dict) -> FittedMapping:
        from sklearn.cluster import KMeans
        from sklearn.exceptions import ConvergenceWarning

        rng = np.random.default_rng(seed)
        sample = x if len(x) <= MAX_FIT_SEGMENTS else x[np.sort(rng.choice(len(x), MAX_FIT_SEGMENTS, replace=False))]

        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        arrays = {"input.mean": mean, "input.scale": scale}
        z = _finite((sample - mean) / scale)
        if x.shape[1] >= N_PARAMS:
            pca = _pca(z, seed)
            arrays |= {"pca.mean": pca.mean_, "pca.axes": pca.components_, "pca.variance_ratio": pca.explained_variance_ratio_}
        with warnings.catch_warnings():  # fewer distinct segments than clusters: duplicates are fine
            warnings.simplefilter("ignore", ConvergenceWarning)
            km = KMeans(n_clusters=N_PARAMS, n_init=10, random_state=seed).fit(z)
        scale = similarity_scale(z, km.cluster_centers_)
        arrays |= {"kmeans.centroids": km.cluster_centers_, "kmeans.scale": np.array([scale])}
        sims = _finite(similarity(z, km.cluster_centers_, scale))
        pca_sim = _pca(sims, seed)
        arrays |= {"kmeans-pca.mean": pca_sim.mean_, "kmeans-pca.axes": pca_sim.components_,
                   "kmeans-pca.variance_ratio": pca_sim.explained_variance_ratio_}

        mapping = cls(arrays, {"feature_size": int(x.shape[1]), "segments": int(len(x)), "seed": int(seed), **meta})
        for method in mapping.methods:
            comps = mapping._components(x, method)
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
        """(N, D) features -> (N, 10) float64 components of `method`, before scaling. Features
        far outside what the mapping was fitted on may overflow to +-inf (which scaling clips
        to 0 or 1); where they would give NaN, a ModelError says so."""
        x = np.asarray(features, dtype=np.float64)
        self._check(x, method)
        if not np.isfinite(x).all():
            raise ConfigError("features to map contain NaN or infinite values")
        with np.errstate(all="ignore"):
            out = self._components(x, method)
        if np.isnan(out).any():
            raise ModelError(f"the fitted mapping cannot map these features with {method}: they lie so far outside "
                             "what it was fitted on that its arithmetic overflows; refit it with `audioviz fit`")
        return out

    def _components(self, x: np.ndarray, method: str) -> np.ndarray:
        if method == "raw":
            return x
        z = (x - self.arrays["input.mean"]) / self.arrays["input.scale"]
        if method == "pca":
            return (z - self.arrays["pca.mean"]) @ self.arrays["pca.axes"].T
        scale = self.arrays.get("kmeans.scale")
        sims = similarity(z, self.arrays["kmeans.centroids"], None if scale is None else float(scale.ravel()[0]))
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

    @staticmethod
    def paths(path: str | os.PathLike) -> tuple[Path, Path]:
        """The two files `save(path)` writes: `path`.npz and `path`.json (either suffix may be given)."""
        path = Path(path)
        if path.suffix in (".npz", ".json"):
            path = path.with_suffix("")
        return path.with_name(path.name + ".npz"), path.with_name(path.name + ".json")

    def save(self, path: str | os.PathLike) -> Path:
        """Write `path`.npz (the arrays and meta) and `path`.json (the meta, for people), each
        appearing only when complete."""
        from ..files import atomic_write

        npz, summary = self.paths(path)
        with atomic_write(npz, "fitted mapping") as tmp, open(tmp, "wb") as f:
            np.savez(f, __meta__=np.array(json.dumps(self.meta, sort_keys=True)), **self.arrays)
        with atomic_write(summary, "fitted mapping summary") as tmp:
            tmp.write_text(json.dumps(self.summary(), indent=1) + "\n")
        return npz

    def summary(self) -> dict:
        out = {**self.meta, "methods": list(self.methods)}
        for method in ("pca", "kmeans-pca"):
            if f"{method}.variance_ratio" in self.arrays:
                out[f"{method}_variance_ratio"] = [round(float(v), 5) for v in self.arrays[f"{method}.variance_ratio"]]
        return out

    @staticmethod
    def locate(path: str | os.PathLike) -> Path:
        """The file `load(path)` reads (`path` may omit the .npz or name the .json summary),
        checked to be a regular file that can be read: cheap, so a command can check a --fit
        file before it loads a model. ConfigError in words otherwise."""
        from ..files import regular_file

        path = Path(path)
        if not os.path.lexists(path) and path.with_name(path.name + ".npz").exists():
            path = path.with_name(path.name + ".npz")
        if path.suffix == ".json" and path.with_suffix(".npz").exists():
            path = path.with_suffix(".npz")
        if not path.exists():
            raise ConfigError(f"{path}: no such fitted mapping (make one with `audioviz fit`)")
        return regular_file(path, "fitted mapping", ConfigError)  # a FIFO would be read forever

    @classmethod
    def load(cls, path: str | os.PathLike) -> FittedMapping:
        """Read a mapping saved by `save`; `path` may omit the .npz. Whatever the file holds, the
        result is a mapping that works or a one-line ModelError: the archive is read by hand,
        each array's header checked against its size before anything is allocated."""
        path = cls.locate(path)
        arrays, meta = _read_npz(path)
        return cls.from_arrays(arrays, meta, path)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta, where) -> FittedMapping:
        """A mapping from stored arrays and meta (a file's or a checkpoint's), every value
        checked: ModelError naming `where` otherwise."""
        if not isinstance(meta, dict):
            raise ModelError(f"{where}: not a usable fitted mapping (its meta is not a dict)")
        size = meta.get("feature_size")
        if type(size) is not int or not 1 <= size <= MAX_FEATURES:
            raise ModelError(f"{where}: not a usable fitted mapping (its meta has no feature size)")
        for key, kinds in _META_TYPES.items():
            if key in meta and not isinstance(meta[key], kinds):
                raise ModelError(f"{where}: not a usable fitted mapping (its meta's {key} is {meta[key]!r})")
        for key, a in arrays.items():
            if not isinstance(key, str) or not isinstance(a, np.ndarray) or a.dtype.kind not in _NUMERIC or a.ndim > 2:
                raise ModelError(f"{where}: not a usable fitted mapping ({str(key)[:40]} is not a numeric array of "
                                 "one or two dimensions)")
        mapping = cls({k: a.astype(np.float64) for k, a in arrays.items()}, dict(meta))
        mapping.validate(where)
        return mapping

    def validate(self, where) -> None:
        """Every method, scaler and scaling this state offers works on features of its size and
        gives finite values: a damaged or hand-made file is refused here, not mid-render."""
        mean, scale = self.arrays.get("input.mean"), self.arrays.get("input.scale")
        if mean is None or scale is None or mean.shape != (self.feature_size,) or scale.shape != mean.shape:
            raise ModelError(f"{where}: not a usable fitted mapping (no input statistics for {self.feature_size} features)")
        if not all(np.isfinite(a).all() for a in self.arrays.values()):
            raise ModelError(f"{where}: not a usable fitted mapping (it holds NaN or infinite values)")
        # a scale of zero divides by zero; an order that is not a permutation drops components
        if not all((a > 0).all() for k, a in self.arrays.items() if k == "input.scale" or k.endswith(".scale")):
            raise ModelError(f"{where}: not a usable fitted mapping (a scale is zero or negative)")
        for key, order in self.arrays.items():
            if key.endswith(".order") and sorted(order.ravel().tolist()) != list(range(N_PARAMS)):
                raise ModelError(f"{where}: not a usable fitted mapping ({key} is not an order of {N_PARAMS} components)")
        probe = np.linspace(-1.0, 1.0, 2 * self.feature_size).reshape(2, self.feature_size)
        try:
            for method in self.methods:
                for kind in KINDS:
                    for scaling in SCALINGS:
                        out = self.transform(probe, method, kind, scaling)
                        if out.shape != (2, N_PARAMS):
                            raise ValueError(f"{method} gives {out.shape[1]} components, not {N_PARAMS}")
        except (ValueError, KeyError, IndexError, TypeError, ConfigError, ModelError) as e:
            raise ModelError(f"{where}: not a usable fitted mapping ({_why(e)})") from None


# -- reading an .npz by hand -------------------------------------------------------------------
# A mapping's arrays are small (a 2048-feature layer's whole state is under 2 MB): the caps keep
# a crafted file from asking for gigabytes, or for hours of parsing
MAX_MAPPING_BYTES = 256 << 20  # every member, uncompressed
MAX_MEMBERS = 4_096
MAX_HEADER = 4_096  # bytes of one .npy header (numpy writes about 128)
MAX_FEATURES = 1 << 20
_NUMERIC = "iuf"  # integer, unsigned, float: no bool, complex, dates, strings, objects or records
_META_TYPES = {"model_features": str}  # meta values code reads beyond the feature size
_NPY_MAGIC = b"\x93NUMPY"
_HEADER_LENGTH = {1: "<H", 2: "<I", 3: "<I"}  # .npy format version -> how its header length is stored


class _Refused(Exception):
    """What is wrong with a mapping file, in words."""


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) of a mapping file; ModelError, one line, for anything else."""
    import zipfile

    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(_NPY_MAGIC):
        raise ModelError(f"{path}: not a fitted mapping file (one array, not an .npz archive of arrays)")
    if head[:1] == b"\x80":  # a pickle's PROTO opcode
        raise ModelError(f"{path}: not a fitted mapping file (it holds a Python pickle, which audioviz never unpickles)")
    try:
        with zipfile.ZipFile(path) as z:
            members = _npy_members(z)
            arrays = {key: _read_member(z, info, key) for key, info in members.items()}
        meta = arrays.pop("__meta__", None)
        if meta is None or meta.dtype.kind != "U" or meta.ndim:
            raise _Refused("it has no __meta__ text")
        meta = json.loads(meta.item())
    except _Refused as e:
        raise ModelError(f"{path}: not a fitted mapping file ({e})") from None
    except _BROKEN as e:
        raise ModelError(f"{path}: not a fitted mapping file ({_why(e)})") from None
    return arrays, meta


def _npy_members(z) -> dict[str, object]:
    """Array name -> its zip entry, checked to hold only .npy files of a bounded total size."""
    infos = z.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _Refused(f"{len(infos)} members; a mapping has fewer than {MAX_MEMBERS}")
    total = sum(info.file_size for info in infos)
    if total > MAX_MAPPING_BYTES:
        raise _Refused(f"its arrays would take {total / 2**20:.0f} MB; a mapping takes a few")
    members = {}
    for info in infos:
        if not info.filename.endswith(".npy") or info.is_dir():
            raise _Refused(f"its member {info.filename[:60]!r} is not an .npy array")
        members[info.filename[:-4]] = info
    return members


def _read_member(z, info, key: str) -> np.ndarray:
    """One .npy member, its header parsed and checked here (numpy's reader would trust any
    shape and take any dtype) against the member's size before the data is read."""
    with z.open(info) as f:
        dtype, shape, fortran, header_bytes = _npy_header(f, key)
        if dtype.kind not in (_NUMERIC if key != "__meta__" else "U"):
            if dtype.kind == "O":
                raise _Refused("it holds object arrays, which audioviz never unpickles")
            raise _Refused(f"{key} holds {dtype}, not numbers")
        if len(shape) > (2 if key != "__meta__" else 0):
            raise _Refused(f"{key} has {len(shape)} dimensions")
        size = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        if header_bytes + size != info.file_size:
            raise _Refused(f"{key}'s header declares {size} bytes of data, the archive holds "
                           f"{info.file_size - header_bytes}")
        data = f.read(size)
    if len(data) != size:
        raise _Refused(f"{key} is truncated")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")


def _npy_header(f, key: str) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """(dtype, shape, Fortran order, header length in bytes) of the .npy file `f`."""
    import ast
    import struct

    magic = f.read(8)
    if len(magic) < 8 or not magic.startswith(_NPY_MAGIC) or magic[6] not in _HEADER_LENGTH:
        raise _Refused(f"{key} is not an .npy array")
    length_format = _HEADER_LENGTH[magic[6]]
    raw = f.read(struct.calcsize(length_format))
    if len(raw) != struct.calcsize(length_format):
        raise _Refused(f"{key} is truncated")
    (length,) = struct.unpack(length_format, raw)
    if length > MAX_HEADER:
        raise _Refused(f"{key}'s header is {length} bytes long, more than the {MAX_HEADER} an array's needs")
    text = f.read(length)
    if len(text) != length:
        raise _Refused(f"{key} is truncated")
    try:
        header = ast.literal_eval(text.decode("utf-8" if magic[6] == 3 else "latin1"))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        header = None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise _Refused(f"{key}'s header is not an .npy header")
    descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    if not isinstance(descr, str):  # a list or tuple describes records or sub-arrays
        raise _Refused(f"{key} holds records, not numbers")
    dtype = np.dtype(descr)
    if dtype.names is not None or dtype.subdtype is not None:
        raise _Refused(f"{key} holds records, not numbers")
    if not isinstance(fortran, bool) or not isinstance(shape, tuple) or len(shape) > 32 \
            or not all(type(n) is int and n >= 0 for n in shape):
        raise _Refused(f"{key}'s header has no valid shape")
    return dtype, shape, fortran, len(magic) + len(raw) + length


def _broken() -> tuple[type[BaseException], ...]:
    """Everything that reading a damaged or crafted archive can raise (a hostile header can make
    literal_eval run out of stack or memory; a zip can use a codec that is missing)."""
    import zipfile
    import zlib

    errors = [OSError, ValueError, KeyError, TypeError, EOFError, RuntimeError, NotImplementedError, SyntaxError,
              MemoryError, RecursionError, zipfile.BadZipFile, zlib.error]
    try:
        import lzma

        errors.append(lzma.LZMAError)
    except ImportError:
        pass
    return tuple(errors)


_BROKEN = _broken()


def _why(e: Exception) -> str:
    text = str(e).strip()
    if "allow_pickle" in text:  # numpy's advice is to load it unsafely: say what it is instead
        what = "object arrays" if text.startswith("Object arrays") else "a Python pickle"
        return f"it holds {what}, which audioviz never unpickles"
    return f"{type(e).__name__}: {text.splitlines()[0][:160]}" if text else type(e).__name__
