"""Comparison videos: one song seen by several models, mappings and scenes, tiled in one video.

Every combination of the given models, mappings and scenes gets a tile labelled
`MODEL / MAPPING / SCENE`. The song is decoded once, each model extracts its features once
(one batched pass), and all tiles render in one pass over the frames into one video with the
song's audio (render/grid.py).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .config import RenderConfig
from .errors import ConfigError

DEFAULT_MODELS = ("ae", "ae_shared", "ae_skip")


@dataclass(frozen=True)
class CompareResult:
    output: str
    tiles: list  # the labels, in grid order (row by row)
    layout: str  # columns x rows
    tile: str  # width x height of each tile
    size: str  # of the whole video
    frames: int
    fps: float
    audio_seconds: float
    wall_seconds: float
    timings: dict

    def as_dict(self) -> dict:
        return asdict(self)


def parse_list(text: str | list | tuple, what: str) -> tuple[str, ...]:
    """'ae, ae_shared,ae' -> ('ae', 'ae_shared'): comma-separated, in order, each once."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out = tuple(dict.fromkeys(i.strip() for i in items if i.strip()))
    if not out:
        raise ConfigError(f"--{what}: give at least one, comma-separated")
    return out


def parse_layout(text: str | None) -> tuple[int, int] | None:
    """'auto' (or None) -> None; '3x2' -> (3, 2) columns by rows."""
    from .config import parse_size

    if text is None or text.strip().lower() == "auto":
        return None
    try:
        return parse_size(text)
    except ConfigError:
        raise ConfigError(f"layout {text!r} is not auto or COLUMNSxROWS, e.g. 2x2") from None


def split_model(spec: str) -> tuple[str, str | None]:
    """'vgg16@L13' -> ('vgg16', 'L13'): a model and one of its feature layers; 'ae' -> ('ae', None)."""
    name, at, layer = spec.rpartition("@")
    if at and name and layer and "/" not in layer and os.sep not in layer:
        return name, layer
    return spec, None


def plan_layout(models, mappings, scenes, layout: str | tuple[int, int] | None = "auto",
                tile: tuple[int, int] | None = None, size: tuple[int, int] | None = None):
    """The grid for these lists (checked: ConfigError when the layout cannot hold them)."""
    from .render.grid import make_layout

    grid = parse_layout(layout) if not isinstance(layout, tuple) else layout
    return make_layout(len(models) * len(mappings) * len(scenes), grid, tile, size)


def short_model_name(name: str) -> str:
    """What a tile calls a model: its name, or for a checkpoint path the file's (or run's) name."""
    from .extract.registry import MODELS

    if name in MODELS:
        return name
    p = Path(name)
    if p.is_dir() or p.name == "best.pt":
        return (p if p.is_dir() else p.parent).name
    return p.stem


def compare_file(
    audio: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    models: tuple[str, ...] = DEFAULT_MODELS,
    scenes: tuple[str, ...] = ("bar",),
    mappings: tuple[str, ...] = ("auto",),
    layout: str | tuple[int, int] | None = "auto",
    tile: tuple[int, int] | None = None,
    size: tuple[int, int] | None = None,
    config: RenderConfig = RenderConfig(),
    overwrite: bool = False,
    progress: bool = False,
) -> CompareResult:
    """Render one video of `audio` whose tiles show every model x mapping x scene (in that
    nesting order), each labelled; `config` gives everything else (fps, smoothing, fit, ...).
    `models` may name a layer: 'vgg16@L13'. The video is `size` (default 1280x720, tiles as
    large as fit) or, given only `tile`, just the grid of tiles. `config.start` and
    `config.duration` pick the part of the song, as for a render. `output` defaults to
    ./<name>-compare.mp4; an existing file is replaced only with `overwrite`. The video carries
    a record of its tiles and shared settings (provenance.compare_record)."""
    from . import provenance
    from .files import default_output, output_file
    from .listen import Listener, check_method, describe_mapping, map_features
    from .render.context import gl_context
    from .render.encoder import container, default_suffix, resolve_encoder
    from .render.frames import write_video
    from .render.grid import GridFrames, Tile
    from .scenes.registry import scene_class
    from .scenes.user import is_user_scene
    from .session import check_inputs, frame_motion

    t0 = time.perf_counter()
    models, scenes, mappings = parse_list(models, "models"), parse_list(scenes, "scenes"), parse_list(mappings, "mappings")
    inputs: list[Path] = [Path(s) for s in scenes if is_user_scene(s)]
    for spec in models:
        name, layer = split_model(spec)
        inputs += check_inputs(audio, name, layer or config.layer, config.mapping.fit)
    grid = plan_layout(models, mappings, scenes, layout, tile, size)
    codec = config.encoder.video_codec
    requested = Path(output) if output is not None else default_output(audio, "-compare" + default_suffix(codec))
    output = output_file(requested, overwrite=overwrite, inputs=inputs)
    container(requested, codec)
    scene_classes = [scene_class(s) for s in scenes]
    # an encoder that cannot work here is one message before any work
    encoder = replace(resolve_encoder(config.encoder), audio_start=config.start)
    mapping_configs = [replace(config.mapping, method=m) for m in mappings]
    video = replace(config.video, width=grid.size[0], height=grid.size[1])
    c = config
    with gl_context() as ctx:  # first: a machine without EGL hears so before any model loads
        listeners = []
        for spec in models:
            name, layer = split_model(spec)
            listener = Listener(name, layer=layer or c.layer, device=c.device, mapping=c.mapping, seed=c.seed,
                                start=c.start, duration=c.duration, hop=c.timeline.hop)
            for m in mapping_configs:
                check_method(m, listener.extractor)  # refused now if the model cannot do it
            for cls in scene_classes:
                listener.check_scene(cls)
            listeners.append(listener)
        t_load = time.perf_counter()
        decoded: dict[int, object] = {}  # one decode for every model of one sample rate
        features, rhythm = [], None
        for listener in listeners:
            rate = listener.extractor.sample_rate
            if rate not in decoded:
                decoded[rate] = listener.decode(audio, progress)
            feats, heard = listener.hear(decoded[rate], progress, rhythm=rhythm is None)
            features.append(feats)
            rhythm = rhythm or heard  # one song, one rhythm: every tile kicks on the same frames
        encoder = replace(encoder, audio_nonfinite=any(track.nonfinite for track in decoded.values()))
        duration = features[0].duration
        decoded.clear()
        t_extract = time.perf_counter()
        tiles, made = [], []
        for spec, listener, feats in zip(models, listeners, features):
            state = listener.state_for(feats)
            ext = listener.extractor
            label_model = short_model_name(ext.name) + (f" {ext.layer}" if ext.layer_in_name else "")
            for m in mapping_configs:
                method = describe_mapping(m, state)["method"]
                for scene, cls in zip(scenes, scene_classes):
                    values = map_features(feats.values, state, cls, m, c.seed, listener.tag_order,
                                          ext.feature_names or ())
                    label = f"{label_model} / {method} / {cls.name}"
                    tiles.append(Tile(cls(), frame_motion(values, feats, rhythm, video.fps, c.timeline, cls), label))
                    # named as a render's record names them, so that a tile can be rendered alone
                    made.append({"label": label, "model": split_model(spec)[0], "model_digest": ext.features_id,
                                 "layer": ext.layer, "mapping": m.method, "scene": scene})
        del listeners, features
        t_map = time.perf_counter()
        record = provenance.compare_record(replace(c, video=video), made, f"{grid.columns}x{grid.rows}",
                                           f"{grid.tile[0]}x{grid.tile[1]}", encoder.codec)
        encoder = replace(encoder, comment=provenance.comment(record))
        source = GridFrames(ctx, tiles, grid, c.seed, caption=Path(audio).stem)
        t_setup = time.perf_counter()
        try:
            loop = write_video(source, output, video, encoder, audio, progress)
        finally:
            source.release()
    w, h = grid.size
    return CompareResult(
        output=str(requested), tiles=[t.label for t in tiles], layout=f"{grid.columns}x{grid.rows}",
        tile=f"{grid.tile[0]}x{grid.tile[1]}", size=f"{w}x{h}", frames=source.n_frames, fps=float(video.fps),
        audio_seconds=round(duration, 4), wall_seconds=round(time.perf_counter() - t0, 3),
        timings={"load": round(t_load - t0, 4), "extract": round(t_extract - t_load, 4),
                 "map": round(t_map - t_extract, 4), "setup": round(t_setup - t_map, 4), **loop.as_dict()},
    )
