"""A render session: the model and its fitted mapping, the scene and a GL context, loaded once
and used for any number of songs. Every front end renders through one: `render_file`,
`preview_file`, the batch's workers.

    with audioviz.Renderer(audioviz.RenderConfig(model="vgg16", scene="real")) as r:
        for song in songs:
            r.render(song, song.with_suffix(".mp4"))
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import provenance
from .audio import check_readable
from .config import EncoderConfig, RenderConfig, Sidecar, TimelineConfig, resolved
from .errors import ConfigError
from .files import atomic_write, default_output, is_sequence, output_file, sequence_target
from .listen import Listener, Params
from .mapping.timeline import frame_count, frame_values

if TYPE_CHECKING:  # torch loads with the model, not with this module
    from .extract.features import Features
    from .motion import Motion
    from .rhythm import Rhythm


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
    # how the picture moves with the music: the settings, the rhythm heard, and the sync score
    # measured on the frames written (rhythm.SyncScore)
    motion: dict
    sync: dict

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PreviewResult:
    output: str
    frames: int
    cell: str  # width x height of each frame on the sheet
    times: list  # seconds into the song of each frame
    wall_seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def sidecar_path(video: Path, kind: str) -> Path:
    """song.mp4 -> song.params.csv (or .json) beside it; frames/%06d.png -> frames/params.csv."""
    if kind not in resolved(Sidecar):
        raise ConfigError(f"--sidecar {kind!r}: choose {' or '.join(resolved(Sidecar))}")
    return video.with_name(f"params.{kind}" if is_sequence(video) else f"{video.stem}.params.{kind}")


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


def frame_motion(values: np.ndarray, features: Features, rhythm: Rhythm | None, fps: Fraction,
                 timeline: TimelineConfig, scene_cls) -> Motion:
    """The Motion of `scene_cls` for the frames at `fps` of the audio that `features` cover,
    from one row of `values` per segment and the song's `rhythm`."""
    from .motion import plan

    n_frames = frame_count(features.duration, fps)
    per_frame = frame_values(values, features.centres, features.starts, n_frames, fps, timeline.interpolate,
                             timeline.smoothing)
    return plan(per_frame, rhythm, fps, timeline, scene_cls.rest)


class Renderer:
    """The model, its fitted mapping, the scene and a GL context of `config`, loaded once.
    `threads`: torch's threads (several workers sharing the cores each take their share)."""

    def __init__(self, config: RenderConfig = RenderConfig(), *, threads: int = 0):
        from .render.context import create_context
        from .scenes.registry import scene_class

        t0 = time.perf_counter()
        self.config = config
        self.scene_cls = scene_class(config.scene)
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.ctx = create_context()  # first: a machine without EGL hears so before a model loads
        try:
            c = config
            self.listener = Listener(c.model, layer=c.layer, device=c.device, mapping=c.mapping, seed=c.seed,
                                     start=c.start, duration=c.duration, hop=c.timeline.hop)
            self.listener.check_scene(self.scene_cls)
        except BaseException:
            self.close()
            raise
        self._encoder: EncoderConfig | None = None
        self.load_seconds = time.perf_counter() - t0

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.ctx is not None:
            self.ctx.release()
            self.ctx = None

    @property
    def encoder(self) -> EncoderConfig:
        """The encoder settings with the codec resolved and x264's parameters checked (once)."""
        if self._encoder is None:
            from .render.encoder import resolve_encoder

            self._encoder = resolve_encoder(self.config.encoder)
        return self._encoder

    def use_mapping(self, fit: str) -> None:
        """Map with `fit` (model, track or a fitted mapping file) from now on."""
        self.config = replace(self.config, mapping=replace(self.config.mapping, fit=fit))
        self.listener.use_mapping(self.config.mapping)

    def features(self, audio: str | os.PathLike, *, progress: bool = False) -> Features:
        return self.listener.features(audio, progress)

    def params(self, audio: str | os.PathLike, *, progress: bool = False) -> Params:
        return self.listener.params(self.features(audio, progress=progress), self.scene_cls)

    def _checked_output(self, audio, output, default_suffix: str, overwrite: bool, what: str) -> tuple[Path, Path]:
        """(the output as asked for, where it will be written), refused now if it cannot be."""
        c = self.config
        inputs = check_inputs(audio, c.model, c.layer, c.mapping.fit, c.scene)
        requested = Path(output) if output is not None else default_output(audio, default_suffix)
        return requested, output_file(requested, overwrite=overwrite, inputs=inputs, what=what)

    def render(self, audio: str | os.PathLike, output: str | os.PathLike | None = None, *,
               overwrite: bool = False, progress: bool = False,
               publish: Callable[[Path, Path], None] | None = None, sidecar: str | None = None) -> RenderResult:
        """A music video of `audio` (the part that config.start and config.duration pick) at
        `output` (default: ./<name>.mp4), which appears only when complete; an existing file
        is replaced only with `overwrite`. `publish(tmp, output)` puts the finished video in
        place instead of a rename (a batch on a cluster: batch/publish.py). `sidecar` ("csv" or
        "json") also writes the frames' parameters beside it (<name>.params.csv), once it is done."""
        from .render.context import renderer
        from .render.encoder import container, default_suffix, pix_fmt
        from .render.frames import SceneFrames, write_video
        from .render.meter import ChangeMeter
        from .render.target import frame_format
        from .rhythm import sync_score

        c = self.config
        t0 = time.perf_counter()
        codec = c.encoder.video_codec
        requested, target = self._checked_output(audio, output, default_suffix(codec), overwrite, "video")
        container(requested, codec, c.encoder.alpha)
        sequence = is_sequence(requested)
        if sequence:
            target = sequence_target(target, overwrite=overwrite)
        side = None
        if sidecar is not None:
            side = sidecar_path(requested, sidecar)
            side = output_file(side, overwrite=overwrite, what="sidecar")
        encoder = self.encoder
        titles = self._titles(audio)
        track = self.listener.decode(audio, progress)
        encoder = replace(encoder, audio_start=c.start, audio_nonfinite=track.nonfinite)
        t_decode = time.perf_counter()
        feats, rhythm = self.listener.hear(track, progress)
        duration = track.duration
        del track  # the samples (635 MB for an hour) are not needed while the frames render
        t_extract = time.perf_counter()
        params = self.listener.params(feats, self.scene_cls)
        motion = frame_motion(params.values, feats, rhythm, c.video.fps, c.timeline, self.scene_cls)
        t_map = time.perf_counter()
        fmt = frame_format(self.ctx, c.video.size, pix_fmt="rgb24" if sequence else pix_fmt(c.encoder))
        overlays = self._overlays(motion, rhythm, titles)
        try:
            source = SceneFrames(self.ctx, self.scene_cls(), motion, c.video.size, c.seed, fmt, overlays,
                                 alpha=c.encoder.alpha)
        except BaseException:  # a session renders on: what the overlays made must not stay behind
            for overlay in overlays:
                overlay.release()
            raise
        # the debug band scrolls with the music: the sync score is the scene's alone
        meter = ChangeMeter(c.video.size, fmt, below=max((o.band for o in overlays), default=0))
        extractor = self.listener.extractor
        made = provenance.record(c, extractor.layer, extractor.features_id, encoder.codec)
        encoder = replace(encoder, comment=provenance.comment(made))
        t_setup = time.perf_counter()
        try:
            loop = write_video(source, target, c.video, encoder, None if sequence else audio, progress, meter=meter,
                               publish=publish)
        finally:
            source.release()
            for overlay in overlays:
                overlay.release()
        if side is not None:
            with atomic_write(side, "sidecar") as tmp:
                provenance.write_sidecar(tmp, motion, self.scene_cls.param_names())
        wall = time.perf_counter() - t0
        n_frames, fps = len(motion), c.video.fps
        return RenderResult(
            output=str(requested), audio_seconds=round(duration, 4),
            video_seconds=round(n_frames * fps.denominator / fps.numerator, 4), frames=n_frames, fps=float(fps),
            size=f"{c.video.width}x{c.video.height}", model=c.model, layer=self.listener.extractor.layer,
            scene=c.scene, mapping=params.mapping, encoder=encoder.codec, renderer=renderer(self.ctx),
            segments=len(feats.values), wall_seconds=round(wall, 3), realtime_factor=round(duration / wall, 3),
            timings={"decode": round(t_decode - t0, 4), "extract": round(t_extract - t_decode, 4),
                     "map": round(t_map - t_extract, 4), "setup": round(t_setup - t_map, 4), **loop.as_dict()},
            motion=self.motion_summary(rhythm),
            sync=sync_score(meter.values(), fps, rhythm).as_dict(),
        )

    def _titles(self, audio: str | os.PathLike):
        """The song's titles, cover and logo (config.titles), None where none are asked for."""
        if not self.config.titles.drawn:
            return None
        from .render.titles import resolve

        return resolve(self.config.titles, audio)

    def _overlays(self, motion: Motion, rhythm: Rhythm, titles) -> list:
        """What is drawn over the scene: the debug band, then the titles above it."""
        c = self.config
        out = []
        try:
            if c.overlay == "debug":
                from .render.overlay import DebugOverlay

                out.append(DebugOverlay(self.ctx, c.video.size, motion, rhythm, c.video.fps,
                                        self.scene_cls.param_names()))
            if titles is not None and not titles.empty:
                from .render.titles import TitleOverlay, layout

                t = c.titles
                elements = layout(titles, t.style, c.video.size, t.logo_position,
                                  bottom=out[0].band if out else 0)
                out.append(TitleOverlay(self.ctx, c.video.size, elements, c.video.fps))
        except BaseException:
            for overlay in out:
                overlay.release()
            raise
        return out

    def motion_summary(self, rhythm: Rhythm) -> dict:
        """The motion settings used and what the rhythm analysis heard, for --json and reports."""
        t = self.config.timeline
        return {"hop": t.hop, "pulse": t.pulse if self.scene_cls.uses_pulse else 0.0, "energy": t.energy,
                "smoothing": t.smoothing, "tempo": round(rhythm.tempo, 1), "beats": len(rhythm.beats),
                "onsets": len(rhythm.onsets)}

    def preview(self, audio: str | os.PathLike, output: str | os.PathLike | None = None, *, columns: int = 4,
                rows: int = 3, cell: int = 480, overwrite: bool = False, progress: bool = False) -> PreviewResult:
        """A contact sheet of `audio` at `output` (default ./<name>-preview.png): columns x
        rows frames spread over the song, each labelled with its time; no video is encoded."""
        from .render.sheet import grid, mmss, write_png
        from .render.stills import cell_size, evenly_spread, render_stills, step_fps
        from .render.text import label

        c = self.config
        t0 = time.perf_counter()
        if not (1 <= columns <= 16 and 1 <= rows <= 16):
            raise ConfigError(f"a sheet of {columns}x{rows} frames is out of range; use 1 to 16 of each")
        requested, target = self._checked_output(audio, output, "-preview.png", overwrite, "image")
        if target.suffix.lower() != ".png":  # never a PNG under another name
            raise ConfigError(f"{requested}: a contact sheet is a PNG image; give the name .png")
        feats, rhythm = self.listener.hear(audio, progress)
        params = self.listener.params(feats, self.scene_cls)
        fps = step_fps(feats.duration)
        motion = frame_motion(params.values, feats, rhythm, fps, c.timeline, self.scene_cls)
        picks = evenly_spread(len(motion), columns * rows)
        size = cell_size(c.video.size, cell)
        stills = render_stills(self.ctx, self.scene_cls(), motion, picks, size, c.seed)
        for img, f in zip(stills, picks):  # labelled with the time in the song, whatever part of it is shown
            label(img, mmss(c.start + f / fps), max(14, size[0] // 20))
        title = (f"{Path(audio).name} · scene {self.scene_cls.name} · model {self.listener.extractor.title} · "
                 f"mapping {params.mapping['method']}")
        write_png(target, grid(stills, columns, title=title))
        return PreviewResult(str(requested), len(stills), f"{size[0]}x{size[1]}",
                             [round(c.start + float(f / fps), 2) for f in picks], round(time.perf_counter() - t0, 3))
