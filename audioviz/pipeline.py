"""The library's front doors: one call for each thing the command line does, built on the
listener (listen.py: decode -> features -> mapping) and the render session (session.py: that,
then frames -> video). Everything a user can get wrong that costs no time to check is checked
before a model loads.

Each stage is usable alone: `extract_features` stops after the network, `map_features`
turns features into a scene's parameters, `render_params` renders any (F, 10) array without
a model.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import EncoderConfig, MappingConfig, RenderConfig, VideoConfig, check_clip
from .errors import ConfigError, InputError, OutputError
from .files import output_file
from .listen import Listener, Params, fitted_mapping, map_features  # noqa: F401  (the public API)
from .session import PreviewResult, Renderer, RenderResult, check_inputs

if TYPE_CHECKING:  # torch loads with the model, not with this module
    from .extract.features import Features


def extract_features(
    audio: str | os.PathLike, *, model: str = "ae_shared", layer: str | None = None, device: str = "auto",
    start: float = 0.0, duration: float | None = None, hop: float | None = None, progress: bool = False,
) -> Features:
    """Per-segment features of a track (one batched pass): `layer` picks a classifier's
    feature layer (None: the model's default); `start` and `duration` (seconds) a part of it;
    `hop` the seconds between segments (None: back to back)."""
    check_clip(start, duration)
    check_inputs(audio, model, layer)
    return Listener(model, layer=layer, device=device, start=start, duration=duration, hop=hop).features(
        audio, progress)


def extract_params(
    audio: str | os.PathLike, *, model: str = "ae_shared", layer: str | None = None, scene: str = "bar",
    mapping: MappingConfig = MappingConfig(), seed: int = 0, device: str = "auto", start: float = 0.0,
    duration: float | None = None, hop: float | None = None, progress: bool = False,
) -> Params:
    """What `render` would show of the track (of the part that `start` and `duration`, in
    seconds, pick): its features and the scene's (segments, 10) parameters, a segment every
    `hop` seconds (None: back to back)."""
    from .scenes.registry import scene_class

    check_clip(start, duration)
    check_inputs(audio, model, layer, mapping.fit, scene)
    scene_cls = scene_class(scene)
    listener = Listener(model, layer=layer, device=device, mapping=mapping, seed=seed, start=start, duration=duration,
                        hop=hop)
    return listener.params(listener.features(audio, progress), scene_cls)


@dataclass(frozen=True)
class FitResult:
    output: str
    model: str
    layer: str
    tracks: int
    segments: int
    failed: list
    methods: list
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def fit_folder(
    folder: str | os.PathLike, output: str | os.PathLike, *, model: str = "ae_shared", layer: str | None = None,
    seed: int = 0, device: str = "auto", cache: bool = True, progress: bool = False, overwrite: bool = False,
) -> FitResult:
    """Fit every mapping method on the features of all audio under `folder` (of the model's
    feature `layer`; None: its default); save to `output`.npz (and `output`.json). Existing
    files are replaced only with `overwrite`."""
    from .extract.collect import collect
    from .extract.registry import check_model, load_model
    from .mapping.fitted import FittedMapping

    t0 = time.perf_counter()
    check_model(model, layer)
    for target in FittedMapping.paths(output):  # refused now, not after minutes of extraction
        output_file(target, overwrite=overwrite, what="fitted mapping")
    extractor = load_model(model, device, layer)
    corpus = collect(folder, extractor, cache=cache, progress=progress)
    if not corpus.tracks:
        raise InputError(f"{folder}: none of its {len(corpus.failed)} audio files could be used")
    mapping = FittedMapping.fit(
        corpus.stacked(), seed, model=extractor.name, layer=extractor.layer, model_features=extractor.features_id[:16],
        fitted_on=Path(folder).resolve().name, tracks=len(corpus.tracks),
    )
    try:
        path = mapping.save(output)
    except OSError as e:
        raise OutputError(f"{output}: cannot write the fitted mapping there ({e.strerror})") from None
    return FitResult(str(path), extractor.name, extractor.layer, len(corpus.tracks), corpus.segments,
                     [f"{p}: {why}" for p, why in corpus.failed], list(mapping.methods),
                     round(time.perf_counter() - t0, 2))


@dataclass(frozen=True)
class AnalyzeResult:
    index: str  # the report's index.html
    figures: list
    tracks: int
    segments: int
    failed: list  # "path: reason" of the files that could not be used
    separation: dict
    sync: dict | None = None  # the sync study (analysis/sync.py): medians per variant
    observations: list = field(default_factory=list)  # the paper's (a) to (e), each with its verdict
    comparison: dict = field(default_factory=dict)  # the model, the baselines, random labels -> measures
    gaps: dict = field(default_factory=dict)  # measure -> the paired gap to MFCC statistics (analysis/paired.py)

    def as_dict(self) -> dict:
        return asdict(self)


def analyze_folder(
    folder: str | os.PathLike, output: str | os.PathLike, *, model: str = "ae_shared", layer: str | None = None,
    fma_metadata: str | os.PathLike | None = None, fit: str = "folder", seed: int = 0, device: str = "auto",
    cache: bool = True, sync_scene: str | None = "bar", sync_tracks: int = 12, sync_seconds: float = 30.0,
    baselines: bool = True, progress: bool = False,
) -> AnalyzeResult:
    """The statistics report of `folder`: figures and index.html in `output`; with a
    `sync_scene`, the sync study of up to `sync_tracks` excerpts of `sync_seconds` too; with
    `baselines` and at least two groups, MFCC statistics and a random projection of the same
    segments through the same mapping, beside the model."""
    from .analysis import analyze, require_matplotlib
    from .analysis.groups import fma_genres, folder_groups
    from .extract.collect import collect
    from .extract.registry import check_model, load_model
    from .mapping.fitted import FittedMapping

    require_matplotlib()  # before minutes of extraction, not after
    check_model(model, layer)
    if sync_scene is not None:
        from .scenes.registry import scene_class

        scene_class(sync_scene)
        if sync_tracks < 1 or not 2 <= sync_seconds <= 600:
            raise ConfigError(f"a sync study of {sync_tracks} excerpts of {sync_seconds:g} s is out of range; "
                              "use 1 or more excerpts of 2 to 600 s")
    if fit not in ("folder", "model", "track"):
        FittedMapping.locate(fit)
    extractor = load_model(model, device, layer)
    corpus = collect(folder, extractor, cache=cache, progress=progress)
    if not corpus.tracks:
        raise InputError(f"{folder}: none of its {len(corpus.failed)} audio files could be used")
    if fit == "folder":
        mapping = FittedMapping.fit(corpus.stacked(), seed, model=extractor.name, layer=extractor.layer,
                                    fitted_on=Path(folder).resolve().name)
    else:
        mapping = fitted_mapping(MappingConfig(fit=fit), extractor, corpus.stacked(), seed)
    groups = fma_genres(fma_metadata, corpus) if fma_metadata is not None else None
    sync = None
    if sync_scene is not None:
        from .analysis.sync import pick, study

        paths = pick([str(Path(folder) / t.path) for t in corpus.tracks], sync_tracks)
        sync = study(paths, model=model, layer=layer, device=device, mapping=mapping, scene=sync_scene,
                     seconds=sync_seconds, seed=seed, progress=progress)
    references = None
    if baselines and len(set((groups if groups is not None else folder_groups(corpus)).values())) >= 2:
        from .analysis.baselines import effective_width, reference_stats

        references = reference_stats(folder, groups, seed, cache, progress, width=effective_width(corpus.stacked()))
    report = analyze(corpus, mapping, output, groups, title=f"{extractor.title} on {Path(folder).resolve().name}",
                     groups_from="FMA genres" if fma_metadata is not None else "", sync=sync,
                     references=references, seed=seed)
    return AnalyzeResult(str(report.index), [str(f) for f in report.figures], len(corpus.tracks), corpus.segments,
                         [f"{p}: {why}" for p, why in corpus.failed], report.separation, report.sync,
                         report.observations, report.comparison, report.gaps)


def render_params(
    values: np.ndarray, output: str | os.PathLike, *, scene: str = "bar", video: VideoConfig = VideoConfig(),
    encoder: EncoderConfig = EncoderConfig(), audio: str | os.PathLike | None = None, seed: int = 0,
    overwrite: bool = False, progress: bool = False,
):
    """Render one frame per row of `values` (F, 10) into a video; returns the loop's timings
    (render/frames.py FrameTimings). An existing `output` is replaced only with `overwrite`."""
    from .motion import steady
    from .render.context import gl_context
    from .render.encoder import container, pix_fmt, resolve_encoder
    from .render.frames import SceneFrames, write_video
    from .render.target import frame_format
    from .scenes.registry import load_scene

    scene_obj = load_scene(scene)
    target = output_file(output, overwrite=overwrite, inputs=() if audio is None else (audio,))
    container(target, encoder.video_codec, encoder.alpha)
    encoder = resolve_encoder(encoder)
    with gl_context() as ctx:
        fmt = frame_format(ctx, video.size, pix_fmt=pix_fmt(encoder))
        source = SceneFrames(ctx, scene_obj, steady(values, video.fps), video.size, seed, fmt, alpha=encoder.alpha)
        try:
            return write_video(source, target, video, encoder, audio, progress)
        finally:
            source.release()


def render_file(
    audio: str | os.PathLike, output: str | os.PathLike | None = None, *, config: RenderConfig = RenderConfig(),
    overwrite: bool = False, progress: bool = False, sidecar: str | None = None,
) -> RenderResult:
    """Render a music video of `audio` to `output` (default: ./<name>.mp4), or of the part of
    it that `config.start` and `config.duration` pick. An existing `output` is replaced only
    with `overwrite`; `sidecar` (csv or json) writes the frames' parameters beside it.
    Equivalent to one `Renderer(config).render(...)`."""
    from .files import default_output
    from .render.encoder import container, default_suffix, resolve_encoder
    from .render.titles import check_images

    t0 = time.perf_counter()
    # what is wrong with the files, the output or the encoder is said before any model loads
    inputs = check_inputs(audio, config.model, config.layer, config.mapping.fit, config.scene)
    inputs += check_images(config.titles)
    codec = config.encoder.video_codec
    requested = Path(output) if output is not None else default_output(audio, default_suffix(codec))
    output_file(requested, overwrite=overwrite, inputs=inputs)
    container(requested, codec, config.encoder.alpha)
    resolve_encoder(config.encoder)
    with Renderer(config) as session:
        result = session.render(audio, requested, overwrite=overwrite, progress=progress, sidecar=sidecar)
    wall = time.perf_counter() - t0
    return replace(result, wall_seconds=round(wall, 3), realtime_factor=round(result.audio_seconds / wall, 3),
                   timings={"load": round(session.load_seconds, 4), **result.timings})


def preview_file(
    audio: str | os.PathLike, output: str | os.PathLike | None = None, *, config: RenderConfig = RenderConfig(),
    columns: int = 4, rows: int = 3, cell: int = 480, overwrite: bool = False, progress: bool = False,
) -> PreviewResult:
    """A contact sheet of `audio` rendered in `config.scene` (default ./<name>-preview.png):
    columns x rows frames spread over the song, each labelled with its time; no video is
    encoded. An existing file is replaced only with `overwrite`."""
    from .files import default_output

    inputs = check_inputs(audio, config.model, config.layer, config.mapping.fit, config.scene)
    output_file(Path(output) if output is not None else default_output(audio, "-preview.png"), overwrite=overwrite,
                inputs=inputs, what="image")
    with Renderer(config) as session:
        return session.preview(audio, output, columns=columns, rows=rows, cell=cell, overwrite=overwrite,
                               progress=progress)


def scene_sheet(
    ctx, scene_name: str, output: str | os.PathLike, *, size: tuple[int, int] = (1280, 720), seconds: float = 12.0,
    columns: int = 4, rows: int = 3, cell: int = 320, seed: int = 0,
) -> Path:
    """A contact sheet of a scene driven by the fixed parameter sweep (no audio, no model),
    drawn on `ctx`."""
    from .motion import steady
    from .render.sheet import grid, write_png
    from .render.stills import STEP_FPS, cell_size, evenly_spread, parameter_sweep, render_stills
    from .render.text import label
    from .scenes.registry import load_scene

    output = output_file(output, overwrite=True, what="image")  # a sheet is remade on purpose; never a device
    scene = load_scene(scene_name)
    n_frames = int(seconds * STEP_FPS)
    picks = evenly_spread(n_frames, columns * rows)
    csize = cell_size(size, cell)
    stills = render_stills(ctx, scene, steady(parameter_sweep(n_frames, STEP_FPS), Fraction(STEP_FPS)), picks, csize,
                           seed)
    for img, f in zip(stills, picks):
        label(img, f"{f / STEP_FPS:.1f}s", max(14, csize[0] // 20))
    return write_png(output, grid(stills, columns, title=f"{scene.name}: {scene.description}"))
