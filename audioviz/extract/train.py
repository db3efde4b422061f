"""Train an autoencoder on a folder of music, resumably (`make_trainer` also dispatches the genre
classifiers to train_classifier.py).

A run folder holds `config.json` (what was asked), `cache/` (MFCC segments per track),
`last.pt` (everything needed to continue: weights, optimizer, position in the epoch),
`best.pt` (the best model by validation loss, a checkpoint `--model` can load), `log.csv`,
`mapping.npz` (the fitted mapping) and `model.md` (a model card). Running the same command
again continues where the last run stopped.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import shlex
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelError, TrainingError
from ..files import atomic_write, durable_bytes, regular_file
from ..mapping.fitted import FittedMapping
from . import checkpoint
from .corpus import Corpus, audio_files
from .features import normalise, resolve_device
from .frontend import FrontendConfig
from .models import COMPACT, PAPER, VARIANTS, AEConfig, ConvAutoencoder

# A smoke-test size: trains in seconds, for checking a pipeline end to end (and for the tests).
TINY = AEConfig(num_init_filters=4, num_pools=2, num_fc=2, fc_scale_down=32, code_norm=True)

PRESETS = {
    # the paper's tuned setting (about 80-160 MB of weights)
    "paper": dict(ae=PAPER, optimizer="sgd", lr=2.5e-4, momentum=0.95, batch_size=64, epochs=40, bypass_dropout=0.0),
    # the bundled models: the same architecture, narrower, trained with Adam to converge on a
    # CPU, with half the batches forced through the code (see ConvAutoencoder.forward)
    "compact": dict(ae=COMPACT, optimizer="adam", lr=1e-3, momentum=0.9, batch_size=64, epochs=20, bypass_dropout=0.5),
    "tiny": dict(ae=TINY, optimizer="adam", lr=1e-3, momentum=0.9, batch_size=16, epochs=2, bypass_dropout=0.5),
}


# Bounds of the numeric training options: wide enough for any real run, narrow enough that a
# typo (an lr of nan, a batch of a billion, a negative seed) is refused before any work
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 65_536
MAX_SEED = 2**63 - 1  # what torch.manual_seed and numpy's generators take


def check_whole(what: str, value, lo: int, hi: int) -> None:
    """TrainingError unless `value` is an int (not a bool) from `lo` to `hi`."""
    if type(value) is not int or not lo <= value <= hi:
        raise TrainingError(f"{what} must be a whole number from {lo} to {hi}, not {value!r}")


def check_real(what: str, value, lo: float, hi: float, *, above: bool = False, below: bool = False) -> None:
    """TrainingError unless `value` is a finite number from `lo` (or `above` it) to `hi` (or
    `below` it): nan and inf compare false with everything, so they are named here."""
    ok = type(value) in (int, float) and math.isfinite(value) and (lo < value if above else lo <= value) and (
        value < hi if below else value <= hi)
    if not ok:
        lower, upper = f"{'above' if above else 'at least'} {lo:g}", f"{'below' if below else 'at most'} {hi:g}"
        raise TrainingError(f"{what} must be a number {lower} and {upper}, not {value!r}")


def check_common(cfg) -> None:
    """The numeric options both kinds of training take (TrainConfig, ClassifierTrainConfig)."""
    check_whole("--epochs", cfg.epochs, 1, MAX_EPOCHS)
    check_whole("--batch-size", cfg.batch_size, 1, MAX_BATCH_SIZE)
    check_real("--lr", cfg.lr, 0, 1, above=True)
    check_real("momentum", cfg.momentum, 0, 1, below=True)
    check_real("--val-fraction", cfg.val_fraction, 0, 1, above=True, below=True)
    check_whole("--max-segments-per-track", cfg.max_segments_per_track, 0, 2**31 - 1)
    check_whole("--seed", cfg.seed, 0, MAX_SEED)
    if cfg.optimizer not in ("sgd", "adam"):
        raise TrainingError(f"optimizer {cfg.optimizer!r} is not sgd or adam")
    if not isinstance(cfg.device, str):
        raise TrainingError(f"device {cfg.device!r} is not a device name")


@dataclass(frozen=True)
class TrainConfig:
    model: str = "ae_shared"
    preset: str = "compact"
    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    val_fraction: float = 0.1
    max_segments_per_track: int = 0  # 0: all
    bypass_dropout: float = 0.5  # share of batches trained without pool indices and skips
    seed: int = 0
    device: str = "auto"

    @classmethod
    def from_preset(cls, preset: str = "compact", **overrides) -> TrainConfig:
        if preset not in PRESETS:
            raise TrainingError(f"preset {preset!r} is not one of: {', '.join(PRESETS)}")
        p = {k: v for k, v in PRESETS[preset].items() if k != "ae"}
        return cls(preset=preset, **{**p, **{k: v for k, v in overrides.items() if v is not None}})

    def __post_init__(self) -> None:
        if self.model not in VARIANTS:
            raise TrainingError(f"model {self.model!r} cannot be trained here; choose one of {', '.join(VARIANTS)}")
        if self.preset not in PRESETS:
            raise TrainingError(f"preset {self.preset!r} is not one of: {', '.join(PRESETS)}")
        check_common(self)
        check_real("--bypass-dropout", self.bypass_dropout, 0, 1)

    @property
    def ae_config(self) -> AEConfig:
        return replace(PRESETS[self.preset]["ae"], variant=self.model)

    def differences(self, other: TrainConfig) -> list[str]:
        """Settings that differ; a run continues with more epochs or on another device only."""
        return [k for k, v in asdict(self).items() if k not in ("epochs", "device") and getattr(other, k) != v]


CHECKPOINTS = ("last.pt", "best.pt")


def check_run_folder(run_dir: Path, config, extra: dict) -> None:
    """Make the run folder, refuse one that holds a run of other settings, record the settings.

    `config` is a frozen dataclass with `differences(other)`; config.json keeps it under
    "train", with `extra` beside it. Only a run with a checkpoint holds settings: a folder
    where training failed before its first save (no audio, a typo in an option) takes new
    ones, its config.json replaced and its log started afresh.
    """
    _make_run_folder(run_dir)
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


def _make_run_folder(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise TrainingError(f"{run_dir}: is a file, not a folder; give -o a folder for the run") from None
    except OSError as e:
        raise TrainingError(f"{run_dir}: cannot make the run folder there ({e.strerror})") from None


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
    from .features import check_norm

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


def _norm_stats(corpus: Corpus, rng: np.random.Generator, n: int = 2000) -> dict:
    """Per-coefficient 0.5 / 99.5 percentiles: min-max scaling that one click of noise cannot skew."""
    pairs = corpus.indices("train")
    pick = pairs[rng.choice(len(pairs), size=min(n, len(pairs)), replace=False)]
    x = corpus.batch(pick)[:, 0]  # (n, 64, 96)
    per_coeff = x.transpose(1, 0, 2).reshape(x.shape[1], -1)
    lo, hi = np.percentile(per_coeff, [0.5, 99.5], axis=1)
    return {"kind": "minmax", "lo": torch.tensor(lo, dtype=torch.float32), "hi": torch.tensor(np.maximum(hi, lo + 1e-3), dtype=torch.float32)}


class Trainer:
    def __init__(self, data_dir: str | os.PathLike, run_dir: str | os.PathLike, config: TrainConfig, progress: bool = True):
        self.data_dir, self.run_dir, self.config = Path(data_dir), Path(run_dir), config
        self.progress = progress
        self.device = resolve_device(config.device)
        self.frontend = FrontendConfig()

    # -- run folder -------------------------------------------------------------------------
    def _check_run_folder(self) -> None:
        check_run_folder(self.run_dir, self.config, {"ae": self.config.ae_config.to_dict(),
                         "frontend": self.frontend.to_dict(), "data_dir": str(self.data_dir.absolute())})

    def _log(self, row: dict) -> None:
        append_log(self.run_dir, row)

    # -- training ---------------------------------------------------------------------------
    def run(self) -> dict:
        from tqdm import tqdm

        cfg = self.config
        files = audio_files(self.data_dir)  # no audio: said before the run folder is made
        self._check_run_folder()
        corpus = Corpus.prepare(
            self.data_dir, self.run_dir / "cache", self.frontend, cfg.val_fraction, cfg.seed,
            cfg.max_segments_per_track or None, self.progress, files=files,
        )
        train_pairs, val_pairs = corpus.indices("train"), corpus.indices("val")
        torch.manual_seed(cfg.seed)
        net = ConvAutoencoder(cfg.ae_config).to(self.device)
        opt = (
            torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)
            if cfg.optimizer == "sgd" else torch.optim.Adam(net.parameters(), lr=cfg.lr)
        )
        state = {"epoch": 0, "step": 0, "best_val": math.inf, "best_epoch": -1, "history": [], "seconds": 0.0}
        last = self.run_dir / "last.pt"
        ck = read_last(last, self.device)
        if ck is not None:
            norm = resume(last, ck, net, opt, state, self.frontend)
        else:
            norm = _norm_stats(corpus, np.random.default_rng(cfg.seed))
        norm_dev = {k: (v.to(self.device) if isinstance(v, torch.Tensor) else v) for k, v in norm.items()}

        def save_last() -> None:
            checkpoint.save({"state_dict": net.state_dict(), "optimizer": opt.state_dict(), "norm": norm, "state": state}, last)

        steps = math.ceil(len(train_pairs) / cfg.batch_size)
        last_save = time.monotonic()
        try:
            while state["epoch"] < cfg.epochs:
                epoch = state["epoch"]
                rng = np.random.default_rng([cfg.seed, epoch])
                order = rng.permutation(len(train_pairs))
                closed = rng.random(steps) < cfg.bypass_dropout  # batches that must use the code
                net.train()
                t0, losses = time.monotonic(), []
                bar = tqdm(total=steps, initial=state["step"], desc=f"epoch {epoch + 1}/{cfg.epochs}",
                           unit="batch", disable=not self.progress)
                for step in range(state["step"], steps):
                    idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
                    x = normalise(torch.from_numpy(corpus.batch(train_pairs[idx])).to(self.device), norm_dev)
                    y, _ = net(x, bypass=not closed[step])
                    loss = torch.nn.functional.mse_loss(y, x)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
                    state["step"] = step + 1
                    bar.update(1)
                    bar.set_postfix(loss=f"{np.mean(losses[-50:]):.5f}")
                    if time.monotonic() - last_save > 300:  # a long epoch survives a crash too
                        save_last()
                        last_save = time.monotonic()
                bar.close()
                train_loss = float(np.mean(losses)) if losses else float("nan")
                # a one-track corpus has no held-out track: judge by the training loss
                eval_pairs = val_pairs if len(val_pairs) else train_pairs
                val, val_code, code_std = self._evaluate(net, corpus, eval_pairs, norm_dev)
                if not len(val_pairs):
                    val = train_loss
                state["seconds"] += time.monotonic() - t0
                # with bypass dropout the code is what matters: judge by reconstruction from it
                score = val_code if cfg.bypass_dropout > 0 else val
                improved = score < state["best_val"]
                row = {"epoch": epoch + 1, "train_loss": f"{train_loss:.6f}", "val_loss": f"{val:.6f}",
                       "val_code_only": f"{val_code:.6f}", "code_std": f"{code_std:.5f}", "seconds": f"{time.monotonic() - t0:.1f}", "best": int(improved)}
                self._log(row)
                state["history"].append({"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val, "val_code_only": val_code, "code_std": code_std})
                if improved:
                    state["best_val"], state["best_epoch"] = score, epoch + 1
                    self._save_best(net, norm, None, state, epoch + 1)
                if self.progress:
                    tqdm.write(f"epoch {epoch + 1}: train {train_loss:.6f}  val {val:.6f}  val from code {val_code:.6f}  code std {code_std:.4f}"
                               f"{'  (best)' if improved else ''}")
                state["epoch"], state["step"] = epoch + 1, 0
                save_last()
                last_save = time.monotonic()
        except KeyboardInterrupt:
            save_last()
            raise
        return self._finish(net, corpus, norm, state)

    @torch.inference_mode()
    def _evaluate(self, net, corpus: Corpus, pairs: np.ndarray, norm: dict) -> tuple[float, float, float]:
        """(reconstruction MSE, MSE from the code alone, mean per-component std of the code).
        The last two tell whether the code carries the segment: a code whose spread falls to
        zero carries nothing, whatever the first says."""
        net.eval()
        total, code_only, codes = 0.0, 0.0, []
        for i in range(0, len(pairs), 256):
            x = normalise(torch.from_numpy(corpus.batch(pairs[i : i + 256])).to(self.device), norm)
            y, code = net(x)
            y_code, _ = net(x, bypass=False)
            total += torch.nn.functional.mse_loss(y, x, reduction="sum").item() / x[0].numel()
            code_only += torch.nn.functional.mse_loss(y_code, x, reduction="sum").item() / x[0].numel()
            codes.append(code)
        n = len(pairs)
        return total / n, code_only / n, torch.cat(codes).std(dim=0).mean().item()

    def _save_best(self, net, norm: dict, mapping: FittedMapping | None, state: dict, epochs_trained: int) -> None:
        cfg = self.config
        hist = {h["epoch"]: h for h in state["history"]}.get(state["best_epoch"], {})
        ckpt = checkpoint.pack(
            name=cfg.model, arch="autoencoder", config=cfg.ae_config.to_dict(), state_dict=net.state_dict(),
            frontend=self.frontend.to_dict(), norm=norm, mapping=None if mapping is None else mapping.to_dict(),
            meta={
                "epoch": state["best_epoch"], "epochs_trained": epochs_trained,
                "train_loss": hist.get("train_loss"), "val_loss": hist.get("val_loss"),
                "train": asdict(cfg), "data_dir": self.data_dir.name, "seconds": round(state["seconds"], 1),
                "torch": str(torch.__version__), "python": platform.python_version(),
            },
        )
        checkpoint.save(ckpt, self.run_dir / "best.pt")

    @torch.inference_mode()
    def _mean_baseline(self, corpus: Corpus, norm: dict) -> float:
        """Validation MSE of always predicting the mean training segment: the bar to beat."""
        train, val = corpus.indices("train"), corpus.indices("val")
        val = val if len(val) else train

        def batches(pairs):
            for i in range(0, len(pairs), 512):
                yield normalise(torch.from_numpy(corpus.batch(pairs[i : i + 512])).to(self.device), norm)

        mean = sum(x.sum(0) for x in batches(train)) / len(train)
        return sum(((x - mean) ** 2).mean(dim=(1, 2, 3)).sum().item() for x in batches(val)) / len(val)

    @torch.inference_mode()
    def _finish(self, net, corpus: Corpus, norm: dict, state: dict) -> dict:
        """Fit the mapping on the whole corpus's features with the best weights; write the card."""
        if not (self.run_dir / "best.pt").exists():  # every epoch's loss was NaN: nothing was ever better
            raise TrainingError(f"{self.run_dir}: no epoch gave a finite validation loss, so there is no best model; "
                                "try a lower --lr")
        best = checkpoint.load(self.run_dir / "best.pt", self.device)
        net.load_state_dict(best["state_dict"])
        net.eval()
        norm_dev = {k: (v.to(self.device) if isinstance(v, torch.Tensor) else v) for k, v in norm.items()}
        pairs = np.concatenate([corpus.indices("train"), corpus.indices("val")])
        feats = []
        for i in range(0, len(pairs), 512):
            x = normalise(torch.from_numpy(corpus.batch(pairs[i : i + 512])).to(self.device), norm_dev)
            feats.append(net.encode(x).cpu().numpy())
        n_tracks = sum(1 for t in corpus.tracks if t.segments)
        mean_baseline = self._mean_baseline(corpus, norm_dev)
        mapping = FittedMapping.fit(np.concatenate(feats), self.config.seed, tracks=n_tracks, fitted_on=self.data_dir.name)
        mapping.save(self.run_dir / "mapping.npz")
        self._save_best(net, norm, mapping, state, state["epoch"])
        summary = {
            "data_dir": str(self.data_dir), "mean_baseline": mean_baseline, "run_dir": str(self.run_dir), "best": str(self.run_dir / "best.pt"), "best_epoch": state["best_epoch"],
            "best_val_loss": state["best_val"], "epochs": self.config.epochs, "tracks": n_tracks,
            "failed_tracks": [f"{t.path}: {t.error}" for t in corpus.failed],
            "train_segments": int(len(corpus.indices("train"))), "val_segments": int(len(corpus.indices("val"))),
            "feature_std": [round(float(s), 5) for s in np.concatenate(feats).std(axis=0)],
        }
        (self.run_dir / "model.md").write_text(model_card(self.config, summary, state, corpus))
        return summary


# options that only one family of models takes (the CLI's names)
_AE_ONLY = {"bypass_dropout": "--bypass-dropout"}
_CLASSIFIER_ONLY = {"labels_from": "--labels-from", "fma_metadata": "--fma-metadata", "subset": "--subset",
                    "pretrained": "--pretrained", "balance": "--balance"}


def make_trainer(data_dir: str | os.PathLike, run_dir: str | os.PathLike, model: str = "ae_shared",
                 preset: str = "compact", progress: bool = True, **options):
    """The trainer for `model`'s family: an autoencoder's `Trainer` or a classifier's
    `ClassifierTrainer`. Options left as None take the preset's value."""
    from .classifiers import ARCHS

    given = {k: v for k, v in options.items() if v is not None}
    if model in ARCHS:
        from .train_classifier import ClassifierTrainConfig, ClassifierTrainer

        wrong = [flag for key, flag in _AE_ONLY.items() if key in given]
        if wrong:
            raise TrainingError(f"{', '.join(wrong)} only applies to autoencoders, not to {model}")
        if "fma_metadata" in given and "labels_from" not in given:
            given["labels_from"] = "fma"
        given["fma_metadata"] = str(given.get("fma_metadata", ""))
        return ClassifierTrainer(data_dir, run_dir, ClassifierTrainConfig.from_preset(preset, model=model, **given), progress)
    if model not in VARIANTS:
        raise TrainingError(f"model {model!r} cannot be trained here; choose one of {', '.join(VARIANTS + ARCHS)}")
    wrong = [flag for key, flag in _CLASSIFIER_ONLY.items() if key in given]
    if wrong:
        raise TrainingError(f"{', '.join(wrong)} only applies to the genre classifiers ({', '.join(ARCHS)}), not to {model}")
    return Trainer(data_dir, run_dir, TrainConfig.from_preset(preset, model=model, **given), progress)


def train_command(cfg: TrainConfig, data_dir: str, run_dir: str) -> str:
    """The CLI command that reproduces a run of this configuration."""
    args = ["audioviz", "train", data_dir, "--model", cfg.model, "--preset", cfg.preset,
            "--epochs", cfg.epochs, "--batch-size", cfg.batch_size, "--optimizer", cfg.optimizer,
            "--lr", cfg.lr, "--val-fraction", cfg.val_fraction, "--bypass-dropout", cfg.bypass_dropout,
            "--max-segments-per-track", cfg.max_segments_per_track, "--seed", cfg.seed, "-o", run_dir]
    return " ".join(shlex.quote(str(a)) for a in args)


def model_card(cfg: TrainConfig, summary: dict, state: dict, corpus: Corpus) -> str:
    ae = cfg.ae_config
    n_params = sum(p.numel() for p in ConvAutoencoder(ae).parameters())
    hist = state["history"]
    rows = "\n".join(
        f"| {h['epoch']} | {h['train_loss']:.6f} | {h['val_loss']:.6f} | {h['val_code_only']:.6f} | {h['code_std']:.4f} |" for h in hist
    )
    groups: dict[str, list[int]] = {}
    for t in corpus.tracks:
        if t.segments:
            g = groups.setdefault(t.path.split("/")[0] if "/" in t.path else ".", [0, 0])
            g[0] += 1
            g[1] += t.segments
    data = "\n".join(f"| {g} | {n} | {s} |" for g, (n, s) in sorted(groups.items()))
    cmd = train_command(cfg, summary["data_dir"], summary["run_dir"])
    return f"""# {cfg.model}: convolutional autoencoder ({ae.variant})

## Architecture
- variant `{ae.variant}`, {ae.num_pools} conv blocks starting at {ae.num_init_filters} filters (kernel {ae.kernel_size}, padding {ae.padding}),
  FC sizes {' -> '.join(map(str, ae.fc_sizes))} (fc_scale_down {ae.fc_scale_down}), code of {ae.enc_len} with a sigmoid
- {n_params:,} parameters ({n_params * 4 / 1e6:.1f} MB as float32)
- input: 64 MFCC x 96 frames (0.96 s at 44.1 kHz, hop 441, n_fft 1102), min-max normalised per coefficient
  to the training corpus's 0.5 / 99.5 percentiles

## Training
- preset `{cfg.preset}`: {cfg.optimizer} lr {cfg.lr}{f' momentum {cfg.momentum}' if cfg.optimizer == 'sgd' else ''}, batch {cfg.batch_size},
  {cfg.epochs} epochs, MSE reconstruction loss, seed {cfg.seed}
- split by track: {summary['train_segments']} training and {summary['val_segments']} validation segments
  from {summary['tracks']} tracks ({len(summary['failed_tracks'])} files skipped as unusable){f", at most {cfg.max_segments_per_track} segments per track" if cfg.max_segments_per_track else ""}
- training time: {state['seconds'] / 60:.1f} min on {platform.machine()} ({'GPU' if torch.cuda.is_available() else 'CPU'})

| folder | tracks | segments |
| --- | --- | --- |
{data}

## Results
Best epoch {summary['best_epoch']} (chosen by validation MSE{' from the code alone' if cfg.bypass_dropout > 0 else ''}): {summary['best_val_loss']:.6f}
(inputs in [0, 1]). For scale: always predicting the training set's mean segment gives a
validation MSE of {summary['mean_baseline']:.6f}.

| epoch | train MSE | validation MSE | validation MSE from the code alone | code std |
| --- | --- | --- | --- | --- |
{rows}

Per-component standard deviation of the code over the corpus (before scaling):
{summary['feature_std']}

## Reproduce
```
{cmd}
```
"""
