"""The training loop every family of models runs, resumably, in a run folder.

A run folder holds `config.json` (what was asked), `cache/` (MFCC segments per track),
`last.pt` (everything needed to continue: weights, optimizer, input normalisation, position in
the epoch; written every 5 minutes, after each epoch and on Ctrl-C), `best.pt` (the best epoch
so far, a checkpoint `--model` can load), `log.csv` (a row an epoch) and what the family
writes when training ends (fitted mappings, `model.md`). Running the same command again
continues where the last run stopped.
"""

from __future__ import annotations

import copy
import math
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from ..errors import AudiovizError, TrainingError
from ..extract import checkpoint
from ..extract.features import normalise, resolve_device
from ..extract.frontend import FrontendConfig
from .contrast import partners, training_segments
from .dataset import Corpus
from .run_folder import append_log, read_last, resume

SAVE_EVERY_S = 300  # a long epoch survives a crash too
# features of at most this many segments (evenly spread over the corpus) fit each layer's mapping
MAPPING_SEGMENTS = 50_000


@dataclass(frozen=True)
class Epoch:
    """What a family makes of the network after an epoch."""

    score: object  # what picks the best epoch (see `TrainingLoop.improves`)
    figures: dict[str, float]  # the epoch's results: the state's history and log.csv keep them
    line: str  # the same for the progress line


class TrainingLoop(ABC):
    """A run of one family of models. The family (a subclass) gives its data, network, batch
    step and evaluation; the loop runs the epochs, resumes, saves and keeps the best epoch."""

    # the training state's entry for the best score so far (last.pt keeps it under this
    # name) and its value before the first epoch, copied into each run's state
    best_entry: ClassVar[str]
    no_best: ClassVar[object]
    # log.csv's columns between "epoch" and "seconds" (keys of `Epoch.figures`), with the
    # format each is written in
    log_columns: ClassVar[dict[str, str]]

    def __init__(self, data_dir: str | os.PathLike, run_dir: str | os.PathLike, config, progress: bool = True):
        self.data_dir, self.run_dir, self.config = Path(data_dir), Path(run_dir), config
        self.progress = progress
        self.device = resolve_device(config.device)
        self.frontend = FrontendConfig()
        # where the MFCC segments are cached: the run folder's own, unless the caller shares one
        # among runs of the same data (`audioviz tune` does, for its trials)
        self.cache_dir = self.run_dir / "cache"
        # called after each epoch, once last.pt holds it, with the epoch's number (from 1) and
        # the run's state; returning True ends the run there as if its epochs were done (the
        # best epoch so far is finished as usual). `audioviz tune` prunes trials with it.
        self.on_epoch: Callable[[int, dict], bool] | None = None
        self.state: dict = {}  # the run's state (epoch, best, history), once `run` has begun
        self.short = 0  # files left out as shorter than --min-seconds
        self.folders: list[str] = []  # the data folder's sub-folders that gave segments, once `run` has begun

    # -- what a family gives ------------------------------------------------------------------
    @abstractmethod
    def prepare(self) -> Corpus:
        """Check the data, make the run folder (`check_run_folder`), cache the corpus (`cache`).
        What can be checked without the run folder is checked first, so that a typo leaves none."""

    def cache_corpus(self) -> Corpus:
        """Check the data and cache it in `cache_dir`, without making the run folder: what
        `audioviz tune` does once, before the trials that share the cache."""
        raise NotImplementedError

    @abstractmethod
    def network(self) -> torch.nn.Module:
        """The network, initialised at random (the loop has seeded torch)."""

    @abstractmethod
    def optimizer(self, net: torch.nn.Module) -> torch.optim.Optimizer: ...

    @abstractmethod
    def start(self, net: torch.nn.Module, corpus: Corpus, state: dict) -> dict:
        """A run with no last.pt: its input normalisation, with any initial weights loaded."""

    def check_resumable(self, ck: dict) -> None:
        """TrainingError when last.pt (`ck`) belongs to a run of other data."""

    def last_extra(self) -> dict:
        """What last.pt holds besides weights, optimizer, input normalisation and state."""
        return {}

    def begin_epoch(self, rng: np.random.Generator, steps: int) -> None:
        """Called before each epoch; `rng` has drawn the epoch's batch order."""

    @abstractmethod
    def train_step(self, net: torch.nn.Module, x: torch.Tensor, pairs: np.ndarray, step: int) -> torch.Tensor:
        """The loss of a batch: `x` the normalised inputs of the (track, segment) `pairs`."""

    @abstractmethod
    def postfix(self, loss: float) -> dict[str, str]:
        """The progress bar's figures; `loss` is the mean over the last 50 batches."""

    @abstractmethod
    def end_epoch(self, net: torch.nn.Module, corpus: Corpus, pairs: np.ndarray, norm: dict, train_loss: float) -> Epoch:
        """Evaluate the network on `pairs` (the held-out segments, or the training ones when
        the corpus holds out none)."""

    @abstractmethod
    def improves(self, score, best) -> bool:
        """Whether an epoch's `score` beats the best so far."""

    @abstractmethod
    def save_best(self, net: torch.nn.Module, norm: dict, state: dict) -> None:
        """Write best.pt from the network as it is now."""

    @abstractmethod
    def finish(self, net: torch.nn.Module, corpus: Corpus, norm: dict, best: dict, state: dict) -> dict:
        """Training is over and `net` holds the best epoch's weights (`best` is best.pt): write
        what the run leaves besides, and return its summary."""

    # -- for the family -----------------------------------------------------------------------
    def cache(self, files: list[Path], splits: dict[str, str] | None = None) -> Corpus:
        """The corpus of `files` in the run folder's cache, split by `splits` (see `Corpus.prepare`)."""
        cfg = self.config
        return Corpus.prepare(self.data_dir, self.cache_dir, self.frontend, cfg.val_fraction, cfg.seed,
                              cfg.max_segments_per_track or None, self.progress, files=files, splits=splits)

    def long_enough(self, files: list[Path]) -> list[Path]:
        """`files` but those that last less than --min-seconds (counted in `short`). A file whose
        length is unknown is kept, for decoding to judge. Called before the run folder is made."""
        from ..audio import probe

        if not self.config.min_seconds:
            return files

        def seconds(f: Path) -> float:
            try:
                return probe(f).duration or math.inf
            except AudiovizError:
                return math.inf

        kept = [f for f in files if seconds(f) >= self.config.min_seconds]
        self.short = len(files) - len(kept)
        if files and not kept:
            raise TrainingError(f"{self.data_dir}: none of its {len(files)} audio files lasts --min-seconds "
                                f"{self.config.min_seconds:g} s or more")
        return kept

    def inputs(self, corpus: Corpus, pairs: np.ndarray, norm: dict) -> torch.Tensor:
        """The normalised network inputs of (track, segment) `pairs`, on the device."""
        return normalise(torch.from_numpy(corpus.batch(pairs)).to(self.device), norm)

    def batches(self, corpus: Corpus, pairs: np.ndarray, norm: dict, size: int = 256) -> Iterator[torch.Tensor]:
        for i in range(0, len(pairs), size):
            yield self.inputs(corpus, pairs[i : i + size], norm)

    @torch.inference_mode()
    def layer_features(self, net, corpus: Corpus, norm: dict) -> dict[str, np.ndarray]:
        """Features of every feature layer for (at most MAPPING_SEGMENTS of) the corpus's segments."""
        pairs = np.concatenate([corpus.indices(s) for s in ("train", "val", "test")])
        if len(pairs) > MAPPING_SEGMENTS:
            pairs = pairs[np.linspace(0, len(pairs) - 1, MAPPING_SEGMENTS).round().astype(int)]
        out: dict[str, list[np.ndarray]] = {layer: [] for layer in net.layers}
        net.eval()
        for x in self.batches(corpus, pairs, norm):
            for layer in net.layers:
                out[layer].append(net.encode(x, layer).float().cpu().numpy())
        return {layer: np.concatenate(v) for layer, v in out.items()}

    def partner_inputs(self, pairs: np.ndarray, step: int) -> torch.Tensor:
        """The inputs of another training segment of each pair's track (see contrast.py),
        drawn the same way when a run resumes mid-epoch."""
        rng = np.random.default_rng([self.config.seed, self._epoch, step, 1])
        return self.inputs(self._corpus, partners(self._segments, pairs, rng), self._norm)

    def on_device(self, norm: dict) -> dict:
        """Input normalisation with its statistics on the device."""
        return {k: (v.to(self.device) if isinstance(v, torch.Tensor) else v) for k, v in norm.items()}

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> dict:
        from tqdm import tqdm

        from ..progress import bar as progress_bar

        cfg = self.config
        corpus = self.prepare()
        self.folders = list(corpus.folders())  # best.pt names them (benchmarks refuse to test on them)
        train_pairs, val_pairs = corpus.indices("train"), corpus.indices("val")
        torch.manual_seed(cfg.seed)
        net = self.network().to(self.device)
        opt = self.optimizer(net)
        state = {"epoch": 0, "step": 0, self.best_entry: copy.copy(self.no_best), "best_epoch": -1, "history": [], "seconds": 0.0}
        self.state = state
        last = self.run_dir / "last.pt"
        ck = read_last(last, self.device)
        if ck is not None:
            self.check_resumable(ck)
            norm = resume(last, ck, net, opt, state, self.frontend)
        else:
            norm = self.start(net, corpus, state)
        norm_dev = self.on_device(norm)
        self._corpus, self._norm, self._segments = corpus, norm_dev, training_segments(train_pairs)

        def save_last() -> None:
            checkpoint.save({"state_dict": net.state_dict(), "optimizer": opt.state_dict(), "norm": norm,
                             **self.last_extra(), "state": state}, last)

        steps = math.ceil(len(train_pairs) / cfg.batch_size)
        last_save = time.monotonic()
        try:
            while state["epoch"] < cfg.epochs:
                epoch = self._epoch = state["epoch"]
                rng = np.random.default_rng([cfg.seed, epoch])
                order = rng.permutation(len(train_pairs))
                self.begin_epoch(rng, steps)
                net.train()
                t0, losses = time.monotonic(), []
                bar = progress_bar(total=steps, initial=state["step"], desc=f"epoch {epoch + 1}/{cfg.epochs}",
                                   unit="batch", disable=not self.progress)
                for step in range(state["step"], steps):
                    pairs = train_pairs[order[step * cfg.batch_size : (step + 1) * cfg.batch_size]]
                    loss = self.train_step(net, self.inputs(corpus, pairs, norm_dev), pairs, step)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
                    state["step"] = step + 1
                    bar.update(1)
                    bar.set_postfix(self.postfix(float(np.mean(losses[-50:]))))
                    if time.monotonic() - last_save > SAVE_EVERY_S:
                        save_last()
                        last_save = time.monotonic()
                bar.close()
                train_loss = float(np.mean(losses)) if losses else float("nan")
                # a corpus without held-out tracks is judged on its training tracks
                result = self.end_epoch(net, corpus, val_pairs if len(val_pairs) else train_pairs, norm_dev, train_loss)
                state["seconds"] += time.monotonic() - t0
                improved = self.improves(result.score, state[self.best_entry])
                append_log(self.run_dir, {
                    "epoch": epoch + 1, **{k: format(result.figures[k], f) for k, f in self.log_columns.items()},
                    "seconds": f"{time.monotonic() - t0:.1f}", "best": int(improved),
                })
                state["history"].append({"epoch": epoch + 1, **result.figures})
                # the epoch is done: from here on an interruption resumes with the next one
                state["epoch"], state["step"] = epoch + 1, 0
                if improved:
                    state[self.best_entry], state["best_epoch"] = result.score, epoch + 1
                    self.save_best(net, norm, state)
                if self.progress:
                    tqdm.write(f"epoch {epoch + 1}: {result.line}{'  (best)' if improved else ''}")
                save_last()
                last_save = time.monotonic()
                if self.on_epoch is not None and self.on_epoch(epoch + 1, state):
                    break
        except KeyboardInterrupt:
            save_last()
            raise
        best_path = self.run_dir / "best.pt"
        if not best_path.exists():  # every epoch's loss was NaN: nothing was ever better
            raise TrainingError(f"{self.run_dir}: no epoch gave a finite validation loss, so there is no best model; "
                                "try a lower --lr")
        best = checkpoint.load(best_path, self.device)
        net.load_state_dict(best["state_dict"])
        net.eval()
        return self.finish(net, corpus, norm, best, state)
