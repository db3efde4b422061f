"""The library's front door: audio file -> features -> parameters -> frames -> MP4.

Each stage is a plain function, usable alone: `extract_features` stops after the network,
`map_features` turns features into a scene's parameters, `render_params` renders any (F, 10)
array without a model.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .audio import check_readable, decode
from .config import EncoderConfig, MappingConfig, RenderConfig, VideoConfig, check_clip
from .errors import AudioTooShortError, ConfigError, InputError, ModelError, OutputError
from .mapping.order import apply_order, resolve_order
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
    layer: str
    scene: str
    mapping: dict
    encoder: str
    renderer: str
    segments: int
    wall_seconds: float
    realtime_factor: float
    timings: dict

    def as_dict(self) -> dict:
        return asdict(self)


def default_output(audio: str | os.PathLike, suffix: str = ".mp4") -> Path:
    """song.mp3 -> ./song.mp4 (in the current folder, wherever the song is); `suffix` may add
    to the name (-compare.mp4). A long song name is shortened so the name stays valid."""
    from .files import fit_name

    return Path.cwd() / fit_name(Path(audio).stem, suffix)


def _features(extractor, track, progress: bool = False):
    """The extractor's features of a decoded track; a track too short for one segment is
    reported with its file name."""
    try:
        return extractor.features(track.samples, progress=progress)
    except AudioTooShortError as e:
        raise AudioTooShortError(f"{track.path}: {e}") from None


def check_inputs(
    audio: str | os.PathLike, model: str, layer: str | None = None, fit: str = "model", scene: str | None = None,
) -> tuple[Path, ...]:
    """What can be checked in milliseconds, before seconds go into loading torch and a model:
    the audio file, the model's name or file (and a bundled model's layer), a fitted mapping
    file named by `fit`. Returns the files a run reads (none of them may be its output): the
    audio, and the checkpoint, fitted mapping and scene files the user gave."""
    from .extract.registry import check_model
    from .mapping.fitted import FittedMapping
    from .scenes.user import is_user_scene

    files = [check_readable(audio)]
    if (checkpoint := check_model(model, layer)) is not None:
        files.append(checkpoint)
    if fit not in ("model", "track"):
        files.append(FittedMapping.locate(fit))
    if scene is not None and is_user_scene(scene):
        files.append(Path(scene))
    return tuple(files)


def extract_features(
    audio: str | os.PathLike, model: str = "ae_shared", device: str = "auto", progress: bool = False,
    layer: str | None = None, start: float = 0.0, duration: float | None = None,
):
    """Per-segment features of a whole track (one batched pass): an `extract.features.Features`.
    `layer` picks a classifier's feature layer (None: the model's default); `start` and
    `duration` (seconds) pick a part of the track."""
    from .extract.registry import load_model

    check_clip(start, duration)
    check_inputs(audio, model, layer)
    extractor = load_model(model, device, layer)
    return _features(extractor, decode(audio, extractor.sample_rate, duration, progress, start), progress)


def fitted_mapping(config: MappingConfig, extractor, features: np.ndarray, seed: int = 0):
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
    from .mapping.fitted import N_PARAMS

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
    features: np.ndarray, mapping, scene_cls, config: MappingConfig = MappingConfig(), seed: int = 0
) -> np.ndarray:
    """(N, D) features -> (N, 10) parameters in [0, 1], in the scene's parameter order.

    `mapping` is a FittedMapping; None fits one on these features alone.
    """
    from .mapping.fitted import FittedMapping

    if mapping is None:
        mapping = FittedMapping.fit(features, seed)
    method = config.method_for(mapping.feature_size)
    components = mapping.transform(features, method, config.scaler, config.scaling_for(method))
    perm = resolve_order(config.order, scene_cls.param_names(), scene_cls.importance_order(), seed)
    return apply_order(components, perm)


def extract_params(
    audio: str | os.PathLike,
    model: str = "ae_shared",
    scene: str = "bar",
    mapping: MappingConfig = MappingConfig(),
    seed: int = 0,
    device: str = "auto",
    progress: bool = False,
    layer: str | None = None,
    start: float = 0.0,
    duration: float | None = None,
):
    """(Features, (N, 10) parameters, the scene's parameter names): what `render` would show
    (of the part of the track that `start` and `duration`, in seconds, pick)."""
    from .extract.registry import load_model
    from .scenes.registry import scene_class

    check_clip(start, duration)
    check_inputs(audio, model, layer, mapping.fit, scene)
    scene_cls = scene_class(scene)
    extractor = load_model(model, device, layer)
    check_method(mapping, extractor)
    feats = _features(extractor, decode(audio, extractor.sample_rate, duration, progress, start), progress)
    state = fitted_mapping(mapping, extractor, feats.values, seed)
    return feats, map_features(feats.values, state, scene_cls, mapping, seed), scene_cls.param_names()


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
    folder: str | os.PathLike,
    output: str | os.PathLike,
    model: str = "ae_shared",
    seed: int = 0,
    device: str = "auto",
    cache: bool = True,
    progress: bool = False,
    layer: str | None = None,
    *,
    overwrite: bool = False,
) -> FitResult:
    """Fit every mapping method on the features of all audio under `folder` (of the model's
    feature `layer`; None: its default); save to `output`.npz (and `output`.json). Existing
    files are replaced only with `overwrite`."""
    from .extract.collect import collect
    from .extract.registry import check_model, load_model
    from .files import output_file
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


def render_params(
    values: np.ndarray,
    output: str | os.PathLike,
    scene: str = "bar",
    video: VideoConfig = VideoConfig(),
    encoder: EncoderConfig = EncoderConfig(),
    audio: str | os.PathLike | None = None,
    seed: int = 0,
    progress: bool = False,
    *,
    overwrite: bool = False,
):
    """Render one frame per row of `values` (F, 10) into an MP4; returns the loop's timings.
    An existing `output` is replaced only with `overwrite`."""
    from .files import output_file
    from .render.encoder import container
    from .render.video import render_video
    from .scenes.registry import load_scene

    output = output_file(output, overwrite=overwrite, inputs=() if audio is None else (audio,))
    container(output)
    return render_video(load_scene(scene), values, output, video, encoder, audio, seed, progress)


def render_file(
    audio: str | os.PathLike,
    output: str | os.PathLike | None = None,
    config: RenderConfig = RenderConfig(),
    progress: bool = False,
    *,
    overwrite: bool = False,
) -> RenderResult:
    """Render a music video of `audio` to `output` (default: ./<name>.mp4), or of the part of
    it that `config.start` and `config.duration` pick. An existing `output` is replaced only
    with `overwrite`."""
    from .extract.registry import load_model
    from .files import output_file
    from .render.context import create_context, renderer
    from .render.encoder import container, resolve_encoder
    from .render.video import render_video
    from .scenes.registry import load_scene

    t0 = time.perf_counter()
    inputs = check_inputs(audio, config.model, config.layer, config.mapping.fit, config.scene)
    requested = Path(output) if output is not None else default_output(audio)
    # a video path that cannot (or must not) be written is refused before any work
    output = output_file(requested, overwrite=overwrite, inputs=inputs)
    container(requested)
    scene = load_scene(config.scene)
    encoder = replace(resolve_encoder(config.encoder), audio_start=config.start)
    ctx = create_context()  # first: a machine without EGL should hear so before any work is done
    try:
        extractor = load_model(config.model, config.device, config.layer)
        check_method(config.mapping, extractor)
        t_load = time.perf_counter()
        track = decode(audio, extractor.sample_rate, config.duration, progress, config.start)
        encoder = replace(encoder, audio_nonfinite=track.nonfinite)
        t_decode = time.perf_counter()
        feats = _features(extractor, track, progress)
        t_extract = time.perf_counter()
        state = fitted_mapping(config.mapping, extractor, feats.values, config.seed)
        params = map_features(feats.values, state, type(scene), config.mapping, config.seed)
        fps = config.video.fps
        duration = track.duration
        del track  # the samples (635 MB for an hour) are not needed while the frames render
        n_frames = frame_count(duration, fps)
        per_frame = frame_values(
            params, feats.centres, feats.starts, n_frames, fps, config.timeline.interpolate, config.timeline.smoothing
        )
        t_map = time.perf_counter()
        loop = render_video(scene, per_frame, output, config.video, encoder, audio, config.seed, progress, ctx)
        gl_renderer = renderer(ctx)
    finally:
        ctx.release()
    wall = time.perf_counter() - t0
    return RenderResult(
        output=str(requested),
        audio_seconds=round(duration, 4),
        video_seconds=round(n_frames * fps.denominator / fps.numerator, 4),
        frames=n_frames,
        fps=float(fps),
        size=f"{config.video.width}x{config.video.height}",
        model=config.model,
        layer=extractor.layer,
        scene=config.scene,
        mapping=describe_mapping(config.mapping, state),
        encoder=encoder.codec,
        renderer=gl_renderer,
        segments=len(feats.values),
        wall_seconds=round(wall, 3),
        realtime_factor=round(duration / wall, 3),
        timings={
            "load": round(t_load - t0, 4),
            "decode": round(t_decode - t_load, 4),
            "extract": round(t_extract - t_decode, 4),
            "map": round(t_map - t_extract, 4),
            **loop.as_dict(),
        },
    )


def analyze_folder(
    folder: str | os.PathLike,
    output: str | os.PathLike,
    model: str = "ae_shared",
    fma_metadata: str | os.PathLike | None = None,
    fit: str = "folder",
    seed: int = 0,
    device: str = "auto",
    cache: bool = True,
    progress: bool = False,
    layer: str | None = None,
) -> dict:
    """The statistics report of `folder`: figures and index.html in `output`; returns a summary."""
    from .analysis import analyze, require_matplotlib
    from .analysis.groups import fma_genres
    from .extract.collect import collect
    from .extract.registry import check_model, load_model
    from .mapping.fitted import FittedMapping

    require_matplotlib()  # before minutes of extraction, not after
    check_model(model, layer)
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
    report = analyze(corpus, mapping, output, groups, title=f"{extractor.title} on {Path(folder).resolve().name}",
                     groups_from="FMA genres" if fma_metadata is not None else "")
    return {
        "index": str(report.index), "figures": [str(f) for f in report.figures], "tracks": len(corpus.tracks),
        "segments": corpus.segments, "failed": [f"{p}: {why}" for p, why in corpus.failed],
        "separation": report.separation,
    }


def preview_file(
    audio: str | os.PathLike,
    output: str | os.PathLike | None = None,
    config: RenderConfig = RenderConfig(),
    columns: int = 4,
    rows: int = 3,
    cell: int = 480,
    progress: bool = False,
    *,
    overwrite: bool = False,
) -> dict:
    """A contact sheet of `audio` rendered in `config.scene`: columns x rows frames spread over
    the song, each labelled with its time; no video is encoded. `output` defaults to
    ./<name>-preview.png; an existing file is replaced only with `overwrite`."""
    from .extract.registry import load_model
    from .files import output_file
    from .render.context import create_context
    from .render.sheet import grid, label, mmss, write_png
    from .render.stills import cell_size, evenly_spread, render_stills, step_fps
    from .scenes.registry import load_scene

    t0 = time.perf_counter()
    inputs = check_inputs(audio, config.model, config.layer, config.mapping.fit, config.scene)
    if not (1 <= columns <= 16 and 1 <= rows <= 16):
        raise ConfigError(f"a sheet of {columns}x{rows} frames is out of range; use 1 to 16 of each")
    requested = Path(output) if output is not None else default_output(audio, "-preview.png")
    output = output_file(requested, overwrite=overwrite, inputs=inputs, what="image")
    if output.suffix.lower() != ".png":  # never a PNG under another name
        raise ConfigError(f"{requested}: a contact sheet is a PNG image; give the name .png")
    scene = load_scene(config.scene)
    ctx = create_context()
    try:
        extractor = load_model(config.model, config.device, config.layer)
        check_method(config.mapping, extractor)
        track = decode(audio, extractor.sample_rate, config.duration, progress, config.start)
        feats = _features(extractor, track, progress)
        state = fitted_mapping(config.mapping, extractor, feats.values, config.seed)
        params = map_features(feats.values, state, type(scene), config.mapping, config.seed)
        fps = step_fps(track.duration)
        n_frames = frame_count(track.duration, fps)
        per_frame = frame_values(params, feats.centres, feats.starts, n_frames, fps,
                                 config.timeline.interpolate, config.timeline.smoothing)
        picks = evenly_spread(n_frames, columns * rows)
        size = cell_size(config.video.size, cell)
        stills = render_stills(scene, per_frame, float(fps), picks, size, config.seed, ctx)
    finally:
        ctx.release()
    for img, f in zip(stills, picks):  # labelled with the time in the song, whatever part of it is shown
        label(img, mmss(config.start + f / fps), scale=max(2, size[0] // 240))
    title = f"{Path(audio).name}   scene {scene.name}   model {extractor.title}   mapping {describe_mapping(config.mapping, state)['method']}"
    write_png(output, grid(stills, columns, title=title))
    return {"output": str(requested), "frames": len(stills), "cell": f"{size[0]}x{size[1]}",
            "times": [round(config.start + float(f / fps), 2) for f in picks], "wall_seconds": round(time.perf_counter() - t0, 3)}


def scene_sheet(
    scene_name: str,
    output: str | os.PathLike,
    size: tuple[int, int] = (1280, 720),
    seconds: float = 12.0,
    columns: int = 4,
    rows: int = 3,
    cell: int = 320,
    seed: int = 0,
    ctx=None,
) -> Path:
    """A contact sheet of a scene driven by the fixed parameter sweep (no audio, no model)."""
    from .files import output_file
    from .render.sheet import grid, label, write_png
    from .render.stills import STEP_FPS, cell_size, evenly_spread, parameter_sweep, render_stills
    from .scenes.registry import load_scene

    output = output_file(output, overwrite=True, what="image")  # a sheet is remade on purpose; never a device
    scene = load_scene(scene_name)
    n_frames = int(seconds * STEP_FPS)
    picks = evenly_spread(n_frames, columns * rows)
    csize = cell_size(size, cell)
    stills = render_stills(scene, parameter_sweep(n_frames, STEP_FPS), STEP_FPS, picks, csize, seed, ctx)
    for img, f in zip(stills, picks):
        label(img, f"{f / STEP_FPS:.1f}s", scale=2)
    return write_png(output, grid(stills, columns, title=f"{scene.name}: {scene.description}"))
