"""Writing per-segment features (or mapped parameters) for other tools: .npy (the bare array),
.csv and .json (with segment times and column names)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from .errors import ConfigError, OutputError
from .files import atomic_write

FORMATS = (".npy", ".csv", ".json")


def check_format(path: str | os.PathLike) -> str:
    """The format a features file is written in, from its name's extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"{path}: cannot tell the format; end the name in {', '.join(FORMATS)}")
    return suffix


def write_features(path: str | os.PathLike, feats, model: str, values=None, columns=None) -> Path:
    """Write `feats.values`, or `values` (same rows) named by `columns`, e.g. a scene's parameters.
    The file appears at `path` only when complete; callers check `path` first (files.output_file)."""
    path = Path(path)
    suffix = check_format(path)
    key = "features" if values is None else "parameters"
    values = np.asarray(feats.values if values is None else values, dtype=np.float32)
    names = feats.names if key == "features" else None  # a tagger's tags
    columns = list(columns) if columns is not None else list(names or (f"f{i}" for i in range(values.shape[1])))
    with atomic_write(path, "file") as tmp:
        try:
            if suffix == ".npy":
                with open(tmp, "wb") as f:
                    np.save(f, values)
            elif suffix == ".csv":
                with open(tmp, "w", newline="") as f:
                    w = csv.writer(f)
                    w.writerow(["start", "centre", *columns])
                    for s, c, row in zip(feats.starts, feats.centres, values):
                        w.writerow([f"{s:.3f}", f"{c:.3f}", *(f"{v:.7g}" for v in row)])
            else:
                doc = {
                    "model": model,
                    "duration": round(float(feats.duration), 4),
                    "starts": [round(float(s), 4) for s in feats.starts],
                    "centres": [round(float(c), 4) for c in feats.centres],
                    "columns": columns,
                    key: [[float(f"{v:.7g}") for v in row] for row in values],
                }
                tmp.write_text(json.dumps(doc))
        except OSError as e:
            raise OutputError(f"{path}: cannot write there ({e.strerror})") from None
    return path
