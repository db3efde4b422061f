"""What a trial is and what it scores: one run of `audioviz train`'s loop (make_trainer, in a
run folder of its own), judged after each epoch so that a pruner can stop it, and scored by the
epoch whose weights it leaves (its best.pt).

- Autoencoders: the validation MSE of reconstructions from the code alone (pool indices and
  skips closed), lower is better. An epoch whose code's spread (the mean over components of
  each one's standard deviation over the validation segments) is below the floor scores no
  better than predicting the mean training segment: a code that collapsed carries nothing,
  whatever its reconstructions score.
- Genre classifiers: the track-level accuracy on the held-out validation tracks (the share of
  them whose segments' majority vote is their genre), higher is better. FMA's test split is
  never looked at to choose; it is reported beside.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import AudiovizError, DiskFullError
from ..extract.models import VARIANTS

INTERRUPTED = "interrupted (Ctrl-C or SIGTERM)"
DEFAULT_MIN_CODE_STD = 0.05  # a quarter of the bundled autoencoders' (0.18 to 0.21)


@dataclass(frozen=True)
class Objective:
    model: str
    min_code_std: float = DEFAULT_MIN_CODE_STD  # autoencoders
    baseline: float = math.nan  # autoencoders: validation MSE of predicting the mean segment

    @property
    def autoencoder(self) -> bool:
        return self.model in VARIANTS

    @property
    def direction(self) -> str:
        return "minimize" if self.autoencoder else "maximize"

    @property
    def name(self) -> str:
        return "validation MSE from the code alone" if self.autoencoder else "held-out track accuracy"

    def better(self, a: float, b: float) -> bool:
        return a < b if self.autoencoder else a > b

    def score(self, figures: dict) -> float:
        """An epoch's score from its figures (a row of the run's history)."""
        if not self.autoencoder:
            return float(figures["val_track_acc"])
        mse = float(figures["val_code_only"])
        if not float(figures["code_std"]) >= self.min_code_std:  # NaN too
            return max(mse, self.baseline) if math.isfinite(mse) else mse
        return mse

    def describe(self) -> str:
        if self.autoencoder:
            return (f"minimise the validation MSE from the code alone (inputs in [0, 1]) of the epoch each trial "
                    f"keeps; an epoch whose code's spread (mean per-component standard deviation over the "
                    f"validation segments) is below {self.min_code_std:g} scores no better than predicting the "
                    f"mean training segment ({self.baseline:.6f})")
        return ("maximise the held-out track-level accuracy (validation tracks whose segments' majority vote is "
                "their genre) of the epoch each trial keeps; a test split is never used to choose")


@dataclass(frozen=True)
class TrialJob:
    """Everything a trial needs, as plain data (it travels to a Ray task)."""

    number: int
    trial_id: int
    data_dir: str
    run_dir: str
    cache_dir: str
    model: str
    preset: str
    options: dict  # make_trainer's options: the study's settings and the trial's parameters
    objective: Objective

    @property
    def epochs(self) -> int:
        return self.options["epochs"]


@dataclass
class Outcome:
    state: str  # complete, pruned, failed or interrupted
    value: float = math.nan  # the objective, for complete and pruned trials
    reason: str = ""  # why it failed, or after which epoch it was pruned
    attrs: dict = field(default_factory=dict)  # what the study records beside: figures, best epoch, seconds
    fatal: bool = False  # a fault of the machine (disk full) that every later trial would meet too


class Diverged(AudiovizError):
    pass


def why_failed(e: BaseException) -> str:
    """A failed trial's reason, in one line."""
    text = " ".join(str(e).split())
    first = text[:300] if text else type(e).__name__
    if isinstance(e, MemoryError):
        return "out of memory (host)"
    if type(e).__name__ == "OutOfMemoryError" or (isinstance(e, RuntimeError) and "out of memory" in text.lower()):
        return f"out of memory on the GPU ({first[:200]})"
    if isinstance(e, AudiovizError):
        return first
    return f"{type(e).__name__}: {first}"


def _free_gpu() -> None:
    import torch

    with contextlib.suppress(RuntimeError):  # nothing to free is fine
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def run_trial(job: TrialJob, report: Callable[[int, float], bool], progress: bool = False) -> Outcome:
    """Train the trial's run (resuming its run folder when it has one) and score it. `report`
    takes each epoch's (number, score) and says whether the trial should stop there (pruned).
    Any exception of the training is a failed Outcome with its reason; Ctrl-C an interrupted
    one (last.pt holds the epochs done, so a continuation resumes from there)."""
    from ..training import make_trainer

    objective, t0 = job.objective, time.monotonic()
    reported: dict[int, float] = {}
    stopped: list[int] = []

    def report_history(history: list[dict]) -> bool:
        prune = False
        for h in history:
            epoch = int(h["epoch"])
            if epoch in reported:
                continue
            reported[epoch] = score = objective.score(h)
            if not math.isfinite(score):
                raise Diverged(f"diverged: epoch {epoch}'s {objective.name} is {score} (too high a learning rate?)")
            prune = report(epoch, score)
        return prune

    def on_epoch(epoch: int, state: dict) -> bool:
        prune = report_history(state["history"])
        if prune and epoch < job.epochs:  # pruning at the last epoch would save nothing
            stopped.append(epoch)
            return True
        return False

    def attrs() -> dict:
        return {"seconds": round(time.monotonic() - t0, 1), "run_dir": job.run_dir}

    try:
        trainer = make_trainer(job.data_dir, job.run_dir, job.model, job.preset, progress=progress, **job.options)
        trainer.cache_dir = type(trainer.run_dir)(job.cache_dir)
        trainer.on_epoch = on_epoch
        summary = trainer.run()
        state = trainer.state
        report_history(state["history"])  # a run that was complete already: its epochs were never reported
    except KeyboardInterrupt:
        return Outcome("interrupted", reason=INTERRUPTED, attrs=attrs())
    except Exception as e:  # noqa: BLE001 - a trial's failure is recorded, never the study's end
        _free_gpu()
        return Outcome("failed", reason=why_failed(e), attrs=attrs(), fatal=isinstance(e, DiskFullError))
    best = int(state["best_epoch"])
    row = {h["epoch"]: h for h in state["history"]}[best]
    value = objective.score(row)
    info = {**attrs(), "best_epoch": best, "epochs_run": int(state["epoch"]),
            "figures": {k: round(float(v), 6) for k, v in row.items() if k != "epoch"}}
    for key in ("test_track_acc", "test_acc", "val_balanced_track_acc", "test_balanced_track_acc", "mean_baseline"):
        if key in summary:
            info[key] = summary[key]
    if stopped:
        return Outcome("pruned", value, f"pruned after epoch {stopped[0]} of {job.epochs}", info)
    return Outcome("complete", value, attrs=info)
