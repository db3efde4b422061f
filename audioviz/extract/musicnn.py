"""The musicnn taggers (Pons and Serra, ISMIR 2019 LBD), re-implemented in torch.

Two architectures, both taking a 3 s patch of the log-mel frontend (logmel.py), 96 bands x 187
frames, and giving one probability per tag:

- ``musicnn``: musically motivated convolutions on the batch-normalised patch. Timbral filters
  span 7 frames and 40 % or 70 % of the bands (204 each), temporal filters 1 band and 128, 64
  or 32 frames (51 each); each map is max-pooled over frequency, leaving 561 features per frame.
  Three 1-d convolutions over time (7 frames, 64 filters, the last two residual) follow, densely
  connected: the 561 + 3 x 64 = 753 features per frame are max- and mean-pooled over the patch,
  interleaved (max, mean of the first feature, then of the second, ...), batch-normalised and
  fed to a dense layer of 200 (ReLU, then batch norm: the `embedding` layer) and one of as many
  units as tags (sigmoid: the `tags` layer).
- ``vgg``: five 3x3 convolutions of 128 filters, each with ReLU, batch norm and a max-pool
  (4x1 then 2x2 with stride 2 over time x frequency, 4x4 at the end), flattened to 2 x 1 x 128
  (the `embedding` layer) and one dense layer to the tags.

Layouts follow the TensorFlow originals: a patch is time x frequency (the frontend's matrix is
frequency x time and is transposed here), TensorFlow's "same" padding puts the odd extra frame
of an even kernel after the input, and its batch norm adds 0.001 to the variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

VARIANTS = ("musicnn", "vgg")
LAYERS = ("embedding", "tags")  # the default last
BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization's epsilon
MAX_TAGS = 1_000
MAX_SIDE = 4_096
MAX_WIDTH = 4_096


@dataclass(frozen=True)
class MusicnnConfig:
    variant: str = "musicnn"
    tags: tuple[str, ...] = ()
    n_mels: int = 96
    frames: int = 187
    midend_filters: int = 64  # musicnn: 64 for the MSD and MTT models, 512 for MSD_musicnn_big
    backend_units: int = 200  # musicnn: the embedding's width (500 for MSD_musicnn_big)
    vgg_filters: int = 128

    def __post_init__(self) -> None:
        # a checkpoint carries these: each is checked before any layer is made
        if not isinstance(self.variant, str) or self.variant not in VARIANTS:
            raise ValueError(f"variant {self.variant!r} is not one of {VARIANTS}")
        if not isinstance(self.tags, (list, tuple)) or not all(isinstance(t, str) and t.strip() for t in self.tags):
            raise ValueError("tags must be a list of tag names")
        object.__setattr__(self, "tags", tuple(self.tags))
        if not 2 <= len(self.tags) <= MAX_TAGS:
            raise ValueError(f"a tagger needs 2 to {MAX_TAGS} tags, not {len(self.tags)}")
        if len({t.casefold() for t in self.tags}) != len(self.tags):
            raise ValueError("tag names must differ (case aside)")
        for name, hi in (("n_mels", MAX_SIDE), ("frames", MAX_SIDE), ("midend_filters", MAX_WIDTH),
                         ("backend_units", MAX_WIDTH), ("vgg_filters", MAX_WIDTH)):
            value = getattr(self, name)
            if type(value) is not int or not 1 <= value <= hi:
                raise ValueError(f"{name} {value!r} is not a whole number from 1 to {hi}")
        if self.variant == "musicnn" and self.n_mels < _timbral_kernels(self.n_mels)[-1][1]:
            raise ValueError(f"{self.n_mels} mel bands are too few for musicnn's timbral filters")
        if self.variant == "vgg" and min(_vgg_map(self.frames, self.n_mels)) < 1:
            raise ValueError(f"a {self.frames} x {self.n_mels} patch is too small for the vgg tagger")

    @property
    def input_height(self) -> int:
        return self.n_mels

    @property
    def input_width(self) -> int:
        return self.frames

    @property
    def layers(self) -> dict[str, int]:
        """Feature layer -> size, the default (`tags`) last."""
        if self.variant == "musicnn":
            embedding = self.backend_units
        else:
            h, w = _vgg_map(self.frames, self.n_mels)
            embedding = h * w * self.vgg_filters
        return {"embedding": embedding, "tags": len(self.tags)}

    def to_dict(self) -> dict:
        return {"variant": self.variant, "tags": list(self.tags), "n_mels": self.n_mels, "frames": self.frames,
                "midend_filters": self.midend_filters, "backend_units": self.backend_units,
                "vgg_filters": self.vgg_filters}


TIMBRAL_FRAMES = 7


def _timbral_kernels(n_mels: int) -> tuple[tuple[int, int], ...]:
    """(frames, bands) of the two timbral filters: 7 frames by 40 % and 70 % of the bands."""
    return (TIMBRAL_FRAMES, int(0.4 * n_mels)), (TIMBRAL_FRAMES, int(0.7 * n_mels))


TEMPORAL_KERNELS = (128, 64, 32)  # frames
TIMBRAL_FILTERS, TEMPORAL_FILTERS = 204, 51  # int(1.6 * 128), int(1.6 * 32)
MIDEND_KERNEL = 7
# vgg: (pool kernel, pool stride) after each of its five convolutions, as (time, frequency)
_VGG_POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4)))


def _vgg_map(frames: int, n_mels: int) -> tuple[int, int]:
    h, w = frames, n_mels
    for (kh, kw), (sh, sw) in _VGG_POOLS:
        h, w = (h - kh) // sh + 1, (w - kw) // sw + 1
    return h, w


def _same(kernel: int) -> tuple[int, int]:
    """TensorFlow's "same" padding of a stride-1 kernel: the odd extra frame goes after."""
    return (kernel - 1) // 2, kernel // 2


def _norm(n: int, dims: int) -> nn.Module:
    return (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(n, eps=BN_EPS)


class ConvBlock(nn.Module):
    """conv -> ReLU -> batch norm (the order of every musicnn convolution)."""

    def __init__(self, conv: nn.Module, dims: int):
        super().__init__()
        self.conv, self.bn = conv, _norm(conv.out_channels, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(x)))

    def extremes(self, x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The convolution's maximum and minimum over `dim`."""
        z = self.conv(x)
        return z.amax(dim), z.amin(dim)

    def normalised_max(self, high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        """forward's maximum over a dimension, from the convolution's `extremes` over it, without
        passing ReLU and batch norm over the whole map (the frontend's maps are 30 MB a patch):
        per channel (dimension 1) both are monotone, decreasing where the norm's scale is
        negative, so the maximum is the normalised maximum or minimum, to the last bit."""
        bn = self.bn
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        picked = torch.where((scale >= 0).view(-1, *[1] * (high.dim() - 2)), high, low)
        return F.batch_norm(F.relu(picked), bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)

    def max_over(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        return self.normalised_max(*self.extremes(x, dim))


class _Tagger(nn.Module):
    """What both taggers show the registry: their feature layers, tags by default."""

    config: MusicnnConfig

    @property
    def layers(self) -> dict[str, int]:
        return self.config.layers

    @property
    def default_layer(self) -> str:
        return LAYERS[-1]


class Musicnn(_Tagger):
    def __init__(self, config: MusicnnConfig):
        super().__init__()
        c = self.config = config
        self.input_bn = _norm(1, 2)
        self.timbral = nn.ModuleList(ConvBlock(nn.Conv2d(1, TIMBRAL_FILTERS, k), 2) for k in _timbral_kernels(c.n_mels))
        self.temporal = nn.ModuleList(ConvBlock(nn.Conv2d(1, TEMPORAL_FILTERS, (k, 1)), 2) for k in TEMPORAL_KERNELS)
        front = TIMBRAL_FILTERS * len(self.timbral) + TEMPORAL_FILTERS * len(self.temporal)
        m = c.midend_filters
        self.midend = nn.ModuleList(ConvBlock(nn.Conv1d(n, m, MIDEND_KERNEL), 1) for n in (front, m, m))
        pooled = 2 * (front + 3 * m)
        self.pool_bn = _norm(pooled, 1)
        self.dense = nn.Linear(pooled, c.backend_units)
        self.dense_bn = _norm(c.backend_units, 1)
        self.out = nn.Linear(c.backend_units, len(c.tags))

    # a whole track's convolutions run in pieces of this many frames (at most 30 MB each)
    track_chunk = 512

    def _blocks(self) -> list[tuple[ConvBlock, tuple[int, int]]]:
        """The frontend's convolutions with the frames each pads its patch with (before, after)."""
        timbral = (TIMBRAL_FRAMES // 2, TIMBRAL_FRAMES // 2)
        return [(b, timbral) for b in self.timbral] + [(b, _same(k)) for b, k in zip(self.temporal, TEMPORAL_KERNELS)]

    def prepare(self, mel: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The frontend's convolutions over a whole track's (n_mels, n_frames) log-mel: per
        frame, each filter's maximum and minimum over frequency, (filters, n_frames) each.

        A frame's value depends on the frames around it alone (7 for the timbral filters, up to
        128 for the temporal ones), so a window's frames whose neighbourhood lies inside it take
        their values from here, and only those near its ends, which see musicnn's zero padding
        instead of the track, are computed for it (`embed`'s `track`). The timbral filters, most
        of the work, then run once over the track instead of once for every window (12 times
        at the 0.24 s hop), and the temporal ones on half as many frames.
        """
        x = self.input_bn(mel[None, None]).transpose(2, 3)  # (1, 1, T, F)
        n = mel.shape[1]
        out = []
        for block, (before, after) in self._blocks():
            padded = F.pad(x, (0, 0, before, after))
            parts = [block.extremes(padded[:, :, a : min(n, a + self.track_chunk) + before + after], 3)
                     for a in range(0, n, self.track_chunk)]
            out.append((torch.cat([h[0] for h, _ in parts], 1), torch.cat([lo[0] for _, lo in parts], 1)))
        return out

    @staticmethod
    def _from_track(block: ConvBlock, x: torch.Tensor, padding: tuple[int, int], track, frames) -> torch.Tensor:
        """`block`'s maximum over frequency for patches `x` (B, 1, T, F) that sit at `frames`
        (B, T) of the track whose extremes `track` holds: taken from there but for the first
        `before` and last `after` frames, computed from the patch with zeros beyond its ends."""
        before, after = padding
        n = x.shape[2]
        high, low = (t[:, frames].transpose(0, 1) for t in track)  # (B, filters, T), copies
        if before:
            high[:, :, :before], low[:, :, :before] = block.extremes(F.pad(x[:, :, : before + after], (0, 0, before, 0)), 3)
        if after:
            high[:, :, n - after :], low[:, :, n - after :] = block.extremes(
                F.pad(x[:, :, n - before - after :], (0, 0, 0, after)), 3)
        return block.normalised_max(high, low)

    def frontend(self, x: torch.Tensor, track=None, starts: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, F) normalised patches -> (B, 561, T): each filter's maximum over frequency;
        from `prepare`'s `track` where given, the patches sitting at frames `starts` of it."""
        x = x.unsqueeze(1)
        if track is None:
            maps = [block.max_over(F.pad(x, (0, 0, *padding)), 3) for block, padding in self._blocks()]
        else:
            frames = starts.to(x.device)[:, None] + torch.arange(x.shape[2], device=x.device)
            maps = [self._from_track(block, x, padding, t, frames) for (block, padding), t in zip(self._blocks(), track)]
        return torch.cat(maps, dim=1)

    def embed(self, x: torch.Tensor, track=None, starts: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, n_mels, frames) log-mel patches -> (B, backend_units). `track`: `prepare` of the
        track the patches were cut from, at frames `starts`."""
        x = self.input_bn(x).squeeze(1).transpose(1, 2)  # (B, T, F), as musicnn lays a patch out
        front = self.frontend(x, track, starts)
        pad = MIDEND_KERNEL // 2
        mid = [self.midend[0](F.pad(front, (pad, pad)))]
        for block in self.midend[1:]:
            mid.append(block(F.pad(mid[-1], (pad, pad))) + mid[-1])
        feats = torch.cat([front, *mid], dim=1)  # (B, 753, T)
        pooled = torch.stack([feats.amax(dim=2), feats.mean(dim=2)], dim=2).flatten(1)
        return self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))

    def encode(self, x: torch.Tensor, layer: str | None = None, track=None,
               starts: torch.Tensor | None = None) -> torch.Tensor:
        e = self.embed(x, track, starts)
        return e if layer == "embedding" else torch.sigmoid(self.out(e))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tag logits."""
        return self.out(self.embed(x))


class VGGTagger(_Tagger):
    def __init__(self, config: MusicnnConfig):
        super().__init__()
        c = self.config = config
        f = c.vgg_filters
        self.input_bn = _norm(1, 2)
        self.convs = nn.ModuleList(ConvBlock(nn.Conv2d(1 if i == 0 else f, f, 3, padding=1), 2)
                                   for i in range(len(_VGG_POOLS)))
        self.out = nn.Linear(c.layers["embedding"], len(c.tags))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_bn(x).transpose(2, 3)  # (B, 1, T, F)
        for block, (kernel, stride) in zip(self.convs, _VGG_POOLS):
            x = F.max_pool2d(block(x), kernel, stride)
        return x.permute(0, 2, 3, 1).flatten(1)  # TensorFlow flattens time, frequency, channels

    def prepare(self, mel: torch.Tensor) -> None:
        """Nothing is computed for the whole track: past the first convolution, where a window
        starts decides the grid of its pools, so overlapping windows share no values."""
        return None

    def encode(self, x: torch.Tensor, layer: str | None = None, track=None, starts=None) -> torch.Tensor:
        e = self.embed(x)
        return e if layer == "embedding" else torch.sigmoid(self.out(e))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(x))


def build(config: dict) -> nn.Module:
    """A tagger from a checkpoint's config (ValueError or TypeError for a bad one)."""
    if not isinstance(config, dict):
        raise ValueError(f"the network's config is a {type(config).__name__}, not a dict")
    c = MusicnnConfig(**config)
    return Musicnn(c) if c.variant == "musicnn" else VGGTagger(c)
