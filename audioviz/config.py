"""Typed settings, validated once where they are made: everything downstream trusts them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction

from .errors import ConfigError

# every scene takes ten parameters, and every mapping method gives ten components
N_PARAMS = 10

X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo",
)


# The choices, declared once: the command line offers these, the configs below accept their
# values, and mapping/ fits and applies the resolved ones (every one but `auto`).
class Device(str, Enum):
    auto = "auto"  # a CUDA GPU when torch sees one
    cpu = "cpu"
    cuda = "cuda"


class Method(str, Enum):
    auto = "auto"  # raw for a model with ten features, pca otherwise
    raw = "raw"
    pca = "pca"
    kmeans = "kmeans"
    kmeans_pca = "kmeans-pca"


class Scaler(str, Enum):
    standard = "standard"
    minmax = "minmax"


class Scaling(str, Enum):
    auto = "auto"  # across for pca and kmeans-pca, features otherwise
    features = "features"
    across = "across"


class Codec(str, Enum):
    """The H.264 encoder, by the name the command line gives it; `.ffmpeg` is ffmpeg's name."""

    auto = "auto"  # NVENC where it works here, else x264
    x264 = "x264"
    nvenc = "nvenc"

    @property
    def ffmpeg(self) -> str:
        return {"auto": "auto", "x264": "libx264", "nvenc": "h264_nvenc"}[self.value]


class VideoCodec(str, Enum):
    """The video codec (render/encoder.py's CODECS says which encoders and files each takes)."""

    h264 = "h264"
    hevc = "hevc"
    av1 = "av1"
    prores = "prores"  # ProRes 422 HQ, 10-bit, for editors
    vp9 = "vp9"


class Format(str, Enum):
    """A publishing format (options.py FORMATS says what each sets)."""

    youtube = "youtube"
    youtube_4k = "youtube-4k"
    shorts = "shorts"
    reels = "reels"
    tiktok = "tiktok"
    square = "square"
    portrait = "portrait"
    editor = "editor"


class Sidecar(str, Enum):
    """The file of per-frame parameters written beside a video."""

    csv = "csv"
    json = "json"


class Overlay(str, Enum):
    """What is drawn over the scene."""

    none = "none"
    debug = "debug"  # the parameter curves, onset envelope, pulse and beats along the bottom


class TextStyle(str, Enum):
    """How the title, artist and cover are laid out over the video (render/titles.py)."""

    card = "card"  # cover, title and artist on a plate, low on the left, all through the video
    intro = "intro"  # large and centred for the first seconds, then fading out
    minimal = "minimal"  # title and artist high on the left, no plate, all through the video


class Corner(str, Enum):
    top_left = "top-left"
    top_right = "top-right"
    bottom_left = "bottom-left"
    bottom_right = "bottom-right"


class Preset(str, Enum):
    """A training preset: the size and schedule of the networks (training/ says what each is)."""

    compact = "compact"
    paper = "paper"
    tiny = "tiny"


class Optimizer(str, Enum):
    adam = "adam"
    sgd = "sgd"


class LabelSource(str, Enum):
    """Where a genre classifier's labels come from."""

    folders = "folders"  # the first folder under the music folder names each file's class
    fma = "fma"  # FMA's metadata


class Subset(str, Enum):
    """FMA's subsets; each larger one holds the smaller ones."""

    small = "small"
    medium = "medium"
    large = "large"


def resolved(choices: type[Enum]) -> tuple[str, ...]:
    """A choice's values but `auto`: what is left once auto is decided."""
    return tuple(c.value for c in choices if c.value != "auto")


def _one_of(name: str, value, choices: type[Enum]) -> None:
    if value not in {c.value for c in choices}:
        raise ConfigError(f"{name} {value!r} is not one of: {', '.join(c.value for c in choices)}")


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not m:
        raise ConfigError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1280x720")
    return int(m.group(1)), int(m.group(2))


def parse_fps(value: str | float | int | Fraction) -> Fraction:
    """30, '29.97' or '30000/1001' -> an exact Fraction (frame times are f / fps, never summed)."""
    try:
        fps = Fraction(str(value)).limit_denominator(1001)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"fps {value!r} is not a number such as 30 or 30000/1001") from None
    if not 1 <= fps <= 240:
        raise ConfigError(f"fps {value} is out of range; use 1 to 240")
    return fps


def check_clip(start: float = 0.0, duration: float | None = None) -> None:
    """The part of a song to use: from `start` seconds, `duration` seconds long (None: to the end).

    Both reach ffmpeg, which counts time in int64 microseconds and takes a duration shorter
    than one input sample for no limit at all: a duration of 1 ms or more is at least one
    sample at any rate audioviz decodes (1000 Hz and up), and 10^9 s (31 years) stays far
    inside ffmpeg's clock with a file's own timestamps added."""
    most = 1_000_000_000
    if not 0 <= start <= most:  # NaN too
        raise ConfigError(f"--start {start:g} s is out of range; give 0 to {most} seconds")
    if duration is not None and not 0.001 <= duration <= most:
        raise ConfigError(f"--duration {duration:g} s is out of range; give 0.001 to {most} seconds")


@dataclass(frozen=True)
class VideoConfig:
    width: int = 1280
    height: int = 720
    fps: Fraction = Fraction(30)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fps", parse_fps(self.fps))
        for name, v in (("width", self.width), ("height", self.height)):
            if not 16 <= v <= 7680:
                raise ConfigError(f"video {name} {v} is out of range; use 16 to 7680 pixels")
            if v % 2:
                # yuv420p subsamples chroma 2x2: players reject or crop odd sizes
                raise ConfigError(
                    f"video size {self.width}x{self.height} has an odd {name}; "
                    "H.264 yuv420p needs even width and height"
                )

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


@dataclass(frozen=True)
class EncoderConfig:
    # which encoder: "auto" (NVENC where an NVIDIA GPU can run it, else the CPU's), "libx264"
    # (the CPU's encoder of `video_codec`), "h264_nvenc" (its NVENC); resolved, the ffmpeg
    # encoder's own name (render/encoder.py)
    codec: str = "auto"
    video_codec: str = "h264"
    crf: int = 20
    preset: str = "veryfast"
    # veryfast's decisions with its cheapest motion search: on our scenes the same SSIM (to the
    # 4th decimal) and 1-10 % larger files, for 27-41 % less encoder CPU (BENCHMARKS.md)
    x264_params: str = "me=dia:subme=1"
    audio_bitrate: str = "192k"
    # 0 lets the encoder pick; it shares the cores with the software renderer
    threads: int = 0
    # where in the song file the video's audio track starts, in seconds (RenderConfig.start)
    audio_start: float = 0.0
    # that part of the song holds NaN or infinite samples (audio.Audio.nonfinite), which the AAC
    # encoder refuses: they are made silence first, at a CPU cost paid only then
    audio_nonfinite: bool = False
    # what the video carries as its comment: how it was made (provenance.py)
    comment: str = ""
    # an alpha channel: the scene's subject over a transparent background (render/encoder.py
    # CODECS says which codecs carry one)
    alpha: bool = False

    def __post_init__(self) -> None:
        check_clip(self.audio_start)
        if self.video_codec not in resolved(VideoCodec):
            raise ConfigError(f"codec {self.video_codec!r} is not one of: {', '.join(resolved(VideoCodec))}")
        if not 0 <= self.crf <= 51:
            raise ConfigError(f"crf {self.crf} is out of range; use 0 (lossless) to 51")
        if self.preset not in X264_PRESETS:
            raise ConfigError(f"preset {self.preset!r} is not one of: {', '.join(X264_PRESETS)}")
        if self.threads < 0:
            raise ConfigError(f"encoder threads {self.threads} must be 0 (auto) or more")
        if self.x264_params and not re.fullmatch(r"[\w-]+=[^:=\s]+(:[\w-]+=[^:=\s]+)*", self.x264_params):
            raise ConfigError(f"x264 params {self.x264_params!r} are not key=value pairs joined by ':'")


@dataclass(frozen=True)
class TimelineConfig:
    """How the picture moves in time: features heard every `hop` seconds, glided between and
    smoothed; the music's onsets and beats as a pulse; its loudness and activity as the scene's energy."""

    interpolate: bool = True
    # time constant of the exponential moving average, in seconds (0 = off)
    smoothing: float = 0.2
    # seconds between the starts of analysis windows (None: back to back, the paper's grid);
    # each window is the model's own (0.96 s), so a shorter hop hears the song more often
    hop: float | None = 0.24
    # how strongly onsets and beats kick the scene, 0 (off) to 1
    pulse: float = 1.0
    # how far loudness and activity (motion.py) set the scene's pace, range and pulse, 0 (not at
    # all) to 1: quiet passages calm, busy ones lively, silence still
    energy: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.smoothing <= 10:
            raise ConfigError(f"smoothing {self.smoothing} s is out of range; use 0 to 10 seconds")
        if self.hop is not None and not 0.01 <= self.hop <= 10:  # NaN too; the model bounds it further
            raise ConfigError(f"--hop {self.hop:g} s is out of range; use 0.01 s up to the model's window")
        for name, value in (("pulse", self.pulse), ("energy", self.energy)):
            if not 0 <= value <= 1:
                raise ConfigError(f"--{name} {value:g} is out of range; use 0 (off) to 1")


@dataclass(frozen=True)
class MappingConfig:
    """How features become the scene's ten parameters (paper section 3)."""

    # auto: raw for a model with ten features, pca otherwise
    method: str = "auto"
    scaler: str = "standard"
    # auto: across for pca and kmeans-pca (keeps their order of spreads), features otherwise
    scaling: str = "auto"
    # fixed (scene's importance order), random (from the seed) or comma-separated parameter names
    order: str = "fixed"
    # model (statistics bundled with the model), track (fit on the track itself) or a fitted mapping file
    fit: str = "model"

    def __post_init__(self) -> None:
        for name, value, choices in (("mapping", self.method, Method), ("scaler", self.scaler, Scaler),
                                     ("scaling", self.scaling, Scaling)):
            _one_of(name, value, choices)
        if not self.order.strip() or self.order.strip(" ,") != self.order.strip():
            raise ConfigError(f"order {self.order!r} is not fixed, random or a comma-separated list of parameter names")
        if not self.fit:
            raise ConfigError("fit must be model, track or the path of a fitted mapping")

    def method_for(self, feature_size: int) -> str:
        if self.method != "auto":
            return self.method
        return "raw" if feature_size == 10 else "pca"

    def scaling_for(self, method: str) -> str:
        if self.scaling != "auto":
            return self.scaling
        return "across" if method in ("pca", "kmeans-pca") else "features"


# the value of --title, --artist and --cover that reads them from the song
AUTO = "auto"
TITLE_CHARS = 200  # longer tags are cut: a title line holds far fewer at any size


@dataclass(frozen=True)
class TitleConfig:
    """What is written over the video (render/titles.py). `title`, `artist`: text, or "auto"
    for the song's tags (a title falls back to the file's name); `cover`: an image file, or
    "auto" for the art the song carries; `logo`: an image file, in the corner `logo_position`."""

    title: str | None = None
    artist: str | None = None
    cover: str | None = None
    logo: str | None = None
    logo_position: str = "top-right"
    style: str = "card"

    def __post_init__(self) -> None:
        _one_of("text style", self.style, TextStyle)
        _one_of("logo position", self.logo_position, Corner)
        for name in ("title", "artist", "cover", "logo"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise ConfigError(f"--{name} is empty; give {'text' if name in ('title', 'artist') else 'a file'}"
                                  f"{' or auto' if name != 'logo' else ''}, or leave the option out")
        if self.logo == AUTO:
            raise ConfigError("--logo takes an image file (auto is for --title, --artist and --cover)")

    @property
    def drawn(self) -> bool:
        return any(v is not None for v in (self.title, self.artist, self.cover, self.logo))


@dataclass(frozen=True)
class RenderConfig:
    model: str = "ae_shared"
    # the model's feature layer (a classifier's, by the paper's name); None: the model's default
    layer: str | None = None
    scene: str = "bar"
    seed: int = 0
    device: str = "auto"
    video: VideoConfig = field(default_factory=VideoConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    timeline: TimelineConfig = field(default_factory=TimelineConfig)
    mapping: MappingConfig = field(default_factory=MappingConfig)
    # the part of the song to render: from `start` seconds on, `duration` seconds (None: to the end);
    # cut before decoding, so a long file costs only the part that is used
    start: float = 0.0
    duration: float | None = None
    overlay: str = "none"
    titles: TitleConfig = field(default_factory=TitleConfig)

    def __post_init__(self) -> None:
        check_clip(self.start, self.duration)
        _one_of("device", self.device, Device)
        _one_of("overlay", self.overlay, Overlay)
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed {self.seed} is out of range; use 0 to 4294967295")
