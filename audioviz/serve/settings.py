"""What the page may set, checked into the RenderConfig a job renders with, and the
`audioviz` command that makes the same file.

The page names models and scenes; it never gives a path. A model is one of the bundled ones
or a checkpoint the server was started with (`--model`), a scene one of the built-in ones:
a scene file is Python (or a shader) that would run in the server, so none is taken from
the page. The mapping's statistics are the model's or the song's own, never a file.
"""

from __future__ import annotations

import functools
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..config import (
    TITLE_CHARS,
    MappingConfig,
    Method,
    Overlay,
    RenderConfig,
    Scaler,
    Scaling,
    TextStyle,
    TimelineConfig,
    TitleConfig,
    VideoConfig,
)
from ..errors import ConfigError

_R, _M, _T, _V, _TITLES = RenderConfig(), MappingConfig(), TimelineConfig(), VideoConfig(), TitleConfig()
KINDS = ("preview", "render", "compare")
MAX_TILES = 16  # a comparison's tiles: more are too small to tell apart at any size the page shows


class Options(BaseModel):
    """Everything the page sets, with `render`'s defaults."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    model: str = Field(_R.model, max_length=200)
    layer: str | None = Field(_R.layer, max_length=50)
    scene: str = Field(_R.scene, max_length=200)
    mapping: Method = Method(_M.method)
    scaler: Scaler = Scaler(_M.scaler)
    scaling: Scaling = Scaling(_M.scaling)
    order: str = Field(_M.order, max_length=400)
    fit: Literal["model", "track"] = "model"
    size: str = Field(f"{_V.width}x{_V.height}", max_length=20)
    fps: str = Field(str(_V.fps), max_length=20)
    hop: float = _T.hop
    pulse: float = _T.pulse
    energy: float = _T.energy
    smoothing: float = _T.smoothing
    interpolate: bool = _T.interpolate
    overlay: Overlay = Overlay(_R.overlay)
    seed: int = _R.seed
    start: float = _R.start
    duration: float | None = _R.duration
    # "auto" reads the song's tags; other text is drawn as it is
    title: str | None = Field(None, max_length=TITLE_CHARS)
    artist: str | None = Field(None, max_length=TITLE_CHARS)
    cover: bool = False  # the art the song carries
    text_style: TextStyle = TextStyle(_TITLES.style)


class Song(BaseModel):
    """A song of the music folder by its path there, or an upload by its id."""

    model_config = ConfigDict(extra="forbid")

    music: str | None = Field(None, max_length=4096)
    upload: str | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _one(self) -> Song:
        if (self.music is None) == (self.upload is None):
            raise ValueError("give the song as either music (its path in the music folder) or upload (its id)")
        return self


class Grid(BaseModel):
    """A comparison's tiles: every model x mapping x scene."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(min_length=1, max_length=MAX_TILES)
    mappings: list[Method] = Field([Method.auto], min_length=1, max_length=MAX_TILES)
    scenes: list[str] = Field([_R.scene], min_length=1, max_length=MAX_TILES)


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["preview", "render", "compare"]
    song: Song
    options: Options = Options()
    compare: Grid | None = None


@dataclass(frozen=True)
class Model:
    name: str  # what the page calls it
    value: str  # what --model takes: the bundled name, or the checkpoint's path
    family: str
    description: str
    layers: tuple[dict, ...]  # {name, size, what}, the default last; () for a checkpoint (its own default)


class Models:
    """The models the page offers: the bundled ones, then the server's `checkpoints`."""

    def __init__(self, checkpoints: tuple[Path, ...] = ()):
        from ..compare import short_model_name
        from ..extract.registry import MODELS, check_model

        self.models: dict[str, Model] = {}
        for spec in MODELS.values():
            self.models[spec.name] = Model(spec.name, spec.name, spec.family, spec.description,
                                           tuple({"name": lay.name, "size": lay.size, "what": lay.what}
                                                 for lay in spec.layers))
        for path in checkpoints:
            check_model(path)
            value = str(Path(path).absolute())
            name = base = short_model_name(value)
            n = 1
            while name in self.models:
                n += 1
                name = f"{base}-{n}"
            self.models[name] = Model(name, value, "checkpoint", f"your model {path}", ())

    def get(self, name: str) -> Model:
        if name not in self.models:
            raise ConfigError(f"model {name!r} is not one this server offers: {', '.join(self.models)} (a server "
                              "offers your own with --model PATH)")
        return self.models[name]

    def spec(self, text: str) -> str:
        """A comparison's 'NAME' or 'NAME@LAYER' as compare's --models takes it."""
        name, _, layer = text.partition("@")
        model = self.get(name)
        if layer and layer not in [lay["name"] for lay in model.layers]:
            raise ConfigError(f"model {name!r} has no feature layer {layer!r}")
        return model.value + (f"@{layer}" if layer else "")

    def choices(self) -> list[dict]:
        return [{"name": m.name, "family": m.family, "description": m.description, "layers": list(m.layers)}
                for m in self.models.values()]

    def grid_choices(self) -> list[str]:
        """What a comparison may tile: each model at its default layer, and at each other one."""
        out = []
        for m in self.models.values():
            out.append(m.name)
            out += [f"{m.name}@{lay['name']}" for lay in m.layers[:-1]]
        return out


def check_scene(name: str) -> str:
    from ..scenes.registry import SCENES

    if name not in SCENES:
        raise ConfigError(f"scene {name!r} is not one of the built-in scenes ({', '.join(SCENES)}); scene files "
                          "(Python or shaders) run code, and are never taken from the page")
    return name


def render_config(o: Options, models: Models, title_fallback: str | None = None) -> RenderConfig:
    """The RenderConfig of the page's options; ConfigError in one line for a value that cannot
    work. `title_fallback`: the title when the options say auto and the song carries none."""
    from ..options import render_config as from_options

    model = models.get(o.model)
    given = {"model": model.value, "layer": o.layer, "scene": check_scene(o.scene), "mapping": o.mapping.value,
             "scaler": o.scaler.value, "scaling": o.scaling.value, "order": o.order, "fit": o.fit, "size": o.size,
             "fps": o.fps, "hop": o.hop, "pulse": o.pulse, "energy": o.energy, "smoothing": o.smoothing,
             "no_interpolate": not o.interpolate, "overlay": o.overlay.value, "seed": o.seed, "start": o.start,
             "duration": o.duration}
    if o.title or o.artist or o.cover:
        title = title_fallback if o.title == "auto" and title_fallback else o.title
        given.update(title=title or None, artist=o.artist or None, cover="auto" if o.cover else None, logo=None,
                     logo_position=_TITLES.logo_position, text_style=o.text_style.value)
    return from_options(given)


def grid_lists(grid: Grid, models: Models) -> dict:
    """A comparison's models (as --models takes them), mappings and scenes, checked."""
    from ..compare import plan_layout

    out = {"models": [models.spec(m) for m in dict.fromkeys(grid.models)],
           "mappings": [m.value for m in dict.fromkeys(grid.mappings)],
           "scenes": [check_scene(s) for s in dict.fromkeys(grid.scenes)]}
    tiles = len(out["models"]) * len(out["mappings"]) * len(out["scenes"])
    if tiles > MAX_TILES:
        raise ConfigError(f"a comparison of {tiles} tiles is too many; choose at most {MAX_TILES}")
    plan_layout(out["models"], out["mappings"], out["scenes"])
    return out


@functools.cache
def _takes(kind: str) -> frozenset[str]:
    """The options the `audioviz` command `kind` takes."""
    from typer.main import get_command

    from ..cli import app

    return frozenset(o for p in get_command(app).commands[kind].params for o in p.opts)


def shown_settings(kind: str, config: RenderConfig, grid: dict | None = None) -> dict:
    """The settings of a job of `kind`, by the command line's option names: those its command
    takes (a preview has no codec), and a comparison's models, mappings and scenes."""
    from ..provenance import settings

    takes = _takes(kind)
    return {**(grid or {}), **{k: v for k, v in settings(config).items() if v is not None and f"--{k}" in takes}}


def command(kind: str, song: Path, output: str, config: RenderConfig, grid: dict | None = None) -> str:
    """The `audioviz` command that makes what a job of `kind` makes: every setting that is not
    the command's default, and only those it takes."""
    from ..provenance import settings

    words = ["audioviz", kind, str(song), "-o", output]
    if grid is not None:
        words += ["--models", ",".join(grid["models"]), "--scenes", ",".join(grid["scenes"]),
                  "--mappings", ",".join(grid["mappings"])]
    default = settings(RenderConfig())
    for key, value in shown_settings(kind, config).items():
        if value != default[key]:
            words += [f"--{key}"] if isinstance(value, bool) else [f"--{key}", str(value)]
    return shlex.join(words)
