"""The `audioviz` command: a thin shell over the library (parse, call, print)."""

import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .config import (
    Device,
    LabelSource,
    Optimizer,
    Preset,
    RenderConfig,
    Sidecar,
    Subset,
    TimelineConfig,
)
from .errors import ENV_DEBUG, AudiovizError, describe_unexpected
from .options import (
    ALPHA,
    CLIP,
    DEVICE,
    ENCODING,
    FORMAT,
    FPS,
    LIKE,
    MAPPING,
    MAPPING_STATS,
    MODEL,
    MOTION,
    OVERLAY,
    SCENE,
    SEED,
    SETTINGS,
    SIZE,
    TITLES,
    AudioArg,
    DeviceOpt,
    JsonOpt,
    LayerOpt,
    ModelOpt,
    OverwriteOpt,
    QuietOpt,
    SeedOpt,
    takes,
)

app = typer.Typer(
    help="Music videos driven by what neural networks hear.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"audioviz {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print audioviz's version and exit.")] = False,
) -> None:
    """Music videos driven by what neural networks hear."""


def _fail(message: str, code: int = 1):
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


INTERRUPTED = 130  # Ctrl-C (SIGINT) and SIGTERM alike: stopped cleanly, nothing half-written left
STOPPED = 3  # batch: stopped early on a fault of the machine (no GL, no ffmpeg, disk full, ...)


def describe_sync(sync: dict) -> str:
    """The sync score in words, for the line after a render's summary."""
    def num(key: str, digits: int = 2) -> str:
        return "n/a" if sync.get(key) is None else f"{sync[key]:.{digits}f}"

    text = f"visual change follows the music's at r = {num('correlation')}, onsets lift it {num('onset_lift', 1)}x"
    if "onsets" in sync:
        text += f" ({sync['onsets']} strong onsets)"
    if sync.get("quiet_ratio") is not None:
        text += f"; quiet passages move {num('quiet_ratio')}x as much as loud ones"
    return text


def handles_errors(fn):
    """User errors become one line on stderr and exit status 1; Ctrl-C and SIGTERM stop the
    command cleanly (ffmpeg stopped, temporary files removed) and exit 130. Anything else is
    one line too (with AUDIOVIZ_DEBUG=1, its traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import os

        from .signals import interrupts

        try:
            with interrupts():
                return fn(*args, **kwargs)
        except AudiovizError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(INTERRUPTED)
        except (typer.Exit, typer.Abort):  # typer's own ways out, already said
            raise
        except Exception as e:
            if os.environ.get(ENV_DEBUG):
                raise
            _fail(describe_unexpected(e))

    return wrapper


def _progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@app.command()
@handles_errors
@takes(MODEL, SCENE, MAPPING, SIZE, FPS, MOTION, OVERLAY, TITLES, SEED, DEVICE, ENCODING, ALPHA, CLIP, FORMAT,
       LIKE, SETTINGS)
def render(
    audio: AudioArg,
    config: RenderConfig,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Video to write, in a file its --codec goes in (h264: .mp4, .m4v, .mov or .mkv; default: ./<song>.mp4, or the codec's own), or frames/%06d.png for PNG images.")] = None,
    sidecar: Annotated[Optional[Sidecar], typer.Option(help="Also write the frames' parameters, pulse, onsets and loudness gain beside the video: <name>.params.csv or .json.", show_default=False)] = None,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
):
    """Render a music video of AUDIO: features from a neural network drive a scene."""
    from .pipeline import render_file

    result = render_file(audio, output, config=config, overwrite=overwrite, progress=_progress(quiet),
                         sidecar=sidecar.value if sidecar else None)
    if json_out:
        typer.echo(json.dumps(result.as_dict()))
    elif not quiet:
        typer.echo(
            f"wrote {result.output}: {result.video_seconds:.1f} s, {result.frames} frames at "
            f"{result.fps:g} fps, {result.size}, in {result.wall_seconds:.1f} s "
            f"({result.realtime_factor:.2f}x real time)",
            err=True,
        )
        typer.echo(f"sync: {describe_sync(result.sync)}", err=True)


@app.command()
@handles_errors
@takes(MODEL, SCENE, MAPPING, SEED, DEVICE, CLIP)
def extract(
    audio: AudioArg,
    config: RenderConfig,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Where to write: .npy, .csv or .json by extension (default: ./<song>-features.csv, with --mapped ./<song>-params.csv).")] = None,
    mapped: Annotated[bool, typer.Option("--mapped", help="Write the scene's final parameters instead of the raw features.")] = False,
    hop: Annotated[Optional[float], typer.Option("--hop", metavar="SECONDS", help="Seconds between analysis windows (default: back to back, one per segment).", show_default=False)] = None,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
):
    """Write AUDIO's per-segment features (or, with --mapped, parameters) without rendering."""
    from .features_io import check_format, write_features
    from .files import default_output, output_file
    from .pipeline import extract_features, extract_params
    from .session import check_inputs

    c = config
    inputs = check_inputs(audio, c.model, c.layer, c.mapping.fit if mapped else "model", c.scene if mapped else None)
    requested = output if output is not None else default_output(audio, "-params.csv" if mapped else "-features.csv")
    check_format(requested)
    target = output_file(requested, overwrite=overwrite, inputs=inputs, what="features file")
    if hop is not None:
        TimelineConfig(hop=hop)  # checked before any model loads
    clip = {"start": c.start, "duration": c.duration, "hop": hop, "progress": _progress(quiet)}
    if mapped:
        params = extract_params(audio, model=c.model, layer=c.layer, scene=c.scene, mapping=c.mapping, seed=c.seed,
                                device=c.device, **clip)
        write_features(target, params.features, c.model, values=params.values, columns=params.names)
        what = f"{params.values.shape[0]} segments x {params.values.shape[1]} {c.scene} parameters"
    else:
        feats = extract_features(audio, model=c.model, layer=c.layer, device=c.device, **clip)
        write_features(target, feats, c.model)
        what = f"{feats.values.shape[0]} segments x {feats.values.shape[1]} features"
    if not quiet:
        typer.echo(f"wrote {requested}: {what}", err=True)


FolderArg = Annotated[Path, typer.Argument(help="Folder of music, searched recursively.", show_default=False,
                                           metavar="FOLDER")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Extract every track again instead of reusing cached features.")]


@app.command()
@handles_errors
def fit(
    folder: FolderArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Fitted mapping to write: OUTPUT.npz (arrays) and OUTPUT.json (summary).")],
    model: ModelOpt = "ae_shared",
    layer: LayerOpt = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = Device.auto,
    no_cache: NoCacheOpt = False,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
):
    """Fit scalers, PCA and K-Means on every track under FOLDER, for `render --fit OUTPUT`."""
    from .pipeline import fit_folder

    result = fit_folder(folder, output, model=model, layer=layer, seed=seed, device=device.value, cache=not no_cache,
                        progress=_progress(quiet), overwrite=overwrite)
    if json_out:
        typer.echo(json.dumps(result.as_dict()))
    elif not quiet:
        typer.echo(f"wrote {result.output}: {', '.join(result.methods)} fitted on {result.tracks} tracks "
                   f"({result.segments} segments) in {result.seconds:.1f} s", err=True)
    if not json_out:
        for line in result.failed:
            typer.echo(f"skipped {line}", err=True)


@app.command()
@handles_errors
def analyze(
    folder: FolderArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Report folder: PNG figures and index.html.")],
    model: ModelOpt = "ae_shared",
    layer: LayerOpt = None,
    fma_metadata: Annotated[Optional[Path], typer.Option(help="FMA's metadata folder (with tracks.csv): group tracks by genre instead of sub-folder.")] = None,
    fit: Annotated[str, typer.Option("--fit", help="Statistics to map with: folder (fit on FOLDER itself), model, or a file made by `audioviz fit`.")] = "folder",
    sync_scene: Annotated[str, typer.Option("--sync-scene", help="Scene of the sync study: how well videos of excerpts move with the music, for the model's features and for random features and band energies.")] = "bar",
    sync_tracks: Annotated[int, typer.Option("--sync-tracks", help="Excerpts in the sync study, spread over FOLDER.")] = 12,
    sync_seconds: Annotated[float, typer.Option("--sync-seconds", help="Seconds of each excerpt (the middle of its track).")] = 30.0,
    no_sync: Annotated[bool, typer.Option("--no-sync", help="No sync study.")] = False,
    baselines: Annotated[bool, typer.Option("--baselines/--no-baselines", help="With two or more groups, put MFCC statistics and a random projection of the same segments through the same mapping, beside the model.")] = True,
    seed: SeedOpt = 0,
    device: DeviceOpt = Device.auto,
    no_cache: NoCacheOpt = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
):
    """Draw the paper's statistics figures for FOLDER: per component, per track and per group; and
    measure how well its videos move with the music, against null baselines."""
    from .pipeline import analyze_folder

    result = analyze_folder(folder, output, model=model, layer=layer, fma_metadata=fma_metadata, fit=fit, seed=seed,
                            device=device.value, cache=not no_cache, sync_scene=None if no_sync else sync_scene,
                            sync_tracks=sync_tracks, sync_seconds=sync_seconds, baselines=baselines,
                            progress=_progress(quiet))
    if json_out:
        typer.echo(json.dumps(result.as_dict()))
    elif not quiet:
        typer.echo(f"wrote {result.index}: {len(result.figures)} figures for {result.tracks} tracks", err=True)
        for o in result.observations:
            typer.echo(f"({o['key']}) {o['claim']}: {o['verdict']}", err=True)
        for measure, gap in result.gaps.items():
            typer.echo(f"{measure} against MFCC statistics: {gap['difference']:+.2f} ({gap['level']:.0%} interval {gap['low']:+.2f} "
                       f"to {gap['high']:+.2f}), {gap['verdict']}", err=True)
        for variant, m in (result.sync or {}).get("medians", {}).items():
            typer.echo(f"sync, {variant}: {describe_sync(m)}", err=True)
        if result.sync:
            typer.echo(result.sync["verdict"], err=True)
    if not json_out:
        for line in result.failed:
            typer.echo(f"skipped {line}", err=True)


@app.command()
@handles_errors
def train(
    data_dir: Annotated[Path, typer.Argument(help="Folder of music, searched recursively.", show_default=False,
                                             metavar="DATA_DIR")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Run folder: checkpoints, log, model card. Rerun to resume.")],
    model: Annotated[str, typer.Option("--model", "-m", help="What to train: ae, ae_shared, ae_skip (autoencoders) or alexnet, vgg11, vgg13, vgg16 (genre classifiers).")] = "ae_shared",
    preset: Annotated[Preset, typer.Option(help="compact: the bundled models' size; paper: the paper's configuration; tiny: a smoke test.")] = Preset.compact,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs (default: from the preset).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Batch size (default: from the preset).")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Learning rate (default: from the preset).")] = None,
    optimizer: Annotated[Optional[Optimizer], typer.Option(help="Optimizer (default: from the preset).")] = None,
    val_fraction: Annotated[Optional[float], typer.Option(help="Share of tracks held out for validation (default 0.1; classifiers: 0.2 of each class).")] = None,
    max_segments_per_track: Annotated[int, typer.Option(help="Evenly spaced segments kept per track (0: all).")] = 0,
    min_seconds: Annotated[float, typer.Option(help="Leave out files shorter than this many seconds (the sound effects of games' data packages).")] = 0.0,
    momentum: Annotated[Optional[float], typer.Option(help="SGD's momentum (default: from the preset).")] = None,
    width: Annotated[Optional[int], typer.Option(help="Autoencoders: filters of the first conv block (default: from the preset).")] = None,
    code_norm: Annotated[Optional[bool], typer.Option("--code-norm/--no-code-norm", help="Autoencoders: batch-normalise the code's pre-activations (default: from the preset).", show_default=False)] = None,
    code_size: Annotated[Optional[int], typer.Option(help="Autoencoders: numbers in the code (default: from the preset, 10 as in the paper: one per scene parameter, mapped raw; a wider code is mapped through PCA).")] = None,
    width_divisor: Annotated[Optional[int], typer.Option(help="Classifiers: the paper's filter counts divided by this, a divisor of 64 (default: from the preset).")] = None,
    weight_decay: Annotated[Optional[float], typer.Option(help="Classifiers: the optimiser's weight decay (default: from the preset).")] = None,
    dropout: Annotated[Optional[float], typer.Option(help="Classifiers: dropout before the FC layers (default: from the preset).")] = None,
    bypass_dropout: Annotated[Optional[float], typer.Option(help="Autoencoders: share of batches trained through the code alone (default: from the preset).")] = None,
    contrast: Annotated[Optional[float], typer.Option(help="Weight of the track-contrastive term: segments of one track are pulled together in the code (autoencoders) or the default feature layer (classifiers), so that the features carry what a track keeps (default: from the preset).")] = None,
    spread: Annotated[Optional[float], typer.Option(help="Classifiers: weight of the spread term (VICReg's variance and covariance) on the default feature layer, so that it keeps more directions than the labels need (default: from the preset).")] = None,
    fma_metadata: Annotated[Optional[Path], typer.Option(help="Classifiers: FMA's metadata folder (with tracks.csv); labels are FMA's top genres, splits FMA's own.")] = None,
    subset: Annotated[Optional[Subset], typer.Option(help="Classifiers with FMA: keep the tracks of this subset (medium includes small).")] = None,
    labels_from: Annotated[Optional[LabelSource], typer.Option(help="Classifiers: fma (needs --fma-metadata) or folders (the first folder under DATA_DIR names each file's class). Default: fma when --fma-metadata is given.")] = None,
    balance: Annotated[Optional[bool], typer.Option("--balance/--no-balance", help="Classifiers: weight the loss so that every class counts equally (default: from the preset).", show_default=False)] = None,
    pretrained: Annotated[bool, typer.Option("--pretrained", help="Classifiers: start from torchvision's ImageNet weights in torch's cache (never downloaded; needs --preset paper).")] = False,
    pretrained_file: Annotated[Optional[Path], typer.Option(help="Classifiers: start from this ImageNet weights file (torchvision's format).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the split, the initial weights and the batch order.")] = 0,
    device: DeviceOpt = Device.auto,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
):
    """Train an autoencoder or a genre classifier on the audio files under DATA_DIR (resumable)."""
    from .training import make_trainer

    trainer = make_trainer(
        data_dir, output, model, preset.value, progress=_progress(quiet), epochs=epochs, batch_size=batch_size, lr=lr,
        optimizer=optimizer.value if optimizer else None, momentum=momentum, width=width, code_norm=code_norm,
        code_size=code_size, width_divisor=width_divisor, weight_decay=weight_decay, dropout=dropout,
        val_fraction=val_fraction, max_segments_per_track=max_segments_per_track, min_seconds=min_seconds,
        bypass_dropout=bypass_dropout,
        contrast=contrast, spread=spread,
        fma_metadata=fma_metadata, subset=subset.value if subset else None,
        labels_from=labels_from.value if labels_from else None, balance=balance,
        pretrained=str(pretrained_file) if pretrained_file else ("imagenet" if pretrained else None),
        seed=seed, device=device.value,
    )
    try:
        summary = trainer.run()
    except KeyboardInterrupt:
        typer.echo(f"interrupted; run the same command again to continue from {output}", err=True)
        raise typer.Exit(130)
    if json_out:
        typer.echo(json.dumps(summary))
    elif not quiet:
        held = next((f" held-out track-level accuracy {summary[k]:.1%} ({k.split('_')[0]})"
                     for k in ("test_track_acc", "val_track_acc") if k in summary), "")
        typer.echo(f"best model: {summary['best']} (epoch {summary['best_epoch']}{',' if held else ''}{held}); "
                   f"card: {output / 'model.md'}", err=True)
        for line in summary["failed_tracks"]:
            typer.echo(f"skipped {line}", err=True)


@app.command()
@handles_errors
def tune(
    data_dir: Annotated[Optional[Path], typer.Argument(help="Folder of music, searched recursively (continuing a study: its own, unless given).", show_default=False, metavar="DATA_DIR")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Study folder: study.db (Optuna, SQLite), cache/, trials/NNNN/ (a training run each) and best (the winner's run). Rerun to continue.", show_default=False)] = None,
    report: Annotated[Optional[Path], typer.Option("--report", metavar="STUDY", help="Report on the study in this folder instead of running it: STUDY/report/ gets summary.txt, trials.csv, and history, importances, parallel-coordinates and per-epoch PNGs (needs matplotlib: the analysis extra).", show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="What to tune: ae, ae_shared, ae_skip (autoencoders) or alexnet, vgg11, vgg13, vgg16 (genre classifiers). [default: ae_shared]", show_default=False)] = None,
    trials: Annotated[Optional[int], typer.Option(min=1, help="Trials the study holds when done, over all its runs (those interrupted and continued do not count). [default: 20]", show_default=False)] = None,
    timeout: Annotated[Optional[str], typer.Option(metavar="DURATION", help="Start no trial after this long, e.g. 90m, 2h or 1h30m (the running ones finish).", show_default=False)] = None,
    preset: Annotated[Optional[Preset], typer.Option(help="What the space does not search (the architecture's depth, its FC layers) and the epochs come from this preset. [default: compact]", show_default=False)] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs of each trial (default: the preset's).", show_default=False)] = None,
    space: Annotated[Optional[Path], typer.Option(metavar="FILE.toml", help="Narrow or widen the search space: a TOML file of setting = { low, high, log, step }, a list, or one fixed value (the settings are listed above).", show_default=False)] = None,
    min_code_std: Annotated[Optional[float], typer.Option(help="Autoencoders: an epoch whose code's spread (mean per-component standard deviation) is below this scores no better than predicting the mean segment. [default: 0.05]", show_default=False)] = None,
    pruner: Annotated[Optional[str], typer.Option(help="median: stop a trial whose epoch scores worse than the median of the others at that epoch; none: never. [default: median]", show_default=False)] = None,
    startup_trials: Annotated[Optional[int], typer.Option(min=1, help="Trials drawn at random before TPE models the results; pruning starts after min(this, 5) complete trials. [default: 10]", show_default=False)] = None,
    val_fraction: Annotated[Optional[float], typer.Option(help="Share of tracks held out for validation (default 0.1; classifiers: 0.2 of each class).", show_default=False)] = None,
    max_segments_per_track: Annotated[Optional[int], typer.Option(help="Evenly spaced segments kept per track (0: all). [default: 0]", show_default=False)] = None,
    min_seconds: Annotated[Optional[float], typer.Option(help="Leave out files shorter than this many seconds. [default: 0]", show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the split and of every trial's initial weights and batch order (the sampler draws afresh in each run). [default: 0]", show_default=False)] = None,
    fma_metadata: Annotated[Optional[Path], typer.Option(help="Classifiers: FMA's metadata folder (with tracks.csv); labels are FMA's top genres, splits FMA's own (its test split is never used to choose).", show_default=False)] = None,
    subset: Annotated[Optional[Subset], typer.Option(help="Classifiers with FMA: keep the tracks of this subset.", show_default=False)] = None,
    labels_from: Annotated[Optional[LabelSource], typer.Option(help="Classifiers: fma (needs --fma-metadata) or folders (the first folder under DATA_DIR names each file's class).", show_default=False)] = None,
    device: DeviceOpt = Device.auto,
    cluster: Annotated[Optional[str], typer.Option("--cluster", help="Run the trials as tasks on a Ray cluster (pip install 'audioviz[cluster]'): ray, auto, ray://HOST:10001 or HOST:6379, as for `audioviz batch`. The study folder must be on a filesystem every node mounts at the same path; study.db is opened on this machine only.", show_default=False)] = None,
    cpus_per_job: Annotated[Optional[float], typer.Option("--cpus-per-job", help="With --cluster: CPUs each trial takes. [default: 2]", show_default=False)] = None,
    gpus_per_job: Annotated[Optional[float], typer.Option("--gpus-per-job", help="With --cluster: GPUs each trial takes: 1, or a fraction such as 0.25 to share a GPU among four. [default: 0]", show_default=False)] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="With --cluster: trials at once (default: as many as the cluster holds).", show_default=False)] = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
):
    """Search the training settings of an extractor with Optuna (resumable; --report to see
    what it found).

    \b
      audioviz tune ~/Music -m ae_shared --trials 40 --timeout 2h -o runs/ae
      audioviz tune fma/ -m vgg16 --fma-metadata meta/ -o runs/vgg --cluster ray
      audioviz tune ~/Music -o runs/ae       # again: continues the study
      audioviz tune --report runs/ae         # best trials, importances, plots
      audioviz render song.mp3 --model runs/ae/best

    Each trial is a run of `audioviz train` (TPE sampler; a median pruner stops trials that
    fall behind, epoch by epoch) in its own run folder, so any trial renders with --model;
    best links to the winner. The study starts with the preset's own settings. Objective:
    autoencoders, the validation MSE from the code alone (lower is better; a code whose
    spread falls below --min-code-std scores as predicting the mean segment); classifiers,
    the held-out track-level accuracy (higher is better).

    \b
    Search space (--space FILE.toml narrows or widens it):
      all:          lr, batch_size [16, 32, 64, 128], optimizer [adam, sgd],
                    momentum (sgd only)
      autoencoders: width (first block's filters, 4 to 16), code_norm [true,
                    false], bypass_dropout (0.25 to 1), contrast (fixed at 0)
      classifiers:  width_divisor [4, 8, 16], dropout (0 to 0.7),
                    weight_decay (1e-6 to 1e-2, log), contrast and spread
                    (fixed at 0)
    \b
    For example:
      lr = { low = 1e-4, high = 3e-3, log = true }
      width = { low = 8, high = 24, step = 4 }
      batch_size = [32, 64]
      optimizer = "adam"
    """
    from .errors import ConfigError

    if report is not None:
        if data_dir is not None or output is not None:
            raise ConfigError("--report reads a study and runs nothing; give it alone: audioviz tune --report STUDY")
        from .tune.report import write_report

        rep = write_report(report)
        if json_out:
            typer.echo(json.dumps(rep.as_dict()))
        else:
            typer.echo(rep.summary, nl=False)
            if not quiet:
                typer.echo(f"wrote {rep.folder}: summary.txt, trials.csv"
                           + "".join(f", {f.name}" for f in rep.figures), err=True)
        return
    if output is None:
        raise ConfigError("give the study folder with -o (a new one, or a study's to continue it)")
    from .batch.cluster import ClusterConfig
    from .tune import Options, parse_duration
    from .tune import tune as run_study

    given = [name for name, value in (("--cpus-per-job", cpus_per_job), ("--gpus-per-job", gpus_per_job),
                                      ("--jobs", jobs)) if value is not None]
    if given and cluster is None:
        raise ConfigError(f"{given[0]} applies to trials on a cluster only; add --cluster")
    defaults = ClusterConfig()
    on = None if cluster is None else ClusterConfig(
        cluster, defaults.cpus_per_job if cpus_per_job is None else cpus_per_job,
        defaults.gpus_per_job if gpus_per_job is None else gpus_per_job)
    seconds = parse_duration(timeout) if timeout is not None else None
    opts = Options(model=model, trials=trials, preset=preset.value if preset else None, epochs=epochs, space=space,
                   min_code_std=min_code_std, pruner=pruner, startup_trials=startup_trials, val_fraction=val_fraction,
                   max_segments_per_track=max_segments_per_track, min_seconds=min_seconds, seed=seed,
                   fma_metadata=fma_metadata,
                   subset=subset.value if subset else None, labels_from=labels_from.value if labels_from else None,
                   device=device.value)

    def say(line: str) -> None:
        if not quiet:
            from tqdm import tqdm

            tqdm.write(line, file=sys.stderr)

    try:
        result = run_study(data_dir, output, opts, timeout=seconds, cluster=on, jobs=jobs, progress=_progress(quiet),
                           say=say)
    except KeyboardInterrupt:
        typer.echo(f"interrupted; run the same command again to continue the study in {output}", err=True)
        raise typer.Exit(130)
    if json_out:
        typer.echo(json.dumps(result.as_dict()))
    elif not quiet:
        c, b = result.counts, result.best
        best = (f"; best: trial {b['number']}, {b['value']:.6f} (--model {output / 'best'})" if b else
                "; no trial is complete yet")
        more = "; time limit reached: run the same command again to go on" if result.stopped == "time limit" else ""
        elsewhere = f"; {result.running_elsewhere} trial(s) still running in other processes" if result.running_elsewhere else ""
        typer.echo(f"study {output}: {c['counted']} of {c['asked_for']} trials ({c['complete']} complete, "
                   f"{c['pruned']} pruned, {c['failed']} failed){best}{elsewhere}{more}; "
                   f"audioviz tune --report {output} for more", err=True)


@app.command()
def models(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also say what each feature layer is.")] = False,
):
    """List the bundled models with their feature layers (--layer) and feature sizes."""
    from .extract.registry import available_models

    specs = available_models()
    layers = {
        spec.name: ", ".join(
            f"{layer.name} ({layer.size}{', default' if len(spec.layers) > 1 and layer.name == spec.default_layer else ''})"
            for layer in spec.layers
        )
        for spec in specs
    }
    width = max(len(text) for text in layers.values())
    name_width = max(10, *(len(spec.name) for spec in specs))
    layer_width = max(5, *(len(layer.name) for spec in specs for layer in spec.layers))
    for spec in specs:
        typer.echo(f"{spec.name:<{name_width}} {spec.family:<12} {layers[spec.name]:<{width}}  {spec.description}")
        if verbose:
            for layer in spec.layers:
                typer.echo(f"    {layer.name:<{layer_width}} {layer.size:>4} features: {layer.what}")
            if spec.tags:  # what --order may name
                typer.echo(f"    tags: {', '.join(spec.tags)}")


@app.command()
@handles_errors
@takes(MODEL, SCENE, MAPPING, SIZE, MOTION, SEED, DEVICE, CLIP)
def preview(
    audio: AudioArg,
    config: RenderConfig,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="PNG to write (default: ./<song>-preview.png).")] = None,
    grid: Annotated[str, typer.Option(help="COLUMNSxROWS frames, spread evenly over the song.")] = "4x3",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
):
    """Render a contact sheet of AUDIO in a scene (frames labelled with their time), no video."""
    from .config import parse_size
    from .pipeline import preview_file

    columns, rows = parse_size(grid)
    result = preview_file(audio, output, config=config, columns=columns, rows=rows, overwrite=overwrite,
                          progress=_progress(quiet))
    if json_out:
        typer.echo(json.dumps(result.as_dict()))
    elif not quiet:
        typer.echo(f"wrote {result.output}: {result.frames} frames of {result.cell} in {result.wall_seconds:.1f} s",
                   err=True)


@app.command()
@handles_errors
def scenes(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list each scene's parameters.")] = False,
    sheet: Annotated[Optional[Path], typer.Option("--sheet", help="Write one contact sheet per scene (a fixed parameter sweep) into this folder.")] = None,
    size: Annotated[str, typer.Option(help="Shape of the frames on the sheets, WIDTHxHEIGHT.")] = "1280x720",
):
    """List the scenes (or draw a contact sheet of each)."""
    from .scenes.registry import SCENES, available_scenes

    if sheet is not None:
        from .config import parse_size
        from .pipeline import scene_sheet
        from .render.context import gl_context

        w, h = parse_size(size)
        with gl_context() as ctx:
            for name in SCENES:
                typer.echo(f"wrote {scene_sheet(ctx, name, sheet / f'{name}.png', size=(w, h))}", err=True)
        return
    for cls in available_scenes():
        typer.echo(f"{cls.name:<10} {cls.description}")
        if verbose:
            order = {n: i for i, n in enumerate(cls.importance_order())}
            for i, p in enumerate(cls.params):
                typer.echo(f"    p{i} {p.name:<14} {p.description} (importance {order[p.name] + 1})")


def _usage_errors():
    from .errors import ConfigError, InputError, ModelError, SceneError

    return ConfigError, InputError, ModelError, SceneError


@app.command()
@handles_errors
@takes(MODEL, SCENE, MAPPING, SIZE, FPS, MOTION, OVERLAY, TITLES, SEED, DEVICE, ENCODING, ALPHA, CLIP, FORMAT,
       SETTINGS, usage_status=2)
def batch(
    in_dir: Annotated[Path, typer.Argument(help="Folder of music, searched recursively; its layout (FMA's 000/000002.mp3) is mirrored.", show_default=False, metavar="IN_DIR")],
    config: RenderConfig,
    out_dir: Annotated[Path, typer.Option("--output", "-o", help="Folder for the videos and report.csv.", show_default=False)],
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Tracks rendered at once, each worker with its own model, GL context and encoder (default: half the cores, at least 2; 2 on a 2-core machine).", show_default=False)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", "-y", help="Render again the videos that are already complete (and refit with --fit-on-batch).")] = False,
    fit_on_batch: Annotated[bool, typer.Option("--fit-on-batch", help="First fit the mapping on the batch's own tracks (as `audioviz fit`, kept as OUT_DIR/mapping.npz), then render with it.")] = False,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Render at most this many tracks (after --include and --shuffle).", show_default=False)] = None,
    shuffle: Annotated[bool, typer.Option("--shuffle", help="Take the tracks in a random order drawn from --seed (with --limit: a random sample).")] = False,
    include: Annotated[Optional[list[str]], typer.Option("--include", help="Only files matching this glob: '*.mp3' matches names, '000/*' paths; repeat for more.", show_default=False)] = None,
    fma_metadata: Annotated[Optional[Path], typer.Option(help="FMA's metadata folder (with tracks.csv): add each track's top genre to the report.", show_default=False)] = None,
    report: Annotated[Optional[Path], typer.Option(help="Where to write the report: .csv or .json (default OUT_DIR/report.csv).", show_default=False)] = None,
    no_cache: NoCacheOpt = False,
    cluster: Annotated[Optional[str], typer.Option("--cluster", help="Render on a Ray cluster (pip install 'audioviz[cluster]'): ray (a Ray on this machine: the one `ray start` runs, else one for this batch), auto (RAY_ADDRESS, else as ray), or the head's address, ray://HOST:10001 or HOST:6379. IN_DIR and OUT_DIR must be on a filesystem every node mounts at the same path (docs/cluster.md).", show_default=False)] = None,
    cpus_per_job: Annotated[Optional[float], typer.Option("--cpus-per-job", help="With --cluster: CPUs each job (one actor rendering one track at a time) takes; fractions allowed. [default: 2]", show_default=False)] = None,
    gpus_per_job: Annotated[Optional[float], typer.Option("--gpus-per-job", help="With --cluster: GPUs each job takes, e.g. 0.25 to share a GPU among four. [default: 0]", show_default=False)] = None,
    retries: Annotated[Optional[int], typer.Option("--retries", help="With --cluster: more attempts for a track whose actor died (its process or node gone); a bad file is never retried. [default: 2]", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Render nothing: list the tracks to render, their hours of audio and an estimated wall time for the jobs that will run at once.")] = False,
    throughput: Annotated[Optional[float], typer.Option("--throughput", help="With --dry-run: seconds of audio one job renders per second (default: what batches with these settings measured on this kind of machine).", show_default=False)] = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
):
    """Render a video of every audio file under IN_DIR into OUT_DIR; rerun to resume.

    Exit status: 0 when every track rendered (or was complete already), 1 when some failed
    (the report says why), 2 for a usage error, 3 when the run stopped early on a fault of the
    machine that every track would meet (no OpenGL, no ffmpeg that encodes H.264, output
    folder unusable, disk full), 130 when interrupted (Ctrl-C or SIGTERM).
    """

    from .batch import DONE, FAILED, FATAL_ERRORS, Batch
    from .batch.cluster import ClusterConfig
    from .errors import BatchStoppedError, ConfigError

    try:
        given = [name for name, value in (("--cpus-per-job", cpus_per_job), ("--gpus-per-job", gpus_per_job),
                                          ("--retries", retries)) if value is not None]
        if given and cluster is None:
            raise ConfigError(f"{given[0]} applies to a batch on a cluster only; add --cluster")
        if throughput is not None and not dry_run:
            raise ConfigError("--throughput is for the estimate of --dry-run; add --dry-run")
        defaults = ClusterConfig()
        on = None if cluster is None else ClusterConfig(
            cluster, defaults.cpus_per_job if cpus_per_job is None else cpus_per_job,
            defaults.gpus_per_job if gpus_per_job is None else gpus_per_job,
            defaults.retries if retries is None else retries)
        job = Batch(in_dir, out_dir, config, jobs=jobs, overwrite=overwrite, fit_on_batch=fit_on_batch, limit=limit,
                    shuffle=shuffle, include=tuple(include or ()), fma_metadata=fma_metadata, report=report,
                    cache=not no_cache, cluster=on)
        if dry_run:
            plan = job.dry_run(throughput)
    except _usage_errors() as e:
        _fail(str(e), 2)
    except FATAL_ERRORS as e:  # no GL, no working ffmpeg, no cluster: found while planning, before any work
        _fail(f"{e}; nothing was rendered", STOPPED)
    if dry_run:
        if json_out:
            typer.echo(json.dumps(plan.as_dict()))
        else:
            for t in plan.plan[:10]:
                typer.echo(f"{t['input']} -> {t['output']}")
            if len(plan.plan) > 10:
                typer.echo(f"... and {len(plan.plan) - 10} more (--json lists them all)")
            for line in plan.lines():
                typer.echo(line, err=True)
        return
    progress = _progress(quiet)

    def on_track(r):
        from tqdm import tqdm

        if r.status == FAILED and not quiet:
            tqdm.write(f"failed {r.input}: {r.reason}", file=sys.stderr)
        elif r.status == DONE and not quiet and not progress:
            tqdm.write(f"rendered {r.output} in {r.seconds:.1f} s", file=sys.stderr)

    try:
        result = job.run(progress=progress, on_track=on_track)
    except KeyboardInterrupt:
        so_far = ""
        if job.result is not None:
            if json_out:
                typer.echo(json.dumps(job.result.as_dict()))
            s = job.result.summary()
            so_far = (f" with {s['done']} rendered, {s['skipped']} already complete, {s['failed']} failed and "
                      f"{s['interrupted']} not done")
        typer.echo(f"interrupted{so_far}; complete videos are kept, run the same command again to resume "
                   f"(report: {job.report_path})", err=True)
        raise typer.Exit(INTERRUPTED)
    except BatchStoppedError as e:
        if json_out and job.result is not None:
            typer.echo(json.dumps(job.result.as_dict()))
        _fail(str(e), STOPPED)
    s = result.summary()
    if json_out:
        typer.echo(json.dumps(result.as_dict()))
    elif not quiet:
        fitted = f", mapping fitted on the batch: {result.mapping}" if result.mapping else ""
        typer.echo(f"batch of {len(result.tracks)} tracks: {s['done']} rendered, {s['skipped']} already complete, "
                   f"{s['failed']} failed, in {result.seconds:.1f} s with {result.jobs} job(s){fitted}; "
                   f"report: {result.report}", err=True)
    if s["failed"]:
        raise typer.Exit(1)


@app.command()
@handles_errors
@takes(MAPPING_STATS, FPS, MOTION, SEED, DEVICE, ENCODING, CLIP, FORMAT, SETTINGS, usage_status=2)
def compare(
    audio: AudioArg,
    config: RenderConfig,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Video to write (default: ./<song>-compare.mp4, or the --codec's own suffix).")] = None,
    models: Annotated[str, typer.Option("--models", help="Models, comma-separated (names or .pt checkpoints; NAME@LAYER for a classifier's layer).")] = "ae,ae_shared,ae_skip",
    scenes: Annotated[str, typer.Option("--scenes", help="Scenes, comma-separated (see `audioviz scenes`).")] = "bar",
    mappings: Annotated[str, typer.Option("--mappings", help="Mapping methods, comma-separated: auto, raw, pca, kmeans, kmeans-pca.")] = "auto",
    layout: Annotated[str, typer.Option(help="Grid as COLUMNSxROWS, or auto (as square as the tile count allows).")] = "auto",
    tile_size: Annotated[Optional[str], typer.Option(help="Size of each tile, WIDTHxHEIGHT (default: the largest 16:9 tiles that fit --size).", show_default=False)] = None,
    size: Annotated[Optional[str], typer.Option(help="Size of the whole video, WIDTHxHEIGHT, the grid centred in it (default: 1280x720, or just the grid with --tile-size).", show_default=False)] = None,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
):
    """Render one video of AUDIO with a labelled tile for every model x mapping x scene."""
    from .compare import compare_file, parse_list, plan_layout
    from .config import MappingConfig, parse_size

    try:
        model_list, scene_list = parse_list(models, "models"), parse_list(scenes, "scenes")
        mapping_list = parse_list(mappings, "mappings")
        for m in mapping_list:
            MappingConfig(method=m)
        tile = parse_size(tile_size) if tile_size is not None else None
        frame = parse_size(size) if size is not None else None
        grid = plan_layout(model_list, mapping_list, scene_list, layout, tile, frame)
    except _usage_errors() as e:
        _fail(str(e), 2)
    result = compare_file(audio, output, models=model_list, scenes=scene_list, mappings=mapping_list,
                          layout=(grid.columns, grid.rows), tile=grid.tile, size=grid.size, config=config,
                          overwrite=overwrite, progress=_progress(quiet))
    if json_out:
        typer.echo(json.dumps(result.as_dict()))
    elif not quiet:
        typer.echo(f"wrote {result.output}: {len(result.tiles)} tiles of {result.tile} in {result.layout} "
                   f"({result.size}), {result.frames} frames, in {result.wall_seconds:.1f} s", err=True)


@app.command()
@handles_errors
def serve(
    music: Annotated[Optional[Path], typer.Option("--music", help="Folder of music the page lists, searched recursively (without it, songs come from uploads).", show_default=False)] = None,
    workdir: Annotated[Optional[Path], typer.Option("--workdir", help="Folder of the results and uploads (default: serve/ in the cache, $AUDIOVIZ_CACHE or ~/.cache/audioviz).", show_default=False)] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 0.0.0.0 serves every network this machine is on (the playground has no password: it warns).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free one).")] = 8765,
    max_upload: Annotated[str, typer.Option("--max-upload", metavar="SIZE", help="Largest song an upload may be, e.g. 200M or 1G.")] = "200M",
    max_workdir: Annotated[str, typer.Option("--max-workdir", metavar="SIZE", help="Size cap of the work folder: the results and uploads used longest ago are removed to keep under it.")] = "5G",
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Renders and comparisons at once, each in a worker process of its own (previews have a worker of their own besides).")] = 1,
    model: Annotated[Optional[list[Path]], typer.Option("--model", "-m", help="Also offer this model checkpoint (.pt, or a training run's folder) on the page; repeat for more.", show_default=False)] = None,
    allow_host: Annotated[Optional[list[str]], typer.Option("--allow-host", metavar="NAME", help="Also answer requests that name this server NAME (a reverse proxy's, say); repeat for more. Any other name is refused, against DNS rebinding.", show_default=False)] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the web browser.")] = False,
):
    """Serve the playground: a page where you pick a song and try models, mappings and scenes
    by watching previews, then render, compare and download (pip install 'audioviz[serve]')."""
    from .serve import serve as run_server
    from .serve.store import parse_bytes

    run_server(music=music, workdir=workdir, host=host, port=port, max_upload=parse_bytes(max_upload, "--max-upload"),
               max_workdir=parse_bytes(max_workdir, "--max-workdir"), jobs=jobs, models=tuple(model or ()),
               allow_hosts=tuple(allow_host or ()), open_browser=open_browser)


def _usage_line(e: typer.TyperException) -> str:
    """typer's usage error (several lines: usage, a hint, the error) as one line."""
    message = " ".join(e.format_message().split()).rstrip(".")
    ctx = getattr(e, "ctx", None)
    return f"{message}; see `{ctx.command_path} --help`" if ctx is not None else message


def main() -> None:
    from .console import setup

    setup()  # output that nobody reads any more never stops the work; warnings in one line
    try:
        code = app(standalone_mode=False)  # typer's own errors are said below, in one line
    except typer.TyperException as e:  # a usage error: an unknown option, a missing argument, ...
        typer.echo(f"error: {_usage_line(e)}", err=True)
        code = getattr(e, "exit_code", 2)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        code = 1
    if code == INTERRUPTED:
        # Stopped cleanly: ffmpeg is reaped, temporary files are gone, a batch's report is
        # written. The interpreter's own teardown (seconds once torch is loaded) has nothing
        # left to do, and a user who pressed Ctrl-C wants the prompt back now.
        from .quick_exit import quick_exit

        quick_exit(INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)
