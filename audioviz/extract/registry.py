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
TAGGER_ARCH = "musicnn"  # a checkpoint's arch for the pretrained taggers (musicnn.py)


@dataclass(frozen=True)
class Layer:
    name: str
    size: int  # features per segment
    what: str


# the bundled autoencoders' layers: four conv blocks of 8 to 64 channels over 64 to 8 MFCC rows
AE_LAYERS = tuple(Layer(f"conv{b + 1}", (8 << b) * (64 >> b), f"conv block {b + 1} ({8 << b} channels x {64 >> b} "
                        "MFCC rows), averaged over time") for b in range(4)) + (Layer("code", 10, "the code"),)


def layer_in_name(layers, layer: str) -> bool:
    """Whether `layer` is part of a model's name in titles and feature keys: where the model has
    several layers, except an autoencoder's code, which is what the model's name alone has
    always meant (its fitted mappings and caches stay valid)."""
    return len(layers) > 1 and layer != "code"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str
    description: str
    # the bundled weights' feature layers (listed without loading torch), the default last
    layers: tuple[Layer, ...] = AE_LAYERS
    tags: tuple[str, ...] = ()  # a tagger's, in its output order (its checkpoint holds them too)

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


# the Million Song Dataset's 50 most frequent last.fm tags, in musicnn's output order
MSD_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
    "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
    "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient",
    "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening",
    "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad",
    "House", "happy",
)

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
        ModelSpec("musicnn", "tagger", "musicnn, pretrained on the Million Song Dataset's 50 tags (Pons & Serra, 2019)",
                  (Layer("embedding", 200, "penultimate dense layer, over a 3 s patch"),
                   Layer("tags", 50, "the 50 tags' probabilities (rock, pop, electronic, jazz, ...)")), MSD_TAGS),
        ModelSpec("musicnn_vgg", "tagger", "musicnn's VGG-like baseline, pretrained on the same 50 tags",
                  (Layer("embedding", 256, "last conv layer, max-pooled to 2 time steps x 128 filters"),
                   Layer("tags", 50, "the 50 tags' probabilities (rock, pop, electronic, jazz, ...)")), MSD_TAGS),
    )
}


def available_models() -> list[ModelSpec]:
    return list(MODELS.values())


def _resolve(name_or_path: str | os.PathLike) -> tuple[str, Path, bool]:
    """(display name, checkpoint path, is bundled), the path checked to be a regular file that
    can be read (a FIFO named x.pt would be read forever): ModelError in words otherwise."""
    from ..files import regular_file

    key = str(name_or_path)
    if key in MODELS:
        return key, regular_file(MODELS[key].weights, "model file", ModelError), True
    p = Path(key)
    if p.is_dir():  # a training run's folder: its best model so far
        if not (p / "best.pt").exists() and not (p / "best.pt").is_symlink():
            raise ModelError(f"{p}: a folder without best.pt; a training run writes it after its first epoch")
        p = p / "best.pt"
    elif p.suffix != ".pt" and not os.path.lexists(p):
        raise ModelError(
            f"unknown model {key!r}; choose one of {', '.join(MODELS)} or give a path to a .pt checkpoint"
        )
    return key, regular_file(p, "model file", ModelError), False


def check_model(name_or_path: str | os.PathLike, layer: str | None = None) -> Path | None:
    """What can be known of a model without loading torch (milliseconds, not seconds): the name
    is a bundled model, or the path a readable regular file (a run folder: its best.pt); for a
    bundled model, `layer` one of its feature layers. ModelError in one line otherwise. A
    checkpoint's contents are checked by `load_model`. Returns the user's checkpoint file
    (None for a bundled model)."""
    name, path, bundled = _resolve(name_or_path)
    spec = MODELS.get(name) if bundled else None
    if spec is not None and layer is not None and layer not in [lay.name for lay in spec.layers]:
        have = ", ".join(f"{lay.name} ({lay.size} features)" for lay in spec.layers)
        raise ModelError(f"model {name!r} has no feature layer {layer!r}; its layers are {have}")
    return None if bundled else path


def load_model(name_or_path: str | os.PathLike, device: str = "auto", layer: str | None = None) -> FeatureExtractor:
    """A ready-to-use extractor for a bundled model name or a checkpoint path, reading its
    feature `layer` (a classifier's layer by the paper's name; None: the model's default).
    Every value the checkpoint carries is checked first: a damaged or crafted one is a
    ModelError naming the model and the value, before any audio is decoded."""
    from . import checkpoint
    from .features import resolve_device

    name, path, bundled = _resolve(name_or_path)
    if bundled and not checkpoint.sha256(path).startswith(path.stem.rsplit("-", 1)[1]):
        raise ModelError(f"{path}: checksum does not match its name; the file is corrupt or altered")
    ckpt = checkpoint.load(path)
    return from_checkpoint(ckpt, name, resolve_device(device), layer)


def _why(e: BaseException) -> str:
    """An exception's first line, short: torch's messages span lines and may quote whole tensors."""
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else type(e).__name__


def _check_weights(got: dict, expected: dict) -> None:
    """`got` (a checkpoint's state dict) holds exactly the tensors of `expected` (the state dict
    of the network its config describes, built on the meta device: shapes without memory),
    each finite and of the same shape and kind (ValueError otherwise)."""
    import torch

    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    if missing or unexpected:
        parts = [f"{len(missing)} missing ({', '.join(map(str, missing[:2]))}...)" if missing else "",
                 f"{len(unexpected)} unexpected ({', '.join(map(repr, unexpected[:2]))}...)" if unexpected else ""]
        raise ValueError(f"its weights do not fit its architecture: {'; '.join(p for p in parts if p)}")
    for key, want in expected.items():
        t = got[key]
        if not isinstance(t, torch.Tensor) or t.layout != torch.strided or t.device.type != "cpu":
            raise ValueError(f"weight {key} is not a plain tensor")
        if t.shape != want.shape:
            raise ValueError(f"weight {key} has shape {tuple(t.shape)}; its architecture needs {tuple(want.shape)}")
        if t.is_complex() or t.is_floating_point() != want.is_floating_point():
            raise ValueError(f"weight {key} is {t.dtype}, not {want.dtype}")
        if t.is_floating_point() and not _finite(t):
            raise ValueError(f"weight {key} holds NaN or infinite values")


def _finite(t) -> bool:
    import numpy as np
    import torch

    try:  # numpy's check costs microseconds a tensor, torch's a millisecond
        return bool(np.isfinite(t.detach().numpy()).all())
    except TypeError:  # a dtype numpy lacks (bfloat16)
        return bool(torch.isfinite(t).all())


def _network(ckpt: dict):
    """(network with its weights, frontend, input normalisation) that a checkpoint describes,
    every value checked first (ValueError or TypeError naming it)."""
    import torch

    from .features import check_norm
    from .frontend import FrontendConfig
    from .logmel import LogMelConfig
    from .models import build

    for key, kind in (("arch", str), ("config", dict), ("state_dict", dict), ("frontend", dict), ("norm", dict)):
        if not isinstance(ckpt.get(key), kind):
            raise ValueError(f"its {key} is missing or not a {kind.__name__}")
    tagger = ckpt["arch"] == TAGGER_ARCH
    frontend = (LogMelConfig if tagger else FrontendConfig).from_dict(ckpt["frontend"])
    with torch.device("meta"):  # the architecture's shapes, without allocating its weights
        shapes = build(ckpt["arch"], ckpt["config"], init_weights=False)
    _check_weights(ckpt["state_dict"], shapes.state_dict())
    c = shapes.config
    rows, what = (frontend.n_mels, "mel bands") if tagger else (frontend.n_mfcc, "MFCCs")
    if (c.input_height, c.input_width) != (rows, frontend.frames_per_segment):
        raise ValueError(f"the network takes {c.input_height} x {c.input_width} inputs, but its frontend gives "
                         f"{rows} {what} x {frontend.frames_per_segment} frames")
    if tagger:  # its first layer, a batch norm, standardises the input: there is nothing to apply
        if ckpt["norm"] != {"kind": "none"}:
            raise ValueError("input normalisation of a tagger must be none (its network normalises its input)")
        norm = {}
    else:
        norm = check_norm(ckpt["norm"], frontend.n_mfcc)
    # now as large as the weights it was checked against, and every value of it theirs
    net = shapes.to_empty(device="cpu")
    net.load_state_dict(ckpt["state_dict"])
    return net.eval(), frontend, norm


def _probe(net, layer: str) -> None:
    """One segment through the network: weights that are finite can still overflow to NaN."""
    import torch

    c = net.config
    with torch.inference_mode():
        out = net.encode(torch.zeros(1, 1, c.input_height, c.input_width), layer)
    if not bool(torch.isfinite(out).all()):
        raise ValueError(f"its layer {layer} gives NaN or infinite features")


def _mapping_for(ckpt: dict, layer: str, default_layer: str) -> dict | None:
    """The fitted mapping a checkpoint carries for `layer`: `mapping` is the default layer's,
    `layer_mappings` holds the others' (networks with several feature layers)."""
    others = ckpt.get("layer_mappings") or {}
    if not isinstance(others, dict):
        raise ValueError(f"its layer_mappings is a {type(others).__name__}, not a dict")
    return ckpt.get("mapping") if layer == default_layer else others.get(layer)


def stored_mapping(stored, where: str, layer: str, size: int):
    """The FittedMapping a checkpoint stores (a dict of "arrays", tensors, and "meta"), checked
    to work on `size` features: ModelError otherwise."""
    import torch

    from ..mapping.fitted import FittedMapping

    why = ""
    if not isinstance(stored, dict) or not isinstance(stored.get("arrays"), dict):
        why = "it is not a dict of arrays and meta"
    elif not all(isinstance(v, torch.Tensor) and v.layout == torch.strided and not v.is_complex()
                 and v.dtype != torch.bool for v in stored["arrays"].values()):
        why = "its arrays are not plain tensors of numbers"
    if why:
        raise ModelError(f"{where}: its fitted mapping for layer {layer} is unusable ({why})")
    try:
        arrays = {k: v.detach().cpu().double().numpy() for k, v in stored["arrays"].items()}
    except (TypeError, RuntimeError, NotImplementedError) as e:
        raise ModelError(f"{where}: its fitted mapping for layer {layer} is unusable ({_why(e)})") from None
    mapping = FittedMapping.from_arrays(arrays, stored.get("meta"), where)
    if mapping.feature_size != size:
        raise ModelError(f"{where}: its fitted mapping for layer {layer} was fitted on {mapping.feature_size} "
                         f"features, but the layer gives {size}")
    return mapping


def from_checkpoint(ckpt: dict, name: str, device: torch.device, layer: str | None = None) -> FeatureExtractor:
    from . import checkpoint
    from .features import FeatureExtractor
    from .tagger import TaggerExtractor

    where = f"model {name!r}"
    try:
        net, frontend, norm = _network(ckpt)
        digest = checkpoint.features_digest(ckpt)
        meta = ckpt.get("meta", {})
        if not isinstance(meta, dict):
            raise ValueError(f"its meta is a {type(meta).__name__}, not a dict")
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ModelError(f"{where}: checkpoint does not describe a usable network ({_why(e)})") from None
    layer = layer or net.default_layer
    if layer not in net.layers:
        have = ", ".join(f"{n} ({size} features)" for n, size in net.layers.items())
        raise ModelError(f"{where} has no feature layer {layer!r}; its layers are {have}")
    if layer_in_name(net.layers, layer):  # each layer gives other features: caches and fitted mappings tell them apart
        digest = hashlib.sha256(f"{digest}:{layer}".encode()).hexdigest()
    try:
        _probe(net, layer)
        stored = _mapping_for(ckpt, layer, net.default_layer)
    except (ValueError, RuntimeError) as e:
        raise ModelError(f"{where}: checkpoint does not describe a usable network ({_why(e)})") from None
    # wrong shapes or NaN: refused now, not mid-render
    titled = f"{where} layer {layer}" if layer_in_name(net.layers, layer) else where
    mapping = None if stored is None else stored_mapping(stored, titled, layer, net.layers[layer])
    try:
        kind = TaggerExtractor if ckpt["arch"] == TAGGER_ARCH else FeatureExtractor
        return kind(name, net, frontend, norm, mapping, dict(meta), device, digest, layer)
    except ValueError as e:  # the MFCC frontend's filters (see MFCCFrontend)
        raise ModelError(f"{where}: checkpoint does not describe a usable network ({_why(e)})") from None
