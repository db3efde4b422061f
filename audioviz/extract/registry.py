"""Named models: which bundled weights file each name means, and how to load one.

`load_model` also takes a path to a checkpoint (or a training run folder), so a model a user
trained renders exactly like a bundled one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelError

if TYPE_CHECKING:  # torch loads only when a model does, so listing models stays instant
    import torch

    from .features import FeatureExtractor

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class Layer:
    name: str
    size: int  # features per segment
    what: str


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str
    description: str
    # the bundled weights' feature layers (listed without loading torch), the default last
    layers: tuple[Layer, ...] = (Layer("code", 10, "the code"),)

    @property
    def default_layer(self) -> str:
        return self.layers[-1].name

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
        ModelSpec("alexnet", "classifier", "AlexNet genre classifier (one channel, first conv stride (1, 2)), 1/8 width",
                  (Layer("L6", 512, "1st FC layer"),)),
        ModelSpec("vgg11", "classifier", "VGG-11 genre classifier with batch norm, 1/8 width",
                  (Layer("L8", 256, "8th (last) conv layer, averaged over time: 64 channels x 4 frequency rows"),)),
        ModelSpec("vgg13", "classifier", "VGG-13 genre classifier with batch norm, 1/8 width",
                  (Layer("L10", 256, "10th (last) conv layer, averaged over time: 64 channels x 4 frequency rows"),)),
        ModelSpec("vgg16", "classifier", "VGG-16 genre classifier with batch norm, 1/8 width",
                  (Layer("L13", 256, "13th (last) conv layer, averaged over time: 64 channels x 4 frequency rows"),
                   Layer("L14", 512, "1st FC layer"), Layer("L15", 512, "2nd FC layer"))),
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


def load_model(name_or_path: str | os.PathLike, device: str = "auto", layer: str | None = None) -> FeatureExtractor:
    """A ready-to-use extractor for a bundled model name or a checkpoint path, reading its
    feature `layer` (a classifier's layer by the paper's name; None: the model's default)."""
    from . import checkpoint
    from .features import resolve_device

    name, path, bundled = _resolve(name_or_path)
    if bundled and not checkpoint.sha256(path).startswith(path.stem.rsplit("-", 1)[1]):
        raise ModelError(f"{path}: checksum does not match its name; the file is corrupt or altered")
    ckpt = checkpoint.load(path)
    return from_checkpoint(ckpt, name, resolve_device(device), layer)


def _mapping_for(ckpt: dict, layer: str, default_layer: str) -> dict | None:
    """The fitted mapping a checkpoint carries for `layer`: `mapping` is the default layer's,
    `layer_mappings` holds the others' (networks with several feature layers)."""
    if layer == default_layer:
        return ckpt.get("mapping")
    return (ckpt.get("layer_mappings") or {}).get(layer)


def from_checkpoint(ckpt: dict, name: str, device: torch.device, layer: str | None = None) -> FeatureExtractor:
    from ..mapping.fitted import FittedMapping
    from . import checkpoint
    from .features import FeatureExtractor
    from .frontend import FrontendConfig
    from .models import build

    try:
        net = build(ckpt["arch"], ckpt["config"])
        net.load_state_dict(ckpt["state_dict"])
        frontend = FrontendConfig(**ckpt["frontend"])
        norm = dict(ckpt["norm"])
        digest = checkpoint.features_digest(ckpt)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ModelError(f"model {name!r}: checkpoint does not describe a usable network ({e})") from None
    layer = layer or net.default_layer
    if layer not in net.layers:
        have = ", ".join(f"{n} ({size} features)" for n, size in net.layers.items())
        raise ModelError(f"model {name!r} has no feature layer {layer!r}; its layers are {have}")
    if len(net.layers) > 1:  # each layer gives other features: caches and fitted mappings tell them apart
        digest = hashlib.sha256(f"{digest}:{layer}".encode()).hexdigest()
    stored = _mapping_for(ckpt, layer, net.default_layer)
    try:
        mapping = None if stored is None else FittedMapping.from_dict(
            {"arrays": {k: v.numpy() for k, v in stored["arrays"].items()}, "meta": stored["meta"]}
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ModelError(f"model {name!r}: its fitted mapping for layer {layer} is unusable ({e})") from None
    if mapping is not None:
        mapping.validate(f"model {name!r}")  # wrong shapes or NaN: refused now, not mid-render
    return FeatureExtractor(name, net, frontend, norm, mapping, dict(ckpt.get("meta", {})), device, digest, layer)
