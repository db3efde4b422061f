"""Named models: which bundled weights file each name means, and how to load one.

`load_model` also takes a path to a checkpoint (or a training run folder), so a model a user
trained renders exactly like a bundled one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelError

if TYPE_CHECKING:  # torch loads only when a model does, so listing models stays instant
    import torch

    from . import checkpoint
    from .features import FeatureExtractor

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str
    description: str

    @property
    def weights(self) -> Path:
        """The bundled file, named <name>-<first 8 hex digits of its sha256>.pt."""
        found = sorted(WEIGHTS_DIR.glob(f"{self.name}-*.pt"))
        if len(found) != 1:
            what = "no weights file" if not found else f"{len(found)} weights files"
            raise ModelError(f"model {self.name!r}: {what} in {WEIGHTS_DIR} (reinstall audioviz)")
        return found[0]

    @property
    def card(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.md"


MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        ModelSpec("ae", "autoencoder", "convolutional autoencoder, decoder with its own weights (NET-AE)"),
        ModelSpec("ae_shared", "autoencoder", "convolutional autoencoder, decoder re-uses the encoder's weights (NET-AE-SHARED)"),
        ModelSpec("ae_skip", "autoencoder", "convolutional autoencoder with encoder-to-decoder skip connections (NET-AE-SKIP)"),
    )
}


def available_models() -> list[ModelSpec]:
    return list(MODELS.values())


def _resolve(name_or_path: str | os.PathLike) -> tuple[str, Path, bool]:
    """(display name, checkpoint path, is bundled)."""
    key = str(name_or_path)
    if key in MODELS:
        return key, MODELS[key].weights, True
    p = Path(key)
    if p.is_dir():
        p = p / "best.pt"
    if p.suffix == ".pt" or p.exists():
        return str(name_or_path), p, False
    raise ModelError(
        f"unknown model {key!r}; choose one of {', '.join(MODELS)} or give a path to a .pt checkpoint"
    )


def load_model(name_or_path: str | os.PathLike, device: str = "auto") -> FeatureExtractor:
    """A ready-to-use extractor for a bundled model name or a checkpoint path."""
    from . import checkpoint
    from .features import resolve_device

    name, path, bundled = _resolve(name_or_path)
    if bundled and not checkpoint.sha256(path).startswith(path.stem.rsplit("-", 1)[1]):
        raise ModelError(f"{path}: checksum does not match its name; the file is corrupt or altered")
    ckpt = checkpoint.load(path)
    return from_checkpoint(ckpt, name, resolve_device(device))


def from_checkpoint(ckpt: dict, name: str, device: torch.device) -> FeatureExtractor:
    from ..mapping.fitted import FittedMapping
    from . import checkpoint
    from .features import FeatureExtractor
    from .frontend import FrontendConfig
    from .models import build

    try:
        net = build(ckpt["arch"], ckpt["config"])
        net.load_state_dict(ckpt["state_dict"])
        frontend = FrontendConfig(**ckpt["frontend"])
        mapping = None if ckpt.get("mapping") is None else FittedMapping.from_dict(
            {"arrays": {k: v.numpy() for k, v in ckpt["mapping"]["arrays"].items()}, "meta": ckpt["mapping"]["meta"]}
        )
        norm = dict(ckpt["norm"])
        digest = checkpoint.features_digest(ckpt)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ModelError(f"model {name!r}: checkpoint does not describe a usable network ({e})") from None
    return FeatureExtractor(name, net, frontend, norm, mapping, dict(ckpt.get("meta", {})), device, digest)
