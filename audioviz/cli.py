"""The `audioviz` command: a thin shell over the library (parse, call, print)."""

import functools
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import AudiovizError

app = typer.Typer(
    help="Music videos driven by what neural networks hear.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def _fail(message: str, code: int = 1):
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def handles_errors(fn):
    """User errors become one line on stderr and exit status 1; Ctrl-C exits 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AudiovizError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130)

    return wrapper


def _progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


AudioArg = Annotated[Path, typer.Argument(help="Audio file (mp3, ogg, opus, flac, wav, m4a, ...).", show_default=False)]
ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model name (see `audioviz models`) or a .pt checkpoint.")]
DeviceOpt = Annotated[Device, typer.Option(help="Where the network runs; auto picks a CUDA GPU when there is one.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summary.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object with the results on stdout.")]


@app.command()
@handles_errors
def render(
    audio: AudioArg,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="MP4 to write (default: ./<song>.mp4).")] = None,
    model: ModelOpt = "ae_shared",
    scene: Annotated[str, typer.Option("--scene", "-s", help="Scene name (see `audioviz scenes`).")] = "bar",
    fps: Annotated[str, typer.Option(help="Frames per second, e.g. 30, 60 or 30000/1001.")] = "30",
    size: Annotated[str, typer.Option(help="Video size WIDTHxHEIGHT (even numbers).")] = "1280x720",
    smoothing: Annotated[float, typer.Option(help="Time constant of the moving average, in seconds (0: off).")] = 0.2,
    no_interpolate: Annotated[bool, typer.Option("--no-interpolate", help="Hold each segment's values instead of gliding between them.")] = False,
    seed: Annotated[int, typer.Option(help="Seed for everything random in the scene.")] = 0,
    device: DeviceOpt = Device.auto,
    crf: Annotated[int, typer.Option(help="x264 quality: lower is better and larger (18-28 is sane).")] = 20,
    preset: Annotated[str, typer.Option(help="x264 speed preset (ultrafast ... veryslow).")] = "veryfast",
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
):
    """Render a music video of AUDIO: features from a neural network drive a scene."""
    from .config import EncoderConfig, RenderConfig, TimelineConfig, VideoConfig, parse_size
    from .pipeline import render_file

    w, h = parse_size(size)
    config = RenderConfig(
        model=model, scene=scene, seed=seed, device=device.value,
        video=VideoConfig(w, h, fps), encoder=EncoderConfig(crf=crf, preset=preset),
        timeline=TimelineConfig(interpolate=not no_interpolate, smoothing=smoothing),
    )
    result = render_file(audio, output, config, progress=_progress(quiet))
    if json_out:
        typer.echo(json.dumps(result.as_dict()))
    elif not quiet:
        typer.echo(
            f"wrote {result.output}: {result.video_seconds:.1f} s, {result.frames} frames at "
            f"{result.fps:g} fps, {result.size}, in {result.wall_seconds:.1f} s "
            f"({result.realtime_factor:.2f}x real time)",
            err=True,
        )


@app.command()
@handles_errors
def extract(
    audio: AudioArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write: .npy, .csv or .json by extension.")],
    model: ModelOpt = "ae_shared",
    device: DeviceOpt = Device.auto,
    quiet: QuietOpt = False,
):
    """Write AUDIO's per-segment features (segments x features) without rendering."""
    from .features_io import write_features
    from .pipeline import extract_features

    feats = extract_features(audio, model, device.value, progress=_progress(quiet))
    write_features(output, feats, model)
    if not quiet:
        typer.echo(f"wrote {output}: {feats.values.shape[0]} segments x {feats.values.shape[1]} features", err=True)


class Preset(str, Enum):
    compact = "compact"
    paper = "paper"
    tiny = "tiny"


class Optimizer(str, Enum):
    adam = "adam"
    sgd = "sgd"


@app.command()
@handles_errors
def train(
    data_dir: Annotated[Path, typer.Argument(help="Folder of music, searched recursively.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Run folder: checkpoints, log, model card. Rerun to resume.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Variant to train: ae, ae_shared or ae_skip.")] = "ae_shared",
    preset: Annotated[Preset, typer.Option(help="compact: the bundled models' size; paper: the paper's configuration; tiny: a smoke test.")] = Preset.compact,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs (default: from the preset).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Batch size (default: from the preset).")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Learning rate (default: from the preset).")] = None,
    optimizer: Annotated[Optional[Optimizer], typer.Option(help="Optimizer (default: from the preset).")] = None,
    val_fraction: Annotated[float, typer.Option(help="Share of tracks held out for validation.")] = 0.1,
    max_segments_per_track: Annotated[int, typer.Option(help="Evenly spaced segments kept per track (0: all).")] = 0,
    bypass_dropout: Annotated[Optional[float], typer.Option(help="Share of batches trained through the code alone (default: from the preset).")] = None,
    seed: int = 0,
    device: DeviceOpt = Device.auto,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
):
    """Train an autoencoder on every audio file under DATA_DIR (resumable)."""
    from .extract.train import TrainConfig, Trainer

    config = TrainConfig.from_preset(
        preset.value, model=model, epochs=epochs, batch_size=batch_size, lr=lr,
        optimizer=optimizer.value if optimizer else None, val_fraction=val_fraction,
        max_segments_per_track=max_segments_per_track, bypass_dropout=bypass_dropout,
        seed=seed, device=device.value,
    )
    try:
        summary = Trainer(data_dir, output, config, progress=_progress(quiet)).run()
    except KeyboardInterrupt:
        typer.echo(f"interrupted; run the same command again to continue from {output}", err=True)
        raise typer.Exit(130)
    if json_out:
        typer.echo(json.dumps(summary))
    elif not quiet:
        typer.echo(f"best model: {summary['best']} (epoch {summary['best_epoch']}); card: {output / 'model.md'}", err=True)
        for line in summary["failed_tracks"]:
            typer.echo(f"skipped {line}", err=True)


@app.command()
def models():
    """List the bundled models."""
    from .extract.registry import available_models

    for spec in available_models():
        typer.echo(f"{spec.name:<10} {spec.description}")


@app.command()
def scenes(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list each scene's parameters.")] = False):
    """List the scenes."""
    from .scenes.registry import available_scenes

    for cls in available_scenes():
        typer.echo(f"{cls.name:<10} {cls.description}")
        if verbose:
            order = {n: i for i, n in enumerate(cls.importance_order())}
            for i, p in enumerate(cls.params):
                typer.echo(f"    p{i} {p.name:<14} {p.description} (importance {order[p.name] + 1})")


def main() -> None:
    app()
