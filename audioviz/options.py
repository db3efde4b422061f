"""The command line's shared options, declared once, and the one place they become a
RenderConfig.

A command names the groups of options it takes with `@takes(...)`; typer shows them as its
own, and the command receives one checked `config: RenderConfig` in their place. Every
default is the config's own (config.py), and every choice one of its Enums.
"""

from __future__ import annotations

import functools
import inspect
import json
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .config import (
    Codec,
    Corner,
    Device,
    EncoderConfig,
    Format,
    MappingConfig,
    Method,
    Overlay,
    RenderConfig,
    Scaler,
    Scaling,
    TextStyle,
    TimelineConfig,
    TitleConfig,
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
_TITLES = TitleConfig()

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
ALPHA = (_option("alpha", bool, _ENCODER.alpha, "--alpha",
                 help="Give the video an alpha channel: the scene's subject over a transparent background (no "
                 "sky, floor or stars), in ProRes 4444 (--codec prores, .mov) or VP9 (--codec vp9, .webm), or in "
                 "RGBA PNG images."),)
SETTINGS = (
    _option("config", Optional[Path], None, "--config", metavar="FILE.toml", show_default=False,
            help="Take options from this TOML file (keys are the options' names: scene = \"real\", size = \"1920x1080\"); "
            "the command line wins."),
    _option("save_config", Optional[Path], None, "--save-config", metavar="FILE.toml", show_default=False,
            help="Write this run's options to a TOML file that --config reads."),
)
LIKE = (_option("like", Optional[Path], None, "--like", metavar="VIDEO", show_default=False,
                help="Take the settings of a video audioviz made (its metadata; not its --start and --duration); "
                "--config and the command line win."),)
# what a settings file never holds: where this run writes, and how it talks
_NOT_SETTINGS = ("config", "save_config", "like", "output", "overwrite", "quiet", "json_out")

# Publishing formats: what each platform takes best. Sizes are the platforms' own; the quality
# is a little above the defaults, as the platforms encode everything again.
FORMATS = {
    "youtube": {"size": "1920x1080", "fps": "60", "codec": "h264", "crf": 18},
    "youtube-4k": {"size": "3840x2160", "fps": "60", "codec": "h264", "crf": 18},
    "shorts": {"size": "1080x1920", "fps": "30", "codec": "h264", "crf": 18},
    "reels": {"size": "1080x1920", "fps": "30", "codec": "h264", "crf": 18},
    "tiktok": {"size": "1080x1920", "fps": "30", "codec": "h264", "crf": 18},
    "square": {"size": "1080x1080", "fps": "30", "codec": "h264", "crf": 18},
    "portrait": {"size": "1080x1350", "fps": "30", "codec": "h264", "crf": 18},  # Instagram's feed, 4:5
    "editor": {"size": "1920x1080", "fps": "30", "codec": "prores"},  # ProRes 422 HQ for an editing suite
}
FORMAT = (_option("format", Optional[Format], None, "--format", show_default=False,
                  help="A publishing format: youtube (1920x1080, 60 fps), youtube-4k (3840x2160, 60 fps), shorts, "
                  "reels, tiktok (1080x1920, 30 fps), square (1080x1080), portrait (1080x1350), editor (ProRes "
                  "1920x1080). It sets size, fps, codec and quality; options given explicitly win."),)

OVERLAY = (_option("overlay", Overlay, Overlay(_RENDER.overlay), "--overlay",
                   help="debug: draw what drives the picture along the bottom: the ten parameter curves, the onset "
                   "envelope with the pulse and loudness gain, and a tick on every beat."),)
TITLES = (
    _option("title", Optional[str], None, "--title", metavar="auto|TEXT", show_default=False,
            help="Write the song's title over the video: auto reads its tags (else the file's name)."),
    _option("artist", Optional[str], None, "--artist", metavar="auto|TEXT", show_default=False,
            help="Write the artist under the title: auto reads the song's tags."),
    _option("cover", Optional[str], None, "--cover", metavar="auto|IMAGE", show_default=False,
            help="Show cover art beside the title: auto takes the art the song carries, or give a PNG, JPEG or "
            "WebP file."),
    _option("logo", Optional[Path], None, "--logo", metavar="IMAGE", show_default=False,
            help="Show an image (PNG with transparency, say) in a corner, at its --logo-position."),
    _option("logo_position", Corner, Corner(_TITLES.logo_position), "--logo-position"),
    _option("text_style", TextStyle, TextStyle(_TITLES.style), "--text-style",
            help="card: cover, title and artist on a plate, low on the left; intro: large and centred for the "
            "first 4 s, then fading out; minimal: title and artist high on the left, no plate."),
)
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
    if o.get("alpha"):
        encoder = replace(encoder, alpha=True)
    timeline = TimelineConfig(interpolate=not o.get("no_interpolate", not _TIMELINE.interpolate),
                              **{k: o[k] for k in ("smoothing", "hop", "pulse", "energy") if k in o})
    mapping = MappingConfig(**{k: getattr(o[k], "value", o[k])
                               for k in ("scaler", "scaling", "order", "fit") if k in o},
                            method=Method(o.get("mapping", _MAPPING.method)).value)
    titles = _TITLES
    if "text_style" in o:
        logo = o["logo"]
        titles = TitleConfig(title=o["title"], artist=o["artist"], cover=o["cover"],
                             logo=None if logo is None else str(logo), logo_position=Corner(o["logo_position"]).value,
                             style=TextStyle(o["text_style"]).value)
    return RenderConfig(
        model=o.get("model", _RENDER.model), layer=o.get("layer", _RENDER.layer), scene=o.get("scene", _RENDER.scene),
        seed=o.get("seed", _RENDER.seed), device=Device(o.get("device", _RENDER.device)).value, video=video,
        encoder=encoder, timeline=timeline, mapping=mapping, start=o.get("start", _RENDER.start),
        duration=o.get("duration", _RENDER.duration), overlay=Overlay(o.get("overlay", _RENDER.overlay)).value, titles=titles,
    )


_LAST = ("overwrite", "quiet", "json_out")  # a command's own options that read best at the end
_CTX = "typer_context"


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
        # the click context, which typer hands over for a parameter of this type: it knows which
        # options the command line gave (settings files fill only the others)
        params.append(inspect.Parameter(_CTX, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))

        @functools.wraps(fn)
        def command(**kwargs):
            ctx = kwargs.pop(_CTX)
            save = kwargs.pop("save_config", None)
            try:
                kwargs = settings_from_files(ctx, kwargs)
                given = {o.name: kwargs.pop(o.name) for o in options if o.name in kwargs}
                config = render_config(given)
                if save is not None:  # once they are known to work
                    write_settings(save, {key: {**kwargs, **given}[p.name] for key, p in _keyed_params(ctx).items()
                                          if p.name in kwargs or p.name in given})
            except ConfigError as e:
                typer.echo(f"error: {e}", err=True)
                raise typer.Exit(usage_status) from None
            return fn(config=config, **kwargs)

        del command.__wrapped__  # typer reads the signature below, not fn's
        command.__signature__ = inspect.Signature(params)
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate


# -- settings from files: --config, --like, --save-config ---------------------------------------


def _keyed_params(ctx: typer.Context) -> dict:
    """The command's options a settings file may set, by their long names without dashes."""
    out = {}
    for p in ctx.command.params:
        if p.param_type_name == "option" and p.name not in _NOT_SETTINGS:
            long = next((o for o in p.opts if o.startswith("--")), None)
            if long:
                out[long[2:]] = p
    return out


def _read_toml(path: Path) -> dict:
    import tomllib

    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror or e})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None


_KIND_WORDS = {str: "text (in quotes)", int: "a whole number", float: "a number", bool: "true or false"}


def _kind(param) -> type | None:
    """The TOML value an option takes: text, a whole number, a number or true/false (None: unknown)."""
    ann = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(ann, type) and issubclass(ann, (str, Path, Enum)):
        return str
    return ann if ann in (bool, int, float) else None


def _is_kind(value, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _apply(ctx: typer.Context, kwargs: dict, values: dict, source: str, keyed: dict, taken: set,
           unknown_ok: bool = False) -> None:
    """Set the options that neither the command line nor an earlier source (`taken`) set from
    `values` (key -> value), each checked as the command line checks it; ConfigError naming
    `source` and the key."""
    for key, value in values.items():
        param = keyed.get(key)
        if param is None:
            if unknown_ok:
                continue
            raise ConfigError(f"{source}: unknown key {key!r}; {ctx.command.name} takes {', '.join(sorted(keyed))}")
        source_now = ctx.get_parameter_source(param.name)
        if (source_now is not None and source_now.name != "DEFAULT") or param.name in taken:
            continue  # the command line wins, then the sources before this one
        if isinstance(value, (dict, list)) or (value is None and not unknown_ok):
            raise ConfigError(f"{source}: key {key!r} must be one value, not {type(value).__name__}")
        if (want := _kind(param)) and not _is_kind(value, want):
            raise ConfigError(f"{source}: key {key!r} must be {_KIND_WORDS[want]}, not {value!r}")
        try:
            kwargs[param.name] = param.process_value(ctx, value)
        except typer.BadParameter as e:
            raise ConfigError(f"{source}: key {key!r}: {e.message}") from None
        taken.add(param.name)


def settings_from_files(ctx: typer.Context, kwargs: dict) -> dict:
    """The command's options with what --config, --like and --format give filled in where the
    command line gave nothing (the command line wins, then --config, --like, --format)."""
    config, like = kwargs.pop("config", None), kwargs.pop("like", None)
    keyed, taken = _keyed_params(ctx), set()
    if config is not None:
        _apply(ctx, kwargs, _read_toml(config), str(config), keyed, taken)
    if like is not None:
        from .errors import InputError
        from .provenance import look, read

        try:
            rec = read(like)
        except InputError as e:
            raise ConfigError(str(e)) from None
        _apply(ctx, kwargs, look(rec), str(like), keyed, taken, unknown_ok=True)
    fmt = kwargs.pop("format", None)
    if fmt is not None:
        _apply(ctx, kwargs, FORMATS[Format(fmt).value], f"--format {Format(fmt).value}", keyed, taken, unknown_ok=True)
    return kwargs


def _toml_value(value) -> str | None:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string: JSON's escapes are TOML's
    return None


def write_settings(path: Path, values: dict) -> None:
    """A TOML file of `values` (unset ones left out) that --config reads back."""
    from .files import atomic_write

    lines = ["# audioviz settings: audioviz ... --config " + path.name]
    lines += [f"{key} = {text}" for key, value in values.items() if (text := _toml_value(value)) is not None]
    try:
        with atomic_write(Path(path), "settings file") as tmp:
            tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot write it ({e.strerror or e})") from None
