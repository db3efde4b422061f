"""Self-describing checkpoints: architecture name, its config, weights, input normalisation and
the fitted mapping (one per feature layer for classifiers), all plain data and tensors, loaded
with `weights_only=True`."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelError

FORMAT = "audioviz.checkpoint"
VERSION = 1


def _to_tensors(d: dict) -> dict:
    return {k: torch.as_tensor(np.asarray(v)) for k, v in d.items()}


def pack(
    *,
    name: str,
    arch: str,
    config: dict,
    state_dict: dict,
    frontend: dict,
    norm: dict,
    mapping: dict | None,
    meta: dict,
    layer_mappings: dict[str, dict] | None = None,
) -> dict:
    """A checkpoint as a dict (numpy arrays become tensors so that weights-only loading takes them).

    `mapping` is fitted on the network's default feature layer; a network with several feature
    layers (a classifier) may carry one for each other layer in `layer_mappings` (name -> mapping).
    """
    ckpt = {
        "format": FORMAT,
        "version": VERSION,
        "name": name,
        "arch": arch,
        "config": dict(config),
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        "frontend": dict(frontend),
        "norm": {"kind": norm["kind"], **_to_tensors({k: v for k, v in norm.items() if k != "kind"})},
        "mapping": None if mapping is None else _mapping(mapping),
        "meta": dict(meta),
    }
    if layer_mappings:
        ckpt["layer_mappings"] = {layer: _mapping(m) for layer, m in layer_mappings.items()}
    return ckpt


def _mapping(mapping: dict) -> dict:
    return {"arrays": _to_tensors(mapping["arrays"]), "meta": dict(mapping["meta"])}


def save(ckpt: dict, path: str | os.PathLike) -> Path:
    """Write atomically and durably: a reader never sees half a checkpoint, not even after a
    crash of the machine (a training run resumes from last.pt). A full disk is a DiskFullError,
    another failure to write an OutputError."""
    import errno

    from ..errors import DiskFullError, OutputError
    from ..files import atomic_write

    path = Path(path)
    try:
        with atomic_write(path, "checkpoint") as tmp, open(tmp, "wb") as f:
            torch.save(ckpt, f)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        error = DiskFullError if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else OutputError
        raise error(f"{path}: cannot write the checkpoint ({e.strerror or e})") from None
    except RuntimeError as e:  # torch's own writer: "file write failed"
        raise OutputError(f"{path}: cannot write the checkpoint ({str(e).strip().splitlines()[0][:160]})") from None
    return path


def features_digest(ckpt: dict) -> str:
    """sha256 of everything that decides a checkpoint's features (network, frontend, input
    normalisation) and nothing else: refitting the mapping inside a checkpoint keeps it."""
    import json

    h = hashlib.sha256(json.dumps([ckpt["arch"], ckpt["config"], ckpt["frontend"]], sort_keys=True, default=str).encode())
    for group in (ckpt["state_dict"], ckpt["norm"]):
        for key in sorted(group):
            value = group[key]
            h.update(key.encode())
            h.update(value.cpu().numpy().tobytes() if isinstance(value, torch.Tensor) else str(value).encode())
    return h.hexdigest()


def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# torch's own advice in these messages (allow-listing globals, weights_only=False) is exactly
# what must not be done with a file from elsewhere: keep only the reason
_TORCH_BOILERPLATE = ("Weights only load failed", "(1)", "(2)", "Check the documentation", "Please file an issue")


def _refusal(e: Exception) -> str:
    """The one line of torch's message that says what the file holds that weights do not."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        ln = ln.removeprefix("WeightsUnpickler error:").strip()
        if ln and not ln.startswith(_TORCH_BOILERPLATE):
            return ln.split(". Please use")[0].rstrip(".")[:160]
    return type(e).__name__


def read(path: str | os.PathLike, map_location: str | torch.device = "cpu"):
    """torch.load with `weights_only=True`, the only way audioviz reads a .pt file: tensors and
    plain containers load, anything a pickle could run (a crafted file) is a one-line ModelError."""
    import pickle
    import warnings

    from ..files import regular_file

    path = regular_file(path, "model file", ModelError)  # a FIFO would be read forever
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": its message spans lines
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:  # the weights-only unpickler refused something
        raise ModelError(
            f"{path}: refused, not a plain weights-only checkpoint ({_refusal(e)}); "
            "audioviz never runs code from a model file"
        ) from None
    except Exception as e:  # RuntimeError, EOFError, KeyError, ... for truncated or foreign files
        why = str(e).strip().splitlines()[0][:160] if str(e).strip() else "empty or truncated"
        raise ModelError(f"{path}: not a readable PyTorch weights file ({type(e).__name__}: {why})") from None


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load and check a checkpoint; anything else (a crafted pickle included) is a ModelError."""
    path = Path(path)
    ckpt = read(path, map_location)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ModelError(f"{path}: not an audioviz checkpoint")
    if ckpt.get("version") != VERSION:
        raise ModelError(f"{path}: checkpoint version {ckpt.get('version')} is not supported (expected {VERSION})")
    return ckpt
