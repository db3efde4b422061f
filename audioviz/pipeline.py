"""The library's front door: audio file -> features -> parameters -> frames -> MP4.

Each stage is a plain function, usable alone: `extract_features` stops after the network,
`map_features` turns features into a scene's parameters, `render_params` renders any (F, 10)
array without a model.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .audio import check_readable, decode
from .config import EncoderConfig, RenderConfig, VideoConfig
from .mapping.order import apply_order, fixed_order
from .mapping.timeline import frame_count, frame_values


@dataclass(frozen=True)
class RenderResult:
    output: str
    audio_seconds: float
    video_seconds: float
    frames: int
    fps: float
    size: str
    model: str
    scene: str
    segments: int
    wall_seconds: float
    realtime_factor: float
    timings: dict

    def as_dict(self) -> dict:
        return asdict(self)


def default_output(audio: str | os.PathLike) -> Path:
    """song.mp3 -> ./song.mp4 (in the current folder, wherever the song is)."""
    return Path.cwd() / (Path(audio).stem + ".mp4")


def extract_features(audio: str | os.PathLike, model: str = "ae_shared", device: str = "auto", progress: bool = False):
    """Per-segment features of a whole track (one batched pass): an `extract.features.Features`."""
    from .extract.registry import load_model

    check_readable(audio)  # a missing file is reported before seconds go into loading a model
    extractor = load_model(model, device)
    samples = decode(audio, extractor.sample_rate, progress=progress).samples
    return extractor.features(samples, progress=progress)


def map_features(features: np.ndarray, mapping, scene_cls) -> np.ndarray:
    """(N, D) features -> (N, 10) parameters in [0, 1], in the scene's parameter order.

    `mapping` is the model's fitted mapping; None fits one on these features alone.
    """
    from .mapping.fitted import FittedMapping

    if mapping is None:
        mapping = FittedMapping.fit(features)
    components = mapping.transform(features, "raw", "standard", "features")
    return apply_order(components, fixed_order(scene_cls.param_names(), scene_cls.importance_order()))


def render_params(
    values: np.ndarray,
    output: str | os.PathLike,
    scene: str = "bar",
    video: VideoConfig = VideoConfig(),
    encoder: EncoderConfig = EncoderConfig(),
    audio: str | os.PathLike | None = None,
    seed: int = 0,
    progress: bool = False,
):
    """Render one frame per row of `values` (F, 10) into an MP4; returns the loop's timings."""
    from .render.video import render_video
    from .scenes.registry import load_scene

    return render_video(load_scene(scene), values, output, video, encoder, audio, seed, progress)


def render_file(
    audio: str | os.PathLike,
    output: str | os.PathLike | None = None,
    config: RenderConfig = RenderConfig(),
    progress: bool = False,
) -> RenderResult:
    """Render a music video of `audio` to `output` (default: ./<name>.mp4)."""
    from .extract.registry import load_model
    from .render.context import create_context
    from .render.video import render_video
    from .scenes.registry import load_scene

    t0 = time.perf_counter()
    check_readable(audio)
    output = Path(output) if output is not None else default_output(audio)
    scene = load_scene(config.scene)
    ctx = create_context()  # first: a machine without EGL should hear so before any work is done
    try:
        extractor = load_model(config.model, config.device)
        t_load = time.perf_counter()
        track = decode(audio, extractor.sample_rate, progress=progress)
        t_decode = time.perf_counter()
        feats = extractor.features(track.samples, progress=progress)
        t_extract = time.perf_counter()
        params = map_features(feats.values, extractor.mapping, type(scene))
        fps = config.video.fps
        n_frames = frame_count(track.duration, fps)
        per_frame = frame_values(
            params, feats.centres, feats.starts, n_frames, fps, config.timeline.interpolate, config.timeline.smoothing
        )
        t_map = time.perf_counter()
        loop = render_video(scene, per_frame, output, config.video, config.encoder, audio, config.seed, progress, ctx)
    finally:
        ctx.release()
    wall = time.perf_counter() - t0
    return RenderResult(
        output=str(output),
        audio_seconds=round(track.duration, 4),
        video_seconds=round(n_frames * fps.denominator / fps.numerator, 4),
        frames=n_frames,
        fps=float(fps),
        size=f"{config.video.width}x{config.video.height}",
        model=config.model,
        scene=config.scene,
        segments=len(feats.values),
        wall_seconds=round(wall, 3),
        realtime_factor=round(track.duration / wall, 3),
        timings={
            "load": round(t_load - t0, 4),
            "decode": round(t_decode - t_load, 4),
            "extract": round(t_extract - t_decode, 4),
            "map": round(t_map - t_extract, 4),
            **loop.as_dict(),
        },
    )
