"""The paper's convolutional autoencoder in its three variants (the genre classifiers are in
classifiers.py; `build` makes either from a checkpoint's description).

Encoder: `num_pools` blocks of [conv-ReLU-conv-ReLU-maxpool 2x2], filters doubling per block,
then `num_fc` fully connected layers shrinking by `fc_scale_down`, the last of size `enc_len`
with a sigmoid. The decoder mirrors it (max-unpool with the pool indices, transposed convs).

- ``ae``: the decoder owns its weights.
- ``ae_shared``: the decoder re-uses the encoder's weights (transposed FC weights, the conv
  kernels in transposed convolutions) and owns only biases.
- ``ae_skip``: each encoder conv output is added to the matching decoder stage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

VARIANTS = ("ae", "ae_shared", "ae_skip")


@dataclass(frozen=True)
class AEConfig:
    variant: str = "ae"
    num_init_filters: int = 32
    num_pools: int = 4
    num_fc: int = 2
    fc_scale_down: int = 2
    kernel_size: int = 3
    padding: int = 1
    enc_len: int = 10
    # batch-normalise the code's pre-activations: the sigmoid can then never saturate into a
    # constant code (not in the paper; off in its configuration)
    code_norm: bool = False
    input_height: int = 64
    input_width: int = 96

    def __post_init__(self) -> None:
        # a checkpoint carries these: each is checked for type and range before any layer is
        # made (the weights then bound the network's size, see registry.from_checkpoint)
        if not isinstance(self.variant, str) or self.variant not in VARIANTS:
            raise ValueError(f"variant {self.variant!r} is not one of {VARIANTS}")
        for name, (lo, hi) in _AE_RANGES.items():
            value = getattr(self, name)
            if type(value) is not int or not lo <= value <= hi:  # not a bool, a float or a string
                raise ValueError(f"{name} {value!r} is not a whole number from {lo} to {hi}")
        if type(self.code_norm) is not bool:
            raise ValueError(f"code_norm {self.code_norm!r} is not true or false")
        div = 2**self.num_pools
        if self.input_height % div or self.input_width % div:
            raise ValueError(f"{self.num_pools} pools need input sides divisible by {div}")
        if self.kernel_size != 2 * self.padding + 1:
            raise ValueError("kernel_size must be 2 * padding + 1 so that convs keep the size")
        if self.num_fc < 1:
            raise ValueError("num_fc must be at least 1")

    @property
    def channels(self) -> list[int]:
        """Channels after each block."""
        return [self.num_init_filters * 2**b for b in range(self.num_pools)]

    @property
    def flat_size(self) -> int:
        div = 2**self.num_pools
        return self.channels[-1] * (self.input_height // div) * (self.input_width // div)

    @property
    def fc_sizes(self) -> list[int]:
        """Sizes from the flattened conv output down to the code, e.g. [6144, 3072, 10]."""
        sizes = [self.flat_size]
        for _ in range(self.num_fc - 1):
            sizes.append(max(self.enc_len, sizes[-1] // self.fc_scale_down))
        return sizes + [self.enc_len]

    def to_dict(self) -> dict:
        return asdict(self)


# (lowest, highest) of each whole-number setting: far past any sensible network, and small
# enough that describing one (2**num_pools, the layer lists) costs nothing
_AE_RANGES = {
    "num_init_filters": (1, 4_096), "num_pools": (1, 8), "num_fc": (1, 8), "fc_scale_down": (1, 1 << 20),
    "kernel_size": (1, 31), "padding": (0, 15), "enc_len": (1, 1 << 16), "input_height": (1, 4_096),
    "input_width": (1, 4_096),
}


# The configuration the paper tuned (about 19 M weights in its first FC layer).
PAPER = AEConfig(num_init_filters=32, num_pools=4, num_fc=2, fc_scale_down=2)
# The bundled weights' configuration: same architecture, narrower, to stay a few MB.
COMPACT = AEConfig(num_init_filters=8, num_pools=4, num_fc=2, fc_scale_down=8, code_norm=True)


class ConvAutoencoder(nn.Module):
    def __init__(self, config: AEConfig, init_weights: bool = True):
        super().__init__()
        self.config = c = config
        k, p = c.kernel_size, c.padding
        chans = [1] + c.channels
        self.conv1 = nn.ModuleList(nn.Conv2d(chans[b], chans[b + 1], k, padding=p) for b in range(c.num_pools))
        self.conv2 = nn.ModuleList(nn.Conv2d(chans[b + 1], chans[b + 1], k, padding=p) for b in range(c.num_pools))
        sizes = c.fc_sizes
        self.fc = nn.ModuleList(nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1))
        self.code_norm = nn.BatchNorm1d(c.enc_len, affine=False) if c.code_norm else None
        self.shared = c.variant == "ae_shared"
        self.skip = c.variant == "ae_skip"
        if self.shared:
            # only biases of its own; the weights are the encoder's, transposed
            self.dec_fc_bias = nn.ParameterList(nn.Parameter(torch.zeros(sizes[i])) for i in range(len(sizes) - 1))
            self.dec_conv2_bias = nn.ParameterList(nn.Parameter(torch.zeros(chans[b + 1])) for b in range(c.num_pools))
            self.dec_conv1_bias = nn.ParameterList(nn.Parameter(torch.zeros(chans[b])) for b in range(c.num_pools))
        else:
            self.dec_fc = nn.ModuleList(nn.Linear(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1))
            self.dec_conv2 = nn.ModuleList(nn.ConvTranspose2d(chans[b + 1], chans[b + 1], k, padding=p) for b in range(c.num_pools))
            self.dec_conv1 = nn.ModuleList(nn.ConvTranspose2d(chans[b + 1], chans[b], k, padding=p) for b in range(c.num_pools))
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        # He initialisation keeps the signal's scale through eight ReLU convs; PyTorch's default
        # shrinks it until the code is constant and the decoder learns only the mean input
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        # the code layer feeds a sigmoid: start it in the sigmoid's linear range
        nn.init.xavier_normal_(self.fc[-1].weight)

    def _block(self, b: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Conv block `b`'s two activations (before its pool)."""
        a1 = F.relu(self.conv1[b](x))
        return a1, F.relu(self.conv2[b](a1))

    def _encode(self, x: torch.Tensor):
        indices, skips = [], []
        for b in range(self.config.num_pools):
            a1, a2 = self._block(b, x)
            skips.append((a1, a2))
            x, idx = F.max_pool2d(a2, 2, return_indices=True)
            indices.append(idx)
        pooled_shape = x.shape
        x = x.flatten(1)
        for i, fc in enumerate(self.fc):
            x = fc(x)
            if i < len(self.fc) - 1:
                x = F.relu(x)
            elif self.code_norm is not None:
                x = torch.sigmoid(self.code_norm(x))
            else:
                x = torch.sigmoid(x)
        return x, indices, skips, pooled_shape

    @property
    def layers(self) -> dict[str, int]:
        """Feature layers -> feature size, the code (the default) last. Each conv block's output
        (`conv1`, ...), averaged over time, is a layer too: on music the model never heard, these
        tell collections apart better than the code does (README, "What they hear")."""
        c = self.config
        blocks = {f"conv{b + 1}": ch * (c.input_height >> b) for b, ch in enumerate(c.channels)}
        return {**blocks, "code": c.enc_len}

    @property
    def default_layer(self) -> str:
        return "code"

    def encode(self, x: torch.Tensor, layer: str | None = None) -> torch.Tensor:
        """(N, 1, H, W) normalised MFCC segments -> (N, enc_len) codes in (0, 1), or a conv
        block's activations averaged over time and flattened (channels x frequency rows)."""
        layer = layer or "code"
        if layer == "code":
            return self._encode(x)[0]
        if layer not in self.layers:
            raise ValueError(f"an autoencoder's feature layers are {', '.join(self.layers)}, not {layer!r}")
        for b in range(int(layer[4:])):
            a2 = self._block(b, x)[1]
            x = F.max_pool2d(a2, 2)
        return a2.mean(dim=-1).flatten(1)

    def forward(self, x: torch.Tensor, bypass: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (reconstruction, code).

        The pool indices (and, in ``ae_skip``, the skip connections) carry so much of the input
        around the code that a decoder can reconstruct without it, and the code then collapses
        to a constant. ``bypass=False`` closes those paths (unpooling spreads each value over
        its 2x2 block, skips are left out), so the code alone must carry the segment; training
        mixes such batches in. Encoding is the same either way.
        """
        code, indices, skips, pooled_shape = self._encode(x)
        c, p = self.config, self.config.padding
        y = code
        for i in reversed(range(len(self.fc))):
            if self.shared:
                y = F.linear(y, self.fc[i].weight.t(), self.dec_fc_bias[i])
            else:
                y = self.dec_fc[i](y)
            y = F.relu(y)
        y = y.view(pooled_shape)
        for b in reversed(range(c.num_pools)):
            a1, a2 = skips[b]
            if bypass:
                y = F.max_unpool2d(y, indices[b], 2, output_size=a2.shape[-2:])
            else:
                y = F.interpolate(y, size=a2.shape[-2:], mode="nearest")
            if self.skip and bypass:
                y = y + a2
            if self.shared:
                y = F.conv_transpose2d(y, self.conv2[b].weight, self.dec_conv2_bias[b], padding=p)
            else:
                y = self.dec_conv2[b](y)
            y = F.relu(y)
            if self.skip and bypass:
                y = y + a1
            if self.shared:
                y = F.conv_transpose2d(y, self.conv1[b].weight, self.dec_conv1_bias[b], padding=p)
            else:
                y = self.dec_conv1[b](y)
            y = torch.sigmoid(y) if b == 0 else F.relu(y)
        return y, code


def build(arch: str, config: dict, init_weights: bool = True) -> nn.Module:
    """A network from a checkpoint's description (plain data, so checkpoints need no pickled classes).

    Every network has `layers` (feature layer name -> size), `default_layer` and
    `encode(x, layer=None)`; a classifier's `forward` gives class logits. Without
    `init_weights` the weights are left as torch made them, for a checkpoint's to replace (and
    so that a network built on the meta device never calls a random initialiser there: in
    torch 2.14 that loads torch._dynamo and triton, whose LLVM crashes beside Mesa's).
    """
    if not isinstance(config, dict):
        raise ValueError(f"the network's config is a {type(config).__name__}, not a dict")
    if arch == "autoencoder":
        return ConvAutoencoder(AEConfig(**config), init_weights)
    if arch == "classifier":
        from .classifiers import build as build_classifier

        return build_classifier(config, init_weights)
    if arch == "musicnn":  # converted, never trained here: its weights always come from a checkpoint
        from .musicnn import build as build_tagger

        return build_tagger(config)
    raise ValueError(f"unknown architecture {str(arch)[:40]!r}")
