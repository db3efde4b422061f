"""What a run folder holds besides the weights, read and written: `config.json` (the run's
settings, which a rerun must share), `last.pt` (where the run stands) and `log.csv` (a row an
epoch)."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict
from pathlib import Path

from ..errors import ModelError, TrainingError
from ..extract import checkpoint
from ..extract.features import check_norm
from ..extract.frontend import FrontendConfig
from ..files import atomic_write, durable_bytes, regular_file

CHECKPOINTS = ("last.pt", "best.pt")


def make_folder(folder: Path, what: str, if_file: str) -> None:
    """Make `folder` and its parents; TrainingError, one line, when it cannot be: `what` names
    it, `if_file` says what to do when a file stands there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise TrainingError(f"{folder}: is a file{if_file}") from None
    except OSError as e:
        raise TrainingError(f"{folder}: cannot make {what} there ({e.strerror})") from None


def check_run_folder(run_dir: Path, config, extra: dict) -> None:
    """Make the run folder, refuse one that holds a run of other settings, record the settings.

    `config` is a frozen dataclass with `differences(other)`; config.json keeps it under
    "train", with `extra` beside it. Only a run with a checkpoint holds settings: a folder
    where training failed before its first save (no audio, a typo in an option) takes new
    ones, its config.json replaced and its log started afresh.
    """
    make_folder(run_dir, "the run folder", ", not a folder; give -o a folder for the run")
    cfg_path = run_dir / "config.json"
    if any(os.path.lexists(run_dir / name) for name in CHECKPOINTS):
        if not os.path.lexists(cfg_path):
            raise TrainingError(f"{run_dir} holds checkpoints but no config.json; use a new output folder")
        old = _recorded(cfg_path, type(config))
        if old is None:
            raise TrainingError(f"{run_dir} holds another kind of run; use a new output folder")
        diff = old.differences(config)
        if diff:
            raise TrainingError(
                f"{run_dir} holds a run with other settings ({', '.join(diff)}); "
                "use a new output folder or the same options"
            )
    else:
        (run_dir / "log.csv").unlink(missing_ok=True)  # rows of epochs whose weights were never saved
    text = json.dumps({"train": asdict(config), **extra}, indent=2) + "\n"
    with atomic_write(cfg_path, "run settings") as tmp:
        durable_bytes(tmp, text.encode())


def _recorded(cfg_path: Path, kind: type):
    """The settings config.json records, as a `kind`, or None when it holds no such thing."""
    try:
        regular_file(cfg_path, "config.json", TrainingError)  # a FIFO would be read forever
        return kind(**json.loads(cfg_path.read_text(encoding="utf-8"))["train"])
    except (KeyError, TypeError, ValueError, OSError, RecursionError, TrainingError):
        return None


def read_last(last: Path, device) -> dict | None:
    """What last.pt holds (None when there is none yet), checked to be a training checkpoint:
    TrainingError, one line, otherwise."""
    if not os.path.lexists(last):
        return None
    try:
        ck = checkpoint.read(last, map_location=device)
    except ModelError as e:
        raise TrainingError(f"{e}; delete it to start the run over, or use a new output folder") from None
    if not isinstance(ck, dict) or not {"state_dict", "optimizer", "norm", "state"} <= set(ck):
        raise TrainingError(f"{last}: not a training checkpoint of audioviz; delete it to start the run over, "
                            "or use a new output folder")
    return ck


def resume(last: Path, ck: dict, net, opt, state: dict, frontend: FrontendConfig) -> dict:
    """Load a run's last.pt (`ck`) into the network, optimizer and `state`; returns its input
    normalisation. TrainingError when it does not fit this run."""
    try:
        saved = ck["state"]
        if not isinstance(saved, dict) or not all(type(saved.get(k)) is int and saved[k] >= 0 for k in ("epoch", "step")) \
                or not isinstance(saved.get("history", []), list):
            raise ValueError("its training state is malformed")
        norm = check_norm(ck["norm"], frontend.n_mfcc)
        net.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as e:
        why = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise TrainingError(f"{last}: cannot resume from it ({why}); delete it to start the run over, "
                            "or use a new output folder") from None
    state.update(saved)
    return norm


def append_log(run_dir: Path, row: dict) -> None:
    """One row of log.csv (the header comes with the first)."""
    path = run_dir / "log.csv"
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)
