"""Training an autoencoder on a folder of music: settings and presets, the reconstruction step,
the evaluation that picks the best epoch, and the model card. The run itself is loop.py's;
when it ends, the mapping is fitted on the whole corpus's codes (`mapping.npz`)."""

from __future__ import annotations

import math
import platform
import shlex
from dataclasses import asdict, dataclass, replace
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..config import N_PARAMS
from ..errors import TrainingError
from ..extract import checkpoint
from ..extract.models import COMPACT, PAPER, VARIANTS, AEConfig, ConvAutoencoder
from ..mapping.fitted import FittedMapping
from .contrast import track_contrast
from .dataset import Corpus, audio_files
from .loop import Epoch, TrainingLoop
from .run_folder import check_run_folder
from .settings import Settings, check_real, check_whole

MAX_WIDTH = 256  # filters of the first conv block: the paper's is 32
MAX_CODE_SIZE = 4096  # far past use: codes of 32 and 64 vary along under 20 directions (README)

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


@dataclass(frozen=True)
class TrainConfig(Settings):
    model: str = "ae_shared"
    preset: str = "compact"
    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    val_fraction: float = 0.1
    max_segments_per_track: int = 0  # 0: all
    min_seconds: float = 0.0  # files shorter than this are left out (game packages' sound effects)
    bypass_dropout: float = 0.5  # share of batches trained without pool indices and skips
    contrast: float = 0.0  # weight of the track-contrastive term on the code (contrast.py)
    seed: int = 0
    device: str = "auto"
    # the architecture's own settings that `audioviz tune` searches (else the preset's):
    width: int = 0  # filters of the first conv block (0: the preset's)
    code_norm: bool | None = None  # batch-normalise the code's pre-activations (None: the preset's)
    # the paper's is 10, one number per scene parameter (and the raw mapping needs exactly
    # that); a wider code is mapped through PCA like a classifier's layer (0: the preset's).
    # Not searched by `tune`: its objective, the validation MSE, favours width (0.0243 at 10,
    # 0.0239 at 32, 0.0234 at 64 in the README's runs) whatever the picture gains.
    code_size: int = 0

    presets = PRESETS

    def __post_init__(self) -> None:
        if self.model not in VARIANTS:
            raise TrainingError(f"model {self.model!r} cannot be trained here; choose one of {', '.join(VARIANTS)}")
        self.check_shared()
        check_real("--bypass-dropout", self.bypass_dropout, 0, 1)
        check_real("--contrast", self.contrast, 0, 100)
        check_whole("width", self.width, 0, MAX_WIDTH)
        if self.code_size != 0:  # 0: the preset's
            check_whole("--code-size", self.code_size, N_PARAMS, MAX_CODE_SIZE)
        if self.code_norm is not None and type(self.code_norm) is not bool:
            raise TrainingError(f"code norm {self.code_norm!r} is not true or false")

    @property
    def ae_config(self) -> AEConfig:
        arch = {"num_init_filters": self.width} if self.width else {}
        if self.code_norm is not None:
            arch["code_norm"] = self.code_norm
        if self.code_size:
            arch["enc_len"] = self.code_size
        return replace(PRESETS[self.preset]["ae"], variant=self.model, **arch)


def _norm_stats(corpus: Corpus, rng: np.random.Generator, n: int = 2000) -> dict:
    """Per-coefficient 0.5 / 99.5 percentiles: min-max scaling that one click of noise cannot skew."""
    lo, hi = np.percentile(corpus.coefficients(rng, n), [0.5, 99.5], axis=1)
    return {"kind": "minmax", "lo": torch.tensor(lo, dtype=torch.float32), "hi": torch.tensor(np.maximum(hi, lo + 1e-3), dtype=torch.float32)}


class Trainer(TrainingLoop):
    """An autoencoder's run, scored by validation MSE (from the code alone with bypass dropout)."""

    config: TrainConfig
    best_entry = "best_val"
    no_best = math.inf
    log_columns: ClassVar[dict[str, str]] = {"train_loss": ".6f", "val_loss": ".6f", "val_code_only": ".6f",
                                             "code_std": ".5f"}

    def prepare(self) -> Corpus:
        files = self.long_enough(audio_files(self.data_dir))  # no audio: said before the run folder is made
        check_run_folder(self.run_dir, self.config, {"ae": self.config.ae_config.to_dict(),
                         "frontend": self.frontend.to_dict(), "data_dir": str(self.data_dir.absolute())})
        return self.cache(files)

    def cache_corpus(self) -> Corpus:
        return self.cache(self.long_enough(audio_files(self.data_dir)))

    def mean_baseline(self, corpus: Corpus) -> float:
        """Validation MSE of always predicting the mean training segment, with the input
        normalisation a run of these settings measures: what a code must beat to carry anything."""
        norm = _norm_stats(corpus, np.random.default_rng(self.config.seed))
        return self._mean_baseline(corpus, self.on_device(norm))

    def network(self) -> ConvAutoencoder:
        return ConvAutoencoder(self.config.ae_config)

    def optimizer(self, net) -> torch.optim.Optimizer:
        cfg = self.config
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        return torch.optim.Adam(net.parameters(), lr=cfg.lr)

    def start(self, net, corpus: Corpus, state: dict) -> dict:
        return _norm_stats(corpus, np.random.default_rng(self.config.seed))

    def begin_epoch(self, rng: np.random.Generator, steps: int) -> None:
        self.closed = rng.random(steps) < self.config.bypass_dropout  # batches that must use the code

    def train_step(self, net, x: torch.Tensor, pairs: np.ndarray, step: int) -> torch.Tensor:
        y, code = net(x, bypass=not self.closed[step])
        loss = F.mse_loss(y, x)
        if self.config.contrast:
            partner = net.encode(self.partner_inputs(pairs, step))
            loss = loss + self.config.contrast * track_contrast(code, partner, pairs[:, 0])
        return loss

    def postfix(self, loss: float) -> dict[str, str]:
        return {"loss": f"{loss:.5f}"}

    def end_epoch(self, net, corpus: Corpus, pairs: np.ndarray, norm: dict, train_loss: float) -> Epoch:
        val, val_code, code_std = self._evaluate(net, corpus, pairs, norm)
        # a one-track corpus has no held-out track: judge by the training loss
        if not len(corpus.indices("val")):
            val = train_loss
        # with bypass dropout the code is what matters: judge by reconstruction from it
        score = val_code if self.config.bypass_dropout > 0 else val
        figures = {"train_loss": train_loss, "val_loss": val, "val_code_only": val_code, "code_std": code_std}
        return Epoch(score, figures, f"train {train_loss:.6f}  val {val:.6f}  val from code {val_code:.6f}  "
                                     f"code std {code_std:.4f}")

    def improves(self, score: float, best: float) -> bool:
        return score < best

    @torch.inference_mode()
    def _evaluate(self, net, corpus: Corpus, pairs: np.ndarray, norm: dict) -> tuple[float, float, float]:
        """(reconstruction MSE, MSE from the code alone, mean per-component std of the code).
        The last two tell whether the code carries the segment: a code whose spread falls to
        zero carries nothing, whatever the first says."""
        net.eval()
        total, code_only, codes = 0.0, 0.0, []
        for x in self.batches(corpus, pairs, norm):
            y, code = net(x)
            y_code, _ = net(x, bypass=False)
            total += F.mse_loss(y, x, reduction="sum").item() / x[0].numel()
            code_only += F.mse_loss(y_code, x, reduction="sum").item() / x[0].numel()
            codes.append(code)
        n = len(pairs)
        return total / n, code_only / n, torch.cat(codes).std(dim=0).mean().item()

    def save_best(self, net, norm: dict, state: dict, mappings: dict[str, FittedMapping] | None = None) -> None:
        cfg = self.config
        hist = {h["epoch"]: h for h in state["history"]}.get(state["best_epoch"], {})
        mappings = mappings or {}
        ckpt = checkpoint.pack(
            name=cfg.model, arch="autoencoder", config=cfg.ae_config.to_dict(), state_dict=net.state_dict(),
            frontend=self.frontend.to_dict(), norm=norm,
            mapping=mappings["code"].to_dict() if "code" in mappings else None,
            layer_mappings={k: m.to_dict() for k, m in mappings.items() if k != "code"} or None,
            meta={
                "epoch": state["best_epoch"], "epochs_trained": state["epoch"],
                "train_loss": hist.get("train_loss"), "val_loss": hist.get("val_loss"),
                "train": asdict(cfg), "data_dir": self.data_dir.name, "folders": self.folders,
                "seconds": round(state["seconds"], 1),
                "torch": str(torch.__version__), "python": platform.python_version(),
            },
        )
        checkpoint.save(ckpt, self.run_dir / "best.pt")

    @torch.inference_mode()
    def _mean_baseline(self, corpus: Corpus, norm: dict) -> float:
        """Validation MSE of always predicting the mean training segment: the bar to beat."""
        train, val = corpus.indices("train"), corpus.indices("val")
        val = val if len(val) else train
        mean = sum(x.sum(0) for x in self.batches(corpus, train, norm, 512)) / len(train)
        return sum(((x - mean) ** 2).mean(dim=(1, 2, 3)).sum().item() for x in self.batches(corpus, val, norm, 512)) / len(val)

    @torch.inference_mode()
    def finish(self, net, corpus: Corpus, norm: dict, best: dict, state: dict) -> dict:
        """Fit a mapping on every feature layer (the code's is also mapping.npz) with the best
        weights; write the card."""
        norm_dev = self.on_device(norm)
        n_tracks = sum(1 for t in corpus.tracks if t.segments)
        mean_baseline = self._mean_baseline(corpus, norm_dev)
        features = self.layer_features(net, corpus, norm_dev)
        mappings = {layer: FittedMapping.fit(x, self.config.seed, tracks=n_tracks, fitted_on=self.data_dir.name,
                                             **({} if layer == "code" else {"layer": layer}))
                    for layer, x in features.items()}
        mappings["code"].save(self.run_dir / "mapping.npz")
        self.save_best(net, norm, state, mappings)
        summary = {
            "data_dir": str(self.data_dir), "mean_baseline": mean_baseline, "run_dir": str(self.run_dir), "best": str(self.run_dir / "best.pt"), "best_epoch": state["best_epoch"],
            "best_val_loss": state["best_val"], "epochs": self.config.epochs, "tracks": n_tracks,
            "failed_tracks": [f"{t.path}: {t.error}" for t in corpus.failed], "short_tracks": self.short,
            "train_segments": int(len(corpus.indices("train"))), "val_segments": int(len(corpus.indices("val"))),
            "feature_std": [round(float(s), 5) for s in features["code"].std(axis=0)],
        }
        (self.run_dir / "model.md").write_text(model_card(self.config, summary, state, corpus))
        return summary


def train_command(cfg: TrainConfig, data_dir: str, run_dir: str) -> str:
    """The CLI command that reproduces a run of this configuration."""
    args = ["audioviz", "train", data_dir, "--model", cfg.model, "--preset", cfg.preset,
            "--epochs", cfg.epochs, "--batch-size", cfg.batch_size, "--optimizer", cfg.optimizer,
            "--lr", cfg.lr, "--val-fraction", cfg.val_fraction, "--bypass-dropout", cfg.bypass_dropout,
            *(["--contrast", cfg.contrast] if cfg.contrast else []),
            # what only `audioviz tune` sets (the preset's otherwise)
            *(["--momentum", cfg.momentum] if cfg.optimizer == "sgd" and cfg.momentum != PRESETS[cfg.preset]["momentum"] else []),
            *(["--width", cfg.width] if cfg.width else []),
            *([f"--{'' if cfg.code_norm else 'no-'}code-norm"] if cfg.code_norm is not None else []),
            *(["--code-size", cfg.code_size] if cfg.code_size else []),
            *(["--min-seconds", cfg.min_seconds] if cfg.min_seconds else []),
            "--max-segments-per-track", cfg.max_segments_per_track, "--seed", cfg.seed, "-o", run_dir]
    return " ".join(shlex.quote(str(a)) for a in args)


def model_card(cfg: TrainConfig, summary: dict, state: dict, corpus: Corpus) -> str:
    ae = cfg.ae_config
    n_params = sum(p.numel() for p in ConvAutoencoder(ae).parameters())
    hist = state["history"]
    rows = "\n".join(
        f"| {h['epoch']} | {h['train_loss']:.6f} | {h['val_loss']:.6f} | {h['val_code_only']:.6f} | {h['code_std']:.4f} |" for h in hist
    )
    data = "\n".join(f"| {g} | {n} | {s} |" for g, (n, s) in corpus.folders().items())
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
  from {summary['tracks']} tracks ({len(summary['failed_tracks'])} files skipped as unusable{f", {summary['short_tracks']} shorter than {cfg.min_seconds:g} s left out" if cfg.min_seconds else ""}){f", at most {cfg.max_segments_per_track} segments per track" if cfg.max_segments_per_track else ""}
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
