"""Training a genre classifier (AlexNet, VGG-11/13/16) on labelled music: settings and presets,
the cross-entropy step, the evaluation that picks the best epoch (validation segment accuracy),
and the model card. The run itself is loop.py's; each epoch reports the training loss and
segment accuracy, and the validation loss, segment accuracy and track-level accuracy (the
majority vote of a track's segments). When it ends, best.pt gets a fitted mapping for every
feature layer (also written as `mapping-LAYER.npz`). Labels come from labels.py.
"""

from __future__ import annotations

import math
import platform
import shlex
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ModelError, TrainingError
from ..extract import checkpoint
from ..extract.classifiers import (
    ARCHS,
    IMAGENET_NAMES,
    ClassifierConfig,
    GenreClassifier,
    find_imagenet_weights,
    load_imagenet,
    torch_hub_checkpoints,
)
from ..extract.registry import stored_mapping
from ..files import regular_file
from ..fma import SUBSETS
from ..mapping.fitted import FittedMapping
from .contrast import track_contrast
from .dataset import Corpus
from .labels import LABEL_SOURCES, Labels, fma_labels, folder_labels
from .loop import MAPPING_SEGMENTS, Epoch, TrainingLoop
from .run_folder import check_run_folder
from .settings import Settings, check_real
from .spread import spread_loss
from .votes import Evaluation, majority_vote

PRESETS = {
    # the paper's setting: full width (4096-wide FC layers, about 60-180 MB of weights)
    "paper": dict(width_divisor=1, optimizer="sgd", lr=1e-5, momentum=0.95, weight_decay=0.0, batch_size=64,
                  epochs=25, balance=False),
    # the bundled models: 1/8 of the width (2-3 MB), Adam, classes weighted to count equally
    "compact": dict(width_divisor=8, optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=1e-4, batch_size=64,
                    epochs=20, balance=True),
    # a smoke test: trains in seconds
    "tiny": dict(width_divisor=32, optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=0.0, batch_size=16,
                 epochs=2, balance=True),
}


@dataclass(frozen=True)
class ClassifierTrainConfig(Settings):
    model: str = "vgg16"
    preset: str = "compact"
    width_divisor: int = 8
    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 1e-4
    dropout: float = 0.5
    contrast: float = 0.0  # weight of the track-contrastive term on the default layer (contrast.py)
    spread: float = 0.0  # weight of the spread term on the default layer (spread.py)
    balance: bool = True  # weight the loss so that every class counts as much as the others
    labels_from: str = "folders"  # folders | fma
    fma_metadata: str = ""  # FMA's metadata folder (labels_from fma)
    subset: str = ""  # FMA subset to keep: small, medium, large ("": every track of the folder)
    val_fraction: float = 0.2  # labels_from folders: share of each class's tracks held out
    max_segments_per_track: int = 0  # 0: all
    min_seconds: float = 0.0  # files shorter than this are left out (game packages' sound effects)
    pretrained: str = ""  # "": random; "imagenet": torchvision's cache; else an ImageNet weights file
    seed: int = 0
    device: str = "auto"

    presets = PRESETS
    # the metadata or ImageNet file may move too: they matter only when a run starts
    free = ("epochs", "device", "fma_metadata", "pretrained")

    def __post_init__(self) -> None:
        if self.model not in ARCHS:
            raise TrainingError(f"model {self.model!r} is not a classifier; choose one of {', '.join(ARCHS)}")
        self.check_shared()
        check_real("weight decay", self.weight_decay, 0, 1)
        check_real("dropout", self.dropout, 0, 1, below=True)
        check_real("--contrast", self.contrast, 0, 100)
        check_real("--spread", self.spread, 0, 100)
        if type(self.width_divisor) is not int or self.width_divisor < 1 or 64 % self.width_divisor:
            raise TrainingError(f"width divisor {self.width_divisor!r} must divide 64")
        if type(self.balance) is not bool:
            raise TrainingError(f"balance {self.balance!r} is not true or false")
        for name in ("labels_from", "fma_metadata", "subset", "pretrained"):
            if not isinstance(getattr(self, name), str):
                raise TrainingError(f"{name} {getattr(self, name)!r} is not text")
        if self.labels_from not in LABEL_SOURCES:
            raise TrainingError(f"labels from {self.labels_from!r}: choose folders or fma")
        if self.labels_from == "fma" and not self.fma_metadata:
            raise TrainingError("labels from FMA need --fma-metadata DIR (the folder with tracks.csv)")
        if self.labels_from == "folders" and (self.fma_metadata or self.subset):
            raise TrainingError("--fma-metadata and --subset take labels from FMA; leave out --labels-from folders")
        if self.subset and self.subset not in SUBSETS:
            raise TrainingError(f"FMA subset {self.subset!r} is not small, medium or large")

    def classifier_config(self, classes: list[str]) -> ClassifierConfig:
        return ClassifierConfig(self.model, tuple(classes), self.width_divisor, self.dropout)


def _standard_norm(corpus: Corpus, rng: np.random.Generator, n: int = 2000) -> dict:
    """Mean and standard deviation per MFCC coefficient over a sample of training segments."""
    per_coeff = corpus.coefficients(rng, n).astype(np.float64)
    mean, std = per_coeff.mean(axis=1), per_coeff.std(axis=1)
    return {"kind": "standard", "mean": torch.tensor(mean, dtype=torch.float32),
            "std": torch.tensor(np.maximum(std, 1e-3), dtype=torch.float32)}


class ClassifierTrainer(TrainingLoop):
    """A genre classifier's run, scored by validation segment accuracy (then loss)."""

    config: ClassifierTrainConfig
    best_entry = "best_score"
    no_best: ClassVar[list[float]] = [-math.inf, -math.inf]  # segment accuracy, then -loss
    log_columns: ClassVar[dict[str, str]] = {"train_loss": ".5f", "train_acc": ".4f", "val_loss": ".5f", "val_acc": ".4f",
                                             "val_track_acc": ".4f"}

    def _labels(self) -> Labels:
        cfg = self.config
        if not self.data_dir.is_dir():
            raise TrainingError(f"{self.data_dir}: not a folder")
        if cfg.labels_from == "fma":
            labels = fma_labels(self.data_dir, cfg.fma_metadata, cfg.subset)
        else:
            labels = folder_labels(self.data_dir, cfg.val_fraction, cfg.seed)
        kept = self.long_enough(labels.files)
        if len(kept) < len(labels.files):
            rels = {f.relative_to(self.data_dir).as_posix() for f in kept}
            labels = replace(labels, files=kept, labels={r: c for r, c in labels.labels.items() if r in rels},
                             skipped={**labels.skipped, f"shorter than {cfg.min_seconds:g} s": self.short})
        if len(labels.classes) < 2:
            hint = ("put each class's files in a folder of its own under the data folder"
                    if cfg.labels_from == "folders" else "check that the audio folder and the metadata belong together")
            raise TrainingError(
                f"{self.data_dir}: training a classifier needs at least two classes, found "
                f"{len(labels.classes)} in {len(labels.files)} labelled files; {hint}"
            )
        return labels

    def _imagenet_file(self) -> Path | None:
        cfg = self.config
        if not cfg.pretrained:
            return None
        if cfg.pretrained != "imagenet":
            return regular_file(cfg.pretrained, "torchvision weights file", TrainingError)  # a FIFO would hang
        path = find_imagenet_weights(cfg.model)
        if path is None:
            raise TrainingError(
                f"--pretrained: no {IMAGENET_NAMES[cfg.model]}-*.pth in {torch_hub_checkpoints()} (torchvision's cache; "
                "audioviz downloads nothing). Put torchvision's ImageNet weights there, or name the file with --pretrained-file"
            )
        return path

    def prepare(self) -> Corpus:
        cfg = self.config
        self.labels = labels = self._labels()
        self.imagenet = self._imagenet_file()  # a missing file is said before the run folder is made
        self.classes = classes = labels.classes
        check_run_folder(self.run_dir, cfg, {"frontend": self.frontend.to_dict(),
                                             "data_dir": str(self.data_dir.absolute()), "classes": classes})
        corpus = self.cache(labels.files, labels.splits)
        self.track_label = np.array([classes.index(labels.labels[t.path]) for t in corpus.tracks], dtype=np.int64)
        train_pairs = corpus.indices("train")
        counts = np.bincount(self.track_label[train_pairs[:, 0]], minlength=len(classes)) if len(train_pairs) else np.zeros(len(classes))
        self.weights = None
        if cfg.balance:
            w = np.where(counts > 0, counts.sum() / (len(classes) * np.maximum(counts, 1)), 0.0)
            self.weights = torch.tensor(w, dtype=torch.float32, device=self.device)
        return corpus

    def cache_corpus(self) -> Corpus:
        labels = self._labels()
        return self.cache(labels.files, labels.splits)

    def network(self) -> GenreClassifier:
        return GenreClassifier(self.config.classifier_config(self.classes))

    def optimizer(self, net) -> torch.optim.Optimizer:
        cfg = self.config
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        return torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def check_resumable(self, ck: dict) -> None:
        last, started = self.run_dir / "last.pt", ck.get("classes")
        if not isinstance(started, list) or not all(isinstance(c, str) for c in started):
            raise TrainingError(f"{last}: records no classes; delete it to start the run over, or use a new "
                                "output folder")
        if started != self.classes:
            raise TrainingError(
                f"{self.run_dir} was started with classes {', '.join(started)}; the data now gives "
                f"{', '.join(self.classes)}. Use a new output folder"
            )

    def last_extra(self) -> dict:
        return {"classes": self.classes}

    def start(self, net, corpus: Corpus, state: dict) -> dict:
        norm = _standard_norm(corpus, np.random.default_rng(self.config.seed))
        state["imagenet"], state["imagenet_tensors"] = "", 0
        if self.imagenet is not None:
            try:
                loaded = load_imagenet(net, self.imagenet)
            except (ValueError, RuntimeError, KeyError, OSError) as e:
                raise TrainingError(f"{self.imagenet}: cannot initialise {self.config.model} from it ({e})") from None
            state["imagenet"], state["imagenet_tensors"] = self.imagenet.name, len(loaded)
        return norm

    def begin_epoch(self, rng: np.random.Generator, steps: int) -> None:
        self.right, self.seen = 0, 0

    def train_step(self, net, x: torch.Tensor, pairs: np.ndarray, step: int) -> torch.Tensor:
        y = torch.from_numpy(self.track_label[pairs[:, 0]]).to(self.device)
        cfg = self.config
        logits, features = net.forward_features(x, net.default_layer if cfg.contrast or cfg.spread else None)
        self.right += int((logits.argmax(1) == y).sum())
        self.seen += len(y)
        loss = F.cross_entropy(logits, y, weight=self.weights)
        if cfg.contrast:
            partner = net.encode(self.partner_inputs(pairs, step))
            loss = loss + cfg.contrast * track_contrast(features, partner, pairs[:, 0])
        if cfg.spread:
            loss = loss + cfg.spread * spread_loss(features)
        return loss

    def postfix(self, loss: float) -> dict[str, str]:
        return {"loss": f"{loss:.4f}", "acc": f"{self.right / self.seen:.3f}"}

    def end_epoch(self, net, corpus: Corpus, pairs: np.ndarray, norm: dict, train_loss: float) -> Epoch:
        train_acc = self.right / self.seen if self.seen else float("nan")
        ev = self._evaluate(net, corpus, pairs, norm)
        figures = {"train_loss": train_loss, "train_acc": train_acc, "val_loss": ev.loss, "val_acc": ev.accuracy,
                   "val_track_acc": ev.track_accuracy}
        return Epoch([ev.accuracy, -ev.loss], figures, f"train loss {train_loss:.4f} acc {train_acc:.3f}  validation "
                                                      f"loss {ev.loss:.4f} acc {ev.accuracy:.3f} track acc {ev.track_accuracy:.3f}")

    def improves(self, score: list[float], best: list[float]) -> bool:
        return score > best

    @torch.inference_mode()
    def _probabilities(self, net, corpus: Corpus, pairs: np.ndarray, norm: dict) -> np.ndarray:
        net.eval()
        out = [torch.softmax(net(x).float(), dim=1).cpu().numpy() for x in self.batches(corpus, pairs, norm)]
        return np.concatenate(out) if out else np.zeros((0, net.config.fc_sizes[-1]), dtype=np.float32)

    def _evaluate(self, net, corpus: Corpus, pairs: np.ndarray, norm: dict) -> Evaluation:
        probs = self._probabilities(net, corpus, pairs, norm)
        y = self.track_label[pairs[:, 0]]
        pred = probs.argmax(axis=1)
        loss = float(-np.log(np.maximum(probs[np.arange(len(y)), y], 1e-12)).mean())
        n_classes = probs.shape[1]
        votes = majority_vote(pred, pairs[:, 0], n_classes, probs)
        truth = {int(t): int(self.track_label[t]) for t in np.unique(pairs[:, 0])}
        acc = float(np.mean([votes[t] == truth[t] for t in votes]))
        return Evaluation(loss, float((pred == y).mean()), acc, votes, truth)

    def save_best(self, net, norm: dict, state: dict, mappings: dict[str, FittedMapping] | None = None,
                  results: dict | None = None) -> None:
        cfg = self.config
        hist = {h["epoch"]: h for h in state["history"]}.get(state["best_epoch"], {})
        mappings, default = mappings or {}, net.default_layer
        ckpt = checkpoint.pack(
            name=cfg.model, arch="classifier", config=net.config.to_dict(), state_dict=net.state_dict(),
            frontend=self.frontend.to_dict(), norm=norm,
            mapping=mappings[default].to_dict() if default in mappings else None,
            layer_mappings={k: m.to_dict() for k, m in mappings.items() if k != default} or None,
            meta={
                "epoch": state["best_epoch"], "epochs_trained": state["epoch"], "classes": list(self.classes),
                "val_loss": hist.get("val_loss"), "val_acc": hist.get("val_acc"), "val_track_acc": hist.get("val_track_acc"),
                **(results or {}), "train": asdict(cfg), "data_dir": self.data_dir.name, "folders": self.folders,
                "seconds": round(state["seconds"], 1), "torch": str(torch.__version__), "python": platform.python_version(),
            },
        )
        checkpoint.save(ckpt, self.run_dir / "best.pt")

    @staticmethod
    def _stored_mappings(best: dict, net) -> dict[str, FittedMapping] | None:
        """The mappings best.pt already carries for every feature layer (a finished run whose
        command is run again), or None: also when one is unusable, so that they are fitted again."""
        others = best.get("layer_mappings") or {}
        stored = {net.default_layer: best.get("mapping"), **(others if isinstance(others, dict) else {})}
        if set(stored) != set(net.layers) or any(m is None for m in stored.values()):
            return None
        try:
            return {layer: stored_mapping(stored[layer], "best.pt", layer, size) for layer, size in net.layers.items()}
        except ModelError:
            return None

    def finish(self, net, corpus: Corpus, norm: dict, best: dict, state: dict) -> dict:
        """Evaluate the best epoch, fit a mapping on every feature layer (unless best.pt has
        them already), write the card."""
        norm_dev = self.on_device(norm)
        labels, classes = self.labels, self.classes
        evals = {split: self._evaluate(net, corpus, corpus.indices(split), norm_dev)
                 for split in ("val", "test") if len(corpus.indices(split))}
        results = {f"{split}_{k}": round(v, 5) for split, ev in evals.items() for k, v in (
            ("loss", ev.loss), ("acc", ev.accuracy), ("track_acc", ev.track_accuracy),
            ("balanced_track_acc", ev.balanced_track_accuracy))}
        n_tracks = sum(1 for t in corpus.tracks if t.segments)
        mappings = self._stored_mappings(best, net)
        if mappings is None:
            mappings = {}
            for layer, x in self.layer_features(net, corpus, norm_dev).items():
                mappings[layer] = FittedMapping.fit(x, self.config.seed, layer=layer, tracks=n_tracks,
                                                    fitted_on=self.data_dir.name)
                mappings[layer].save(self.run_dir / f"mapping-{layer}.npz")
        self.save_best(net, norm, state, mappings, results)
        summary = {
            "data_dir": str(self.data_dir), "run_dir": str(self.run_dir), "best": str(self.run_dir / "best.pt"),
            "model": self.config.model, "classes": classes, "best_epoch": state["best_epoch"], "epochs": self.config.epochs,
            "tracks": n_tracks, "failed_tracks": [f"{t.path}: {t.error}" for t in corpus.failed], "short_tracks": self.short,
            "skipped": labels.skipped, "notes": labels.notes, **results,
            **{f"{s}_segments": int(len(corpus.indices(s))) for s in ("train", "val", "test")},
            "layers": {layer: m.feature_size for layer, m in mappings.items()},
            "imagenet": state.get("imagenet", ""),
        }
        card = model_card(self.config, summary, state, corpus, labels, self.track_label, evals, net, mappings)
        (self.run_dir / "model.md").write_text(card)
        return summary


def make_command(cfg: ClassifierTrainConfig, data_dir: str, run_dir: str) -> str:
    """The CLI command that reproduces a run of this configuration."""
    args = ["audioviz", "train", data_dir, "--model", cfg.model, "--preset", cfg.preset, "--epochs", cfg.epochs,
            "--batch-size", cfg.batch_size, "--optimizer", cfg.optimizer, "--lr", cfg.lr,
            "--balance" if cfg.balance else "--no-balance", "--labels-from", cfg.labels_from]
    if cfg.labels_from == "fma":
        args += ["--fma-metadata", cfg.fma_metadata] + (["--subset", cfg.subset] if cfg.subset else [])
    else:
        args += ["--val-fraction", cfg.val_fraction]
    if cfg.pretrained:
        args += ["--pretrained"] if cfg.pretrained == "imagenet" else ["--pretrained-file", cfg.pretrained]
    if cfg.contrast:
        args += ["--contrast", cfg.contrast]
    if cfg.spread:
        args += ["--spread", cfg.spread]
    preset = PRESETS[cfg.preset]  # what only `audioviz tune` sets (the preset's otherwise)
    for flag, key, default in (("--width-divisor", "width_divisor", preset["width_divisor"]),
                               ("--weight-decay", "weight_decay", preset["weight_decay"]),
                               ("--dropout", "dropout", ClassifierTrainConfig.dropout),
                               ("--momentum", "momentum", preset["momentum"] if cfg.optimizer == "sgd" else cfg.momentum)):
        if getattr(cfg, key) != default:
            args += [flag, getattr(cfg, key)]
    if cfg.min_seconds:
        args += ["--min-seconds", cfg.min_seconds]
    args += ["--max-segments-per-track", cfg.max_segments_per_track, "--seed", cfg.seed, "-o", run_dir]
    return " ".join(shlex.quote(str(a)) for a in args)


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f} %"


def mapping_section(mappings: dict[str, FittedMapping], default: str, cap: int) -> str:
    def pct(values) -> str:
        return ", ".join(f"{100 * v:.1f}" for v in values)

    first = next(iter(mappings.values()))
    lines = "\n".join(
        f"- `{layer}`{' (default)' if layer == default else ''}: {pct(m.arrays['pca.variance_ratio'])}; "
        f"of the K-Means similarities: {pct(m.arrays['kmeans-pca.variance_ratio'])}"
        for layer, m in mappings.items()
    )
    return f"""## Fitted mapping
One for each feature layer, fitted on the features of {first.meta.get('tracks', '?')} tracks ({first.meta['segments']} segments:
every cached segment of the corpus above, at most {cap:,} spread evenly over it) with seed {first.meta['seed']}:
scalers for every method, PCA, and K-Means with 10 clusters. Share of variance per PCA component, in percent:
{lines}
"""


def model_card(cfg: ClassifierTrainConfig, summary: dict, state: dict, corpus: Corpus, labels: Labels,
               track_label: np.ndarray, evals: dict[str, Evaluation], net: GenreClassifier,
               mappings: dict[str, FittedMapping]) -> str:
    c = net.config
    n_params = sum(p.numel() for p in net.parameters())
    classes = summary["classes"]
    splits = [s for s in ("train", "val", "test") if summary[f"{s}_segments"]]
    names = {"train": "training", "val": "validation", "test": "test"}
    per = {cls: {s: [0, 0] for s in splits} for cls in classes}
    for i, t in enumerate(corpus.tracks):
        if t.segments and t.split in splits:
            per[classes[track_label[i]]][t.split][0] += 1
            per[classes[track_label[i]]][t.split][1] += t.segments
    head = " | ".join(f"{names[s]} tracks (segments)" for s in splits)
    data = "\n".join(f"| {cls} | " + " | ".join(f"{per[cls][s][0]} ({per[cls][s][1]})" for s in splits) + " |"
                     for cls in classes)
    held = "test" if "test" in evals else "val"
    ev = evals.get(held)
    result_lines = []
    for split, e in evals.items():
        result_lines.append(
            f"- {names[split]} split: segment accuracy {_pct(e.accuracy)}, track-level accuracy "
            f"{_pct(e.track_accuracy)} ({sum(e.votes[t] == e.truth[t] for t in e.votes)} of {len(e.votes)} tracks), "
            f"balanced track-level accuracy {_pct(e.balanced_track_accuracy)} (mean over classes), loss {e.loss:.4f}"
        )
    confusion = ""
    if ev is not None:
        counts = Counter((ev.truth[t], ev.votes[t]) for t in ev.truth)
        confusion = (f"\nHeld-out ({names[held]}) tracks by true class (rows) and majority vote (columns):\n\n"
                     "| true \\ voted | " + " | ".join(classes) + " |\n| --- |" + " --- |" * len(classes) + "\n"
                     + "\n".join(f"| {a} | " + " | ".join(str(counts[(i, j)]) for j in range(len(classes))) + " |"
                                 for i, a in enumerate(classes)))
        majority = max(ev.per_class(len(classes)), key=lambda x: x[1])[1] / max(1, len(ev.votes))
        confusion += (f"\n\nFor scale: always voting for the largest class would score {_pct(majority)} of these tracks, "
                      f"guessing {_pct(1 / len(classes))}.")
    tail = [h["val_track_acc"] for h in state["history"][-5:]]
    spread = ""
    if tail and "test" not in evals:
        spread = (f"\nThe best epoch is chosen on these same validation tracks, so its figure flatters it: over the last "
                  f"{len(tail)} epochs their track-level accuracy was {_pct(float(np.mean(tail)))} on average "
                  f"(from {_pct(min(tail))} to {_pct(max(tail))}).\n")
    rows = "\n".join(
        f"| {h['epoch']} | {h['train_loss']:.4f} | {_pct(h['train_acc'])} | {h['val_loss']:.4f} | {_pct(h['val_acc'])} | "
        f"{_pct(h['val_track_acc'])} |" for h in state["history"]
    )
    layers = "\n".join(f"  - `{k}`: {v} features{' (default)' if k == c.default_layer else ''}"
                       for k, v in summary["layers"].items())
    skipped = "".join(f"\n- skipped: {n} files {why}" for why, n in summary["skipped"].items())
    skipped += "".join(f"\n- {note}" for note in summary["notes"])
    width = "the paper's width" if c.width_divisor == 1 else f"1/{c.width_divisor} of the paper's width"
    terms = "".join(f", plus {w:g} x {what} on {c.default_layer}" for w, what in (
        (cfg.contrast, "the track-contrastive term"), (cfg.spread, "the spread term (VICReg's variance and covariance)")) if w)
    return f"""# {cfg.model}: genre classifier ({c.arch}, {width})

## Architecture
- {c.arch} adapted to one 64 x 96 MFCC channel{' (first conv stride (1, 2))' if c.arch == 'alexnet' else ' with batch norm'};
  {width}: convs of {', '.join(str(s.out_channels) for s in c.convs)} filters, FC {' -> '.join(map(str, c.fc_sizes))}
  (the paper's FC layers are 4096 wide), dropout {c.dropout}
- {n_params:,} parameters ({n_params * 4 / 1e6:.1f} MB as float32)
- input: 64 MFCC x 96 frames (0.96 s at 44.1 kHz, hop 441, n_fft 1102), standardised per coefficient
  (mean and standard deviation of the training segments)
- feature layers (`--layer`), named as in the paper; a conv layer's map is averaged over time:
{layers}

## Training
- labels: {labels.source}
- {len(classes)} classes: {', '.join(classes)}
- preset `{cfg.preset}`: {cfg.optimizer} lr {cfg.lr}{f' momentum {cfg.momentum}' if cfg.optimizer == 'sgd' else ''}, weight decay {cfg.weight_decay},
  batch {cfg.batch_size}, {cfg.epochs} epochs, cross-entropy{' weighted so that every class counts equally' if cfg.balance else ''}{terms}, seed {cfg.seed}
- initialised {'from ImageNet weights (' + summary['imagenet'] + ')' if summary['imagenet'] else 'at random (He initialisation)'}
- {summary['tracks']} usable tracks ({len(summary['failed_tracks'])} files unusable){f", at most {cfg.max_segments_per_track} evenly spaced segments per track" if cfg.max_segments_per_track else ""}{skipped}
- training time: {state['seconds'] / 60:.1f} min on {platform.machine()} ({'GPU' if torch.cuda.is_available() else 'CPU'})

| class | {head} |
| --- |{' --- |' * len(splits)}
{data}

## Results
Best epoch {summary['best_epoch']} of {state['epoch']}, chosen by validation segment accuracy. Track-level accuracy is the
share of tracks whose segments mostly vote for their class (ties go to the larger summed probability).

{chr(10).join(result_lines)}
{spread}{confusion}

| epoch | train loss | train segment accuracy | validation loss | validation segment accuracy | validation track-level accuracy |
| --- | --- | --- | --- | --- | --- |
{rows}

{mapping_section(mappings, c.default_layer, MAPPING_SEGMENTS)}
## Reproduce
```
{make_command(cfg, summary['data_dir'], summary['run_dir'])}
```
"""
