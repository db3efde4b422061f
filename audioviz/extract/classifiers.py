"""The paper's CNN genre classifiers, adapted to one-channel 64 x 96 MFCC segments.

- ``alexnet``: five convs (the first with stride (1, 2) instead of 4, so that the narrow
  input survives its pools), three 3x3 max-pools with stride 2, then FC layers sized for the
  256 x 6 x 4 map they leave.
- ``vgg11``, ``vgg13``, ``vgg16``: 8, 10 or 13 3x3 convs with batch norm in five blocks, each
  block ending in a 2x2 max-pool, then FC layers sized for the 512 x 2 x 3 map they leave.

Both end in three FC layers (4096, 4096, classes at the paper's width) with dropout after each
hidden one. Layers are named as in the paper, by counting weight layers from the input: L6 is
AlexNet's first FC layer, L13 VGG-16's last conv, L14 and L15 its two hidden FC layers.
`width_divisor` narrows every conv and hidden FC layer by the same factor (8 gives the bundled
models, a few MB each); 1 is the paper's width.

What a layer gives as features, per segment:
- an FC layer: its activations after the ReLU (the layer's width);
- a conv layer: its activation map after batch norm and ReLU, averaged over time (the frames
  the pools left of the segment's 96) and flattened: channels x the frequency rows left at that
  depth (4 rows at VGG's last conv, so 512 x 4 = 2048 at the paper's width, 256 in the bundled
  models). The map itself is 6 times larger again and would add only *when* within the 0.96 s
  segment something happened, which the timeline already knows.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ARCHS = ("alexnet", "vgg11", "vgg13", "vgg16")

# Layers that give features, named as in the paper; the last one of each is the default.
FEATURE_LAYERS = {
    "alexnet": ("L6",),
    "vgg11": ("L8",),
    "vgg13": ("L10",),
    "vgg16": ("L13", "L14", "L15"),
}

# VGG: convs per block; the five blocks have 64, 128, 256, 512 and 512 filters at full width.
_VGG_BLOCKS = {"vgg11": (1, 1, 2, 2, 2), "vgg13": (2, 2, 2, 2, 2), "vgg16": (2, 2, 3, 3, 3)}
_VGG_WIDTHS = (64, 128, 256, 512, 512)
# AlexNet: (filters, kernel, stride, padding, followed by a pool) per conv, at full width.
_ALEXNET = (
    (64, 11, (1, 2), 2, True),
    (192, 5, 1, 2, True),
    (384, 3, 1, 1, False),
    (256, 3, 1, 1, False),
    (256, 3, 1, 1, True),
)
FC_WIDTH = 4096
# bounds on what a checkpoint's config may ask for (its weights then bound the network's size)
MAX_CLASSES = 10_000
MAX_INPUT_SIDE = 4_096


@dataclass(frozen=True)
class ConvSpec:
    out_channels: int
    kernel: int
    stride: tuple[int, int]
    padding: int
    pool: bool  # a max-pool follows


@dataclass(frozen=True)
class ClassifierConfig:
    arch: str = "vgg16"
    classes: tuple[str, ...] = ("a", "b")
    width_divisor: int = 1  # 1: the paper's widths; 8: the bundled models
    dropout: float = 0.5
    input_height: int = 64  # MFCC coefficients
    input_width: int = 96  # frames

    def __post_init__(self) -> None:
        # a checkpoint carries these: each is checked for type and range before any layer is made
        if not isinstance(self.arch, str) or self.arch not in ARCHS:
            raise ValueError(f"architecture {self.arch!r} is not one of {ARCHS}")
        if not isinstance(self.classes, (list, tuple)) or not all(isinstance(c, str) for c in self.classes):
            raise ValueError("classes must be a list of class names")
        object.__setattr__(self, "classes", tuple(self.classes))
        if len(self.classes) < 2:
            raise ValueError("a classifier needs at least two classes")
        if len(self.classes) > MAX_CLASSES:
            raise ValueError(f"{len(self.classes)} classes are more than the {MAX_CLASSES} a classifier may have")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError("class names must differ")
        if type(self.width_divisor) is not int or self.width_divisor < 1 or 64 % self.width_divisor:
            raise ValueError(f"width divisor {self.width_divisor!r} must divide 64 (1, 2, 4, 8, 16, 32 or 64)")
        if type(self.dropout) not in (int, float) or not 0 <= self.dropout < 1:  # NaN fails the range too
            raise ValueError(f"dropout {self.dropout!r} must be in [0, 1)")
        for name in ("input_height", "input_width"):
            value = getattr(self, name)
            if type(value) is not int or not 1 <= value <= MAX_INPUT_SIDE:
                raise ValueError(f"{name} {value!r} is not a whole number from 1 to {MAX_INPUT_SIDE}")
        if min(self.spatial[-1]) < 1:
            raise ValueError(f"a {self.input_height}x{self.input_width} input is too small for {self.arch}")

    @property
    def batch_norm(self) -> bool:
        """VGG with batch norm (the paper's better variant); AlexNet as it was."""
        return self.arch != "alexnet"

    @property
    def convs(self) -> list[ConvSpec]:
        d = self.width_divisor
        if self.arch == "alexnet":
            return [ConvSpec(c // d, k, s if isinstance(s, tuple) else (s, s), p, pool) for c, k, s, p, pool in _ALEXNET]
        out = []
        for n, width in zip(_VGG_BLOCKS[self.arch], _VGG_WIDTHS):
            out += [ConvSpec(width // d, 3, (1, 1), 1, i == n - 1) for i in range(n)]
        return out

    @property
    def pool(self) -> tuple[int, int]:
        """(kernel, stride) of the max-pools: AlexNet's overlapping 3/2, VGG's 2/2."""
        return (3, 2) if self.arch == "alexnet" else (2, 2)

    @property
    def spatial(self) -> list[tuple[int, int]]:
        """(height, width) of each conv's output (before its pool), then of the final map."""
        h, w = self.input_height, self.input_width
        k_pool, s_pool = self.pool
        out = []
        for c in self.convs:
            h = (h + 2 * c.padding - c.kernel) // c.stride[0] + 1
            w = (w + 2 * c.padding - c.kernel) // c.stride[1] + 1
            out.append((h, w))
            if c.pool:
                h, w = (h - k_pool) // s_pool + 1, (w - k_pool) // s_pool + 1
        return out + [(h, w)]

    @property
    def flat_size(self) -> int:
        """Input size of the first FC layer: 256*6*4 (AlexNet) or 512*2*3 (VGG) at full width."""
        h, w = self.spatial[-1]
        return self.convs[-1].out_channels * h * w

    @property
    def fc_sizes(self) -> list[int]:
        fc = FC_WIDTH // self.width_divisor
        return [self.flat_size, fc, fc, len(self.classes)]

    @property
    def layers(self) -> dict[str, int]:
        """Feature layers (the paper's names) -> feature size, default last."""
        n_conv = len(self.convs)
        sizes = {}
        for name in FEATURE_LAYERS[self.arch]:
            i = int(name[1:])
            if i <= n_conv:
                sizes[name] = self.convs[i - 1].out_channels * self.spatial[i - 1][0]
            else:
                sizes[name] = self.fc_sizes[i - n_conv]
        return sizes

    @property
    def default_layer(self) -> str:
        return FEATURE_LAYERS[self.arch][-1]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["classes"] = list(self.classes)
        return d


class GenreClassifier(nn.Module):
    def __init__(self, config: ClassifierConfig, init_weights: bool = True):
        super().__init__()
        self.config = c = config
        chans = [1] + [s.out_channels for s in c.convs]
        self.conv = nn.ModuleList(
            nn.Conv2d(chans[i], s.out_channels, s.kernel, stride=s.stride, padding=s.padding)
            for i, s in enumerate(c.convs)
        )
        self.norm = nn.ModuleList(nn.BatchNorm2d(s.out_channels) for s in c.convs) if c.batch_norm else None
        sizes = c.fc_sizes
        self.fc = nn.ModuleList(nn.Linear(sizes[i], sizes[i + 1]) for i in range(3))
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.fc[-1].weight, 0.0, 0.01)

    @property
    def layers(self) -> dict[str, int]:
        return self.config.layers

    @property
    def default_layer(self) -> str:
        return self.config.default_layer

    def _conv_stack(self, x: torch.Tensor, stop: int | None = None, taps: dict | None = None) -> torch.Tensor:
        """Run the convs (and their pools); with `stop`, return the `stop`-th conv's activations;
        `taps` ({conv number: None}) is filled with those convs' activations on the way."""
        k, s = self.config.pool
        for i, (conv, spec) in enumerate(zip(self.conv, self.config.convs)):
            x = conv(x)
            if self.norm is not None:
                x = self.norm[i](x)
            x = F.relu(x)
            if stop == i + 1:
                return x
            if taps is not None and i + 1 in taps:
                taps[i + 1] = x
            if spec.pool:
                x = F.max_pool2d(x, k, s)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 64, 96) standardised MFCC segments -> (N, classes) logits."""
        return self.forward_features(x, None)[0]

    def forward_features(self, x: torch.Tensor, layer: str | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits, features of `layer` as `encode` gives them) in one pass, for training on
        both; features None without a layer. Dropout applies to the logits' path only."""
        n_conv = len(self.conv)
        i = int(layer[1:]) if layer else 0
        taps = {i: None} if 0 < i <= n_conv else None
        x = self._conv_stack(x, taps=taps).flatten(1)
        features = taps[i].mean(dim=-1).flatten(1) if taps else None
        for j, fc in enumerate(self.fc[:-1]):
            x = F.relu(fc(x))
            if j + 1 == i - n_conv:
                features = x
            x = F.dropout(x, self.config.dropout, self.training)
        return self.fc[-1](x), features

    def encode(self, x: torch.Tensor, layer: str | None = None) -> torch.Tensor:
        """(N, 1, 64, 96) -> (N, size) features of `layer` (default: the model's default layer)."""
        layer = layer or self.default_layer
        if layer not in self.layers:
            raise ValueError(f"{self.config.arch} has no feature layer {layer!r}; it has {', '.join(self.layers)}")
        i, n_conv = int(layer[1:]), len(self.conv)
        if i <= n_conv:
            return self._conv_stack(x, stop=i).mean(dim=-1).flatten(1)
        x = self._conv_stack(x).flatten(1)
        for fc in self.fc[: i - n_conv]:
            x = F.relu(fc(x))
        return x


# -- ImageNet initialisation -------------------------------------------------------------------

# torchvision's names for the ImageNet weights of the matching networks (VGG with batch norm)
IMAGENET_NAMES = {"alexnet": "alexnet", "vgg11": "vgg11_bn", "vgg13": "vgg13_bn", "vgg16": "vgg16_bn"}


def torch_hub_checkpoints() -> Path:
    """Where torchvision keeps downloaded weights: $TORCH_HOME/hub/checkpoints."""
    home = os.environ.get("TORCH_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "torch"
    return Path(home) / "hub" / "checkpoints"


def find_imagenet_weights(arch: str) -> Path | None:
    """The newest torchvision ImageNet file for `arch` in torch's cache, if one is there."""
    folder = torch_hub_checkpoints()
    found = sorted(folder.glob(f"{IMAGENET_NAMES[arch]}-*.pth"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    return found[-1] if found else None


def _layer_groups(state: dict) -> list[dict[str, torch.Tensor]]:
    """A torchvision-style state dict ("features.3.weight", "classifier.1.bias", ...) as a list
    of parameter groups in network order: one per conv, batch norm or linear layer."""
    groups: dict[tuple[int, int], dict[str, torch.Tensor]] = {}
    sections = {"features": 0, "classifier": 1}
    for key, value in state.items():
        parts = key.split(".")
        if len(parts) != 3 or parts[0] not in sections or not parts[1].isdigit():
            continue
        groups.setdefault((sections[parts[0]], int(parts[1])), {})[parts[2]] = value
    return [groups[k] for k in sorted(groups)]


def load_imagenet(net: GenreClassifier, path: str | os.PathLike) -> list[str]:
    """Initialise `net` from torchvision ImageNet weights of the same architecture and width.

    Every conv (and batch norm) is copied; the first conv's three colour planes are summed into
    the one MFCC plane (what the network would see of a grey image). The first FC layer is
    left as initialised (its input, 256x6x4 or 512x2x3, differs from ImageNet's 6x6 or 7x7),
    and so is the output layer (other classes); the second FC layer is copied. Returns the
    names of the tensors it set. Raises ValueError when the file does not fit.
    """
    from .checkpoint import read  # weights_only=True; a crafted pickle is a ModelError

    state = read(path)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError("not a state dict")
    groups = _layer_groups(state)
    convs = [g for g in groups if g.get("weight") is not None and g["weight"].dim() == 4]
    norms = [g for g in groups if "running_mean" in g]
    linears = [g for g in groups if g.get("weight") is not None and g["weight"].dim() == 2]
    c = net.config
    if len(convs) != len(net.conv) or len(linears) != 3 or (net.norm is not None) != bool(norms):
        raise ValueError(
            f"it holds {len(convs)} convs, {len(linears)} FC layers{' with' if norms else ' without'} batch norm; "
            f"{c.arch} has {len(net.conv)} convs, 3 FC layers{' with' if net.norm is not None else ' without'} batch norm"
        )
    own = net.state_dict()
    new: dict[str, torch.Tensor] = {}

    def put(name: str, value: torch.Tensor) -> None:
        if own[name].shape != value.shape:
            raise ValueError(
                f"{name} is {tuple(value.shape)} there and {tuple(own[name].shape)} here; ImageNet weights need "
                "the paper's width (--preset paper)"
            )
        new[name] = value.to(own[name].dtype)

    for i, g in enumerate(convs):
        w = g["weight"]
        put(f"conv.{i}.weight", w.sum(dim=1, keepdim=True) if i == 0 else w)
        put(f"conv.{i}.bias", g["bias"])
    if net.norm is not None:
        for i, g in enumerate(norms):
            for key in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                if key in g:
                    put(f"norm.{i}.{key}", g[key])
    put("fc.1.weight", linears[1]["weight"])
    put("fc.1.bias", linears[1]["bias"])
    net.load_state_dict({**own, **new})
    return sorted(new)


def build(config: dict, init_weights: bool = True) -> GenreClassifier:
    return GenreClassifier(ClassifierConfig(**config), init_weights)
