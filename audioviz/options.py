"""The command line's shared options, declared once, and the one place they become a
RenderConfig.

A command names the groups of options it takes with `@takes(...)`; typer shows them as its
own, and the command receives one checked `config: RenderConfig` in their place. Every
default is the config's own (config.py), and every choice one of its Enums.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .config import (
    Codec,
    Device,
    EncoderConfig,
    MappingConfig,
    Method,
    Overlay,
    RenderConfig,
    Scaler,
    Scaling,
    TimelineConfig,
    VideoCodec,
    VideoConfig,
    parse_size,
)
from .errors import ConfigError

# options that commands which build no RenderConfig (fit, analyze, train) use too
ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model name (see `audioviz models`) or a .pt checkpoint.")]
LayerOpt = Annotated[Optional[str], typer.Option(
    "--layer", help="Which layer of the model gives the features, by the paper's name, e.g. L15 for vgg16 "
    "(`audioviz models` lists them; default: the model's own).", show_default=False)]
DeviceOpt = Annotated[Device, typer.Option(help="Where the network runs; auto picks a CUDA GPU when there is one.")]
SeedOpt = Annotated[int, typer.Option(
    help="Seed for everything random: the scene, --order random, K-Means (and a batch's --shuffle).")]
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", "-y", help="Replace the output if it exists (without this, an existing file is never replaced).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summary.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object with the results on stdout.")]
# readable=False: audio.check_readable explains an unreadable file in one line (click's check prints a box)
AudioArg = Annotated[Path, typer.Argument(help="Audio file (mp3, ogg, opus, flac, wav, m4a, ...).", show_default=False,
                                          readable=False, metavar="AUDIO")]


@dataclass(frozen=True)
class Option:
    name: str  # the command's parameter
    annotation: Any  # Annotated[type, typer.Option(...)]
    default: Any


def _option(name: str, kind, default, *decls: str, **info) -> Option:
    return Option(name, Annotated[kind, typer.Option(*decls, **info)], default)


def _size(video: VideoConfig) -> str:
    return f"{video.width}x{video.height}"


_RENDER, _VIDEO, _ENCODER, _TIMELINE, _MAPPING = RenderConfig(), VideoConfig(), EncoderConfig(), TimelineConfig(), MappingConfig()

MODEL = (Option("model", ModelOpt, _RENDER.model), Option("layer", LayerOpt, _RENDER.layer))
DEVICE = (Option("device", DeviceOpt, Device(_RENDER.device)),)
SEED = (Option("seed", SeedOpt, _RENDER.seed),)
SCENE = (_option("scene", str, _RENDER.scene, "--scene", "-s", help="Scene name (see `audioviz scenes`), or a .py "
                 "or fragment shader file."),)
MAPPING_STATS = (
    _option("scaler", Scaler, Scaler(_MAPPING.scaler),
            help="standard (mean 0.5, std 0.4, clipped) or minmax (fitted range to 0..1)."),
    _option("scaling", Scaling, Scaling(_MAPPING.scaling),
            help="features: one scaler per component (most motion); across: one for all (keeps PCA's order of "
            "spreads); auto: across for pca and kmeans-pca, features otherwise."),
    _option("order", str, _MAPPING.order,
            help="Which component drives which parameter: fixed (scene's importance order), random (from --seed), "
            "or parameter names, comma-separated, for components 0, 1, ..."),
    _option("fit", str, _MAPPING.fit, "--fit",
            help="Statistics to map with: model (bundled with the model), track (this song alone), or a file made "
            "by `audioviz fit`."),
)
MAPPING = (_option("mapping", Method, Method(_MAPPING.method), "--mapping",
                   help="Features to parameters: raw (direct), pca, kmeans (similarity to 10 clusters) or kmeans-pca; "
                   "auto is raw for 10-feature models, pca otherwise."),) + MAPPING_STATS
SIZE = (_option("size", str, _size(_VIDEO), help="Video size WIDTHxHEIGHT (even numbers)."),)
FPS = (_option("fps", str, str(_VIDEO.fps), help="Frames per second, e.g. 30, 60 or 30000/1001."),)
MOTION = (
    _option("smoothing", float, _TIMELINE.smoothing, help="Time constant of the moving average, in seconds (0: off)."),
    _option("no_interpolate", bool, not _TIMELINE.interpolate, "--no-interpolate",
            help="Hold each segment's values instead of gliding between them."),
    _option("hop", float, _TIMELINE.hop, "--hop", metavar="SECONDS",
            help="Seconds between analysis windows: the model's window (0.96 s) slides by this much, so the "
            "picture follows the music rather than a 1 s grid. 0.96 gives the paper's back-to-back segments."),
    _option("pulse", float, _TIMELINE.pulse, "--pulse", min=0.0, max=1.0,
            help="Strength of the kick that onsets and beats give the scene, 0 (off) to 1."),
    _option("energy", float, _TIMELINE.energy, "--energy", min=0.0, max=1.0,
            help="How far the music's loudness and activity set the scene's pace, range and pulse, 0 to 1: quiet "
            "passages calm, busy ones lively, silence still. 0 moves as the features alone do."),
)
ENCODING = (
    _option("codec", VideoCodec, VideoCodec(_ENCODER.video_codec), "--codec",
            help="Video codec: h264 (.mp4), hevc (.mp4), av1 (.mp4), prores (.mov, 422 HQ 10-bit, PCM audio, for "
            "editors) or vp9 (.webm, Opus audio); the first name is the default output's."),
    _option("encoder", Codec, Codec(_ENCODER.codec), "--encoder",
            help="Which encoder writes the codec: x264 (the CPU's: x264, x265, SVT-AV1, ProRes, libvpx), nvenc "
            "(NVIDIA GPU: H.264, HEVC, AV1), or auto: nvenc when it works here, else the CPU's."),
    _option("crf", int, _ENCODER.crf, help="Quality: lower is better and larger (18-28 is sane; NVENC's -cq; "
            "spread over 0-63 for av1 and vp9; prores keeps its profile's)."),
    _option("preset", str, _ENCODER.preset,
            help="Encoder speed preset, x264's names (ultrafast ... veryslow; NVENC's p1 ... p7)."),
    _option("x264_params", str, _ENCODER.x264_params, "--x264-params",
            help="Extra x264 settings, key=value:key=value; the default trades up to 10 % larger files for about a "
            "third less encoding time at the same quality; '' for the plain preset."),
)
OVERLAY = (_option("overlay", Overlay, Overlay(_RENDER.overlay), "--overlay",
                   help="debug: draw what drives the picture along the bottom: the ten parameter curves, the onset "
                   "envelope with the pulse and loudness gain, and a tick on every beat."),)
CLIP = (
    _option("start", float, _RENDER.start, "--start", help="Use the song from this many seconds in (cut before decoding)."),
    _option("duration", Optional[float], _RENDER.duration, "--duration",
            help="Use only this many seconds of the song (default: to its end).", show_default=False),
)


def render_config(o: dict) -> RenderConfig:
    """The RenderConfig of the options a command was given; what it does not take keeps the
    config's default. ConfigError for values that cannot work."""
    video = VideoConfig(*parse_size(o.get("size", _size(_VIDEO))), o.get("fps", _VIDEO.fps))
    encoder = _ENCODER
    if "encoder" in o:
        encoder = EncoderConfig(codec=Codec(o["encoder"]).ffmpeg, video_codec=VideoCodec(o["codec"]).value,
                                crf=o["crf"], preset=o["preset"], x264_params=o["x264_params"])
    timeline = TimelineConfig(interpolate=not o.get("no_interpolate", not _TIMELINE.interpolate),
                              **{k: o[k] for k in ("smoothing", "hop", "pulse", "energy") if k in o})
    mapping = MappingConfig(**{k: getattr(o[k], "value", o[k])
                               for k in ("scaler", "scaling", "order", "fit") if k in o},
                            method=Method(o.get("mapping", _MAPPING.method)).value)
    return RenderConfig(
        model=o.get("model", _RENDER.model), layer=o.get("layer", _RENDER.layer), scene=o.get("scene", _RENDER.scene),
        seed=o.get("seed", _RENDER.seed), device=Device(o.get("device", _RENDER.device)).value, video=video,
        encoder=encoder, timeline=timeline, mapping=mapping, start=o.get("start", _RENDER.start),
        duration=o.get("duration", _RENDER.duration), overlay=Overlay(o.get("overlay", _RENDER.overlay)).value,
    )


_LAST = ("overwrite", "quiet", "json_out")  # a command's own options that read best at the end


def takes(*groups: tuple[Option, ...], usage_status: int = 1):
    """Give a command the options of `groups`; it receives them as one RenderConfig, its
    `config` parameter. A value that cannot work is one error line and `usage_status` (2 where
    the command's exit statuses tell usage errors apart: batch, compare)."""
    options = [o for group in groups for o in group]

    def decorate(fn):
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
               for p in inspect.signature(fn).parameters.values() if p.name != "config"]
        shared = [inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default, annotation=o.annotation)
                  for o in options]
        params = [p for p in own if p.name not in _LAST] + shared + [p for p in own if p.name in _LAST]

        @functools.wraps(fn)
        def command(**kwargs):
            given = {o.name: kwargs.pop(o.name) for o in options}
            try:
                config = render_config(given)
            except ConfigError as e:
                typer.echo(f"error: {e}", err=True)
                raise typer.Exit(usage_status) from None
            return fn(config=config, **kwargs)

        del command.__wrapped__  # typer reads the signature below, not fn's
        command.__signature__ = inspect.Signature(params)
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate
