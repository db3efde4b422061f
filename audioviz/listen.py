"""What a model hears in a song, and the scene parameters that become of it: decode ->
features -> fitted mapping -> (segments, 10) parameters. The first half of every render, and
all of `extract`; loaded once for any number of songs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .audio import Audio, decode
from .config import N_PARAMS, MappingConfig, check_clip
from .errors import AudioTooShortError, ConfigError, ModelError
from .mapping.order import (
    apply_order,
    fixed_order,
    names_a_tag,
    resolve_order,
    tag_columns,
    with_tags,
)

if TYPE_CHECKING:  # torch loads with the model, not with this module
    from .extract.features import Features
    from .rhythm import Rhythm


def fitted_mapping(config: MappingConfig, extractor, features: np.ndarray | None, seed: int = 0):
    """The FittedMapping that `config.fit` names: the model's own, one fitted on this track's
    `features`, or a file from `audioviz fit` (checked to belong to this very model)."""
    from .mapping.fitted import FittedMapping

    if config.fit == "track":
        return FittedMapping.fit(features, seed, model=extractor.name, layer=extractor.layer, fitted_on="track")
    if config.fit == "model":
        if extractor.mapping is None:
            raise ModelError(
                f"model {extractor.quoted} carries no fitted mapping; use --fit track, or --fit FILE made by `audioviz fit`"
            )
        return extractor.mapping
    mapping = FittedMapping.load(config.fit)
    fitted_for = mapping.meta.get("model_features", "")
    if fitted_for and extractor.features_id and not extractor.features_id.startswith(fitted_for):
        layer = mapping.meta.get("layer")
        fitted_with = repr(mapping.meta.get("model", "?")) + (f" (layer {layer})" if layer and layer != "code" else "")
        raise ConfigError(
            f"{config.fit} was fitted with model {fitted_with} ({fitted_for[:8]}), "
            f"not with {extractor.quoted} ({extractor.features_id[:8]}); fit one for this model with `audioviz fit`"
        )
    return mapping


def check_method(config: MappingConfig, extractor) -> None:
    """Refuse a mapping the model cannot do before any audio is decoded: raw needs ten features."""
    if config.method == "raw" and extractor.feature_size != N_PARAMS:
        raise ConfigError(
            f"--mapping raw needs exactly {N_PARAMS} features, model {extractor.quoted} gives "
            f"{extractor.feature_size}; use --mapping pca, kmeans or kmeans-pca"
        )


def describe_mapping(config: MappingConfig, state) -> dict:
    """What was actually used, with `auto` resolved: for --json output and reports."""
    method = config.method_for(state.feature_size)
    return {"method": method, "scaler": config.scaler, "scaling": config.scaling_for(method),
            "order": config.order, "fit": config.fit}


def map_features(
    features: np.ndarray, mapping, scene_cls, config: MappingConfig = MappingConfig(), seed: int = 0,
    tags: tuple[int, ...] = (), names: tuple[str, ...] = (),
) -> np.ndarray:
    """(N, D) features -> (N, 10) parameters in [0, 1], in the scene's parameter order.

    `mapping` is a FittedMapping; None fits one on these features alone. `tags`: the features
    (`check_order`'s columns) that drive the scene's most important parameters themselves;
    `names`: what the features are called, where they have names (for messages).
    """
    from .mapping.fitted import FittedMapping

    if mapping is None:
        mapping = FittedMapping.fit(features, seed)
    method = config.method_for(mapping.feature_size)
    components = mapping.transform(features, method, config.scaler, config.scaling_for(method))
    if tags:
        components = with_tags(components, features, tags, mapping.arrays["input.mean"], mapping.arrays["input.scale"])
        perm = fixed_order(scene_cls.param_names(), scene_cls.importance_order())
    else:
        perm = resolve_order(config.order, scene_cls.param_names(), scene_cls.importance_order(), seed, names)
    return apply_order(components, perm)


def check_order(config: MappingConfig, extractor) -> tuple[int, ...]:
    """The features an --order of tag names picks (() for any other order), checked before any
    audio is decoded: ConfigError in one line for a name that is not a tag of this layer."""
    names = extractor.feature_names or ()
    columns = tag_columns(config.order, names, extractor.quoted, N_PARAMS) if names else ()
    every_tag = getattr(extractor, "tags", ())  # a tagger's, whichever layer it reads
    if not names and names_a_tag(config.order, every_tag):
        raise ConfigError(f"--order names tags, which only the tags layer gives: use --model {extractor.name} "
                          f"--layer tags (not {extractor.layer})")
    return columns


@dataclass(frozen=True)
class Params:
    """What a scene shows of a song: one row of parameters per analysis segment."""

    features: Features
    values: np.ndarray  # (N, 10) in [0, 1], in the scene's parameter order
    names: tuple[str, ...]  # the scene's parameter names, in that order
    mapping: dict  # the mapping used, `auto` resolved (describe_mapping)


class Listener:
    """A model and its fitted mapping, loaded once, that hear the part of a song from `start`
    seconds on (`duration` seconds of it, None: to its end), a window every `hop` seconds
    (None: back to back):

        listener = Listener("vgg16", layer="L14", mapping=MappingConfig(method="kmeans"))
        params = listener.params("song.mp3", BarScene)
    """

    def __init__(
        self,
        model: str = "ae_shared",
        *,
        layer: str | None = None,
        device: str = "auto",
        mapping: MappingConfig = MappingConfig(),
        seed: int = 0,
        start: float = 0.0,
        duration: float | None = None,
        hop: float | None = None,
    ):
        from .extract.registry import load_model

        check_clip(start, duration)
        self.extractor = load_model(model, device, layer)
        self.extractor.hop_frames(hop)  # refused now, not after decoding
        self.seed, self.start, self.duration, self.hop = seed, start, duration, hop
        self.use_mapping(mapping)

    def use_mapping(self, mapping: MappingConfig) -> None:
        """Map with `mapping` from now on (its fitted state loaded now, unless fitted per track)."""
        check_method(mapping, self.extractor)
        self.tag_order = check_order(mapping, self.extractor)  # the tags that drive the scene, by column
        self.mapping = mapping
        self.state = None if mapping.fit == "track" else fitted_mapping(mapping, self.extractor, None, self.seed)

    def check_scene(self, scene_cls) -> None:
        """Refuse now, before any audio is decoded, an --order that names what neither the
        scene's parameters nor the model's tags hold (ConfigError in one line)."""
        if not self.tag_order:
            resolve_order(self.mapping.order, scene_cls.param_names(), scene_cls.importance_order(), self.seed,
                          self.extractor.feature_names or ())

    def decode(self, audio: str | os.PathLike, progress: bool = False) -> Audio:
        """The part of `audio` this listener hears, at its model's sample rate."""
        return decode(audio, self.extractor.sample_rate, self.duration, progress, self.start)

    def features(self, audio: str | os.PathLike | Audio, progress: bool = False) -> Features:
        """Per-segment features (one batched pass); a track too short for one segment is
        reported with its file name."""
        return self.hear(audio, progress, rhythm=False)[0]

    def hear(self, audio: str | os.PathLike | Audio, progress: bool = False,
             rhythm: bool = True) -> tuple[Features, Rhythm | None]:
        """Per-segment features and (with `rhythm`) the onsets, beats and loudness, both from one
        spectrogram; a track too short for one segment is reported with its file name."""
        from .rhythm import analyse

        track = audio if isinstance(audio, Audio) else self.decode(audio, progress)
        ext = self.extractor
        try:
            mel = ext.frontend.mel_db(track.samples)
            feats = ext.features(track.samples, progress=progress, hop=self.hop, mel_db=mel)
        except AudioTooShortError as e:
            raise AudioTooShortError(f"{track.path}: {e}") from None
        if not rhythm:
            return feats, None
        return feats, analyse(track.samples, ext.sample_rate, mel, ext.frontend.config.hop_length)

    def state_for(self, features: Features):
        """The fitted mapping to map `features` with: the one loaded, or one fitted on them."""
        if self.state is not None:
            return self.state
        return fitted_mapping(self.mapping, self.extractor, features.values, self.seed)

    def params(self, features: Features, scene_cls) -> Params:
        """`features` as `scene_cls`'s ten parameters, per segment."""
        state = self.state_for(features)
        values = map_features(features.values, state, scene_cls, self.mapping, self.seed, self.tag_order,
                              self.extractor.feature_names or ())
        return Params(features, values, scene_cls.param_names(), describe_mapping(self.mapping, state))
