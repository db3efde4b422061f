"""How a video was made: the record every video carries in its metadata (a JSON `comment`),
read back by `render --like`, and the per-frame sidecar (`--sidecar`).

The settings are keyed by the command line's option names (`x264-params`, `no-interpolate`),
so that a record, a `--config` file and the command line speak the same language. A
comparison's record (`audioviz compare`) lists its tiles, each with what a render's record
says of its model, and holds the settings the tiles share under `compare`'s option names.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import numpy as np

from . import __version__, ffmpeg
from .config import RenderConfig
from .errors import InputError
from .tags import ffmetadata_value

# the key audioviz's record sits under in the video's JSON comment
KEY = "audioviz"
# what a record names that is the song's own, not a look: --like leaves them to the new song,
# and the words and cover too where they were given, not read from the song (auto)
SONG_OWN = ("start", "duration")
SONG_WORDS = ("title", "artist", "cover")
TITLES = (*SONG_WORDS, "logo", "logo-position", "text-style")
# what each tile of a comparison has of its own; a comparison draws no overlay and no titles
TILE_OWN = ("model", "layer", "scene", "mapping", "overlay", *TITLES)


def settings(config: RenderConfig) -> dict:
    """The options that made `config`, by their command-line names (`render`'s)."""
    c, v, e, t, m = config, config.video, config.encoder, config.timeline, config.mapping
    return {
        "model": c.model, "layer": c.layer, "scene": c.scene, "seed": c.seed,
        "mapping": m.method, "scaler": m.scaler, "scaling": m.scaling, "order": m.order, "fit": m.fit,
        "size": f"{v.width}x{v.height}", "fps": str(v.fps),
        "smoothing": t.smoothing, "no-interpolate": not t.interpolate, "hop": t.hop, "pulse": t.pulse,
        "energy": t.energy, "codec": e.video_codec, "crf": e.crf, "preset": e.preset, "x264-params": e.x264_params,
        "alpha": e.alpha,
        "overlay": c.overlay, "start": c.start, "duration": c.duration,
        "title": c.titles.title, "artist": c.titles.artist, "cover": c.titles.cover, "logo": c.titles.logo,
        "logo-position": c.titles.logo_position, "text-style": c.titles.style,
    }


def record(config: RenderConfig, layer: str, model_digest: str, encoder: str) -> dict:
    """What a video carries: the audioviz that made it, the model by name and by the digest of
    what decides its features, the encoder that ran, and every setting."""
    return {KEY: __version__, "model": config.model, "model_digest": model_digest, "layer": layer,
            "encoder": encoder, "settings": {k: v for k, v in settings(config).items() if v is not None}}


def compare_record(config: RenderConfig, tiles: list[dict], layout: str, tile: str, encoder: str) -> dict:
    """What a comparison video carries: the audioviz that made it, its `tiles` (each its label,
    model by name and digest, layer, mapping and scene, in grid order), the encoder that ran, and
    the settings every tile shares, with the grid's `layout` and `tile` size."""
    shared = {k: v for k, v in settings(config).items() if k not in TILE_OWN and v is not None}
    return {KEY: __version__, "encoder": encoder, "tiles": tiles,
            "settings": {**shared, "layout": layout, "tile-size": tile}}


def look(rec: dict) -> dict:
    """The settings of a record that another song takes with `--like`."""
    return {k: v for k, v in rec["settings"].items()
            if k not in SONG_OWN and not (k in SONG_WORDS and v != "auto")}


def comment(rec: dict) -> str:
    return json.dumps(rec, separators=(",", ":"), sort_keys=True)


def read_record(video: str | os.PathLike) -> dict:
    """The record a video audioviz wrote carries, a render's or a comparison's; InputError for
    a file that has none."""
    path = Path(video)
    if not path.is_file():
        raise InputError(f"{path}: no such video")
    run = subprocess.run([ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error",
                          "-i", "file:" + str(path.absolute()), "-f", "ffmetadata", "-"],
                         capture_output=True, timeout=60)
    text = run.stdout.decode("utf-8", "replace")
    value = ffmetadata_value(text, "comment") if run.returncode == 0 else None
    try:
        rec = json.loads(value) if value else None
    except json.JSONDecodeError:
        rec = None
    if not isinstance(rec, dict) or KEY not in rec or not isinstance(rec.get("settings"), dict):
        why = "ffmpeg cannot read it" if run.returncode else "it carries no audioviz settings"
        raise InputError(f"{path}: {why}; --like takes a video that audioviz made")
    return rec


def read(video: str | os.PathLike) -> dict:
    """The record of a video `audioviz render` made, whose settings --like takes; InputError for
    a file that has none, and for a comparison, which shows several looks rather than one."""
    rec = read_record(video)
    if "tiles" in rec:
        raise InputError(f"{video}: is a comparison (`audioviz compare`), not a render; --like takes the "
                         "settings of a video that `audioviz render` made")
    return rec


def write_sidecar(path: Path, motion, names: tuple[str, ...]) -> None:
    """The frames' parameters (named as the scene names them), pulse, beat phase, onset count
    and loudness gain: a CSV with a header row, or JSON (columns as lists) for a .json path."""
    columns = {"time": motion.time, **{n: motion.values[:, i] for i, n in enumerate(names)},
               "pulse": motion.pulse, "beat": motion.beat, "onsets": motion.count, "energy": motion.energy}
    if path.suffix.lower() == ".json":
        data = {k: np.round(np.asarray(v, dtype=np.float64), 6).tolist() for k, v in columns.items()}
        data["onsets"] = np.asarray(motion.count).astype(int).tolist()
        path.write_text(json.dumps({"frames": len(motion), **data}), encoding="utf-8")
        return
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns)
        rows = np.column_stack([np.asarray(v, dtype=np.float64) for v in columns.values()])
        for row in rows:
            w.writerow([f"{x:.6g}" for x in row])
