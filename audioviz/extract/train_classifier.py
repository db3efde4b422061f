"""Train a genre classifier (AlexNet, VGG-11/13/16) on labelled music, resumably.

Labels come from FMA's metadata (`track/genre_top`, with FMA's own `set/split` column deciding
training, validation and test tracks) or from folders (the first folder under the data folder
names a file's class; a stable share of each class's tracks is held out for validation).

The run folder is laid out as for the autoencoders (see train.py): `config.json`, `cache/`,
`last.pt` (written every 5 minutes, after each epoch and on Ctrl-C), `best.pt` (the epoch with
the best validation segment accuracy, a checkpoint `--model` loads, with a fitted mapping for
every feature layer once training has finished), `log.csv` and `model.md`. Each epoch reports
the training loss and segment accuracy, and the validation loss, segment accuracy and
track-level accuracy (the majority vote of a track's segments).
"""

from __future__ import annotations

import math
import os
import platform
import shlex
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import TrainingError
from ..mapping.fitted import FittedMapping
from . import checkpoint
from .classifiers import ARCHS, ClassifierConfig, GenreClassifier, find_imagenet_weights, load_imagenet, torch_hub_checkpoints
from .corpus import Corpus, find_audio, validation_tracks
from .features import normalise, resolve_device
from .frontend import FrontendConfig
from .train import append_log, check_common, check_real, check_run_folder, read_last, resume

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
LABEL_SOURCES = ("folders", "fma")
SPLIT_NAMES = {"training": "train", "validation": "val", "test": "test"}
# features of at most this many segments (evenly spread over the corpus) fit each layer's mapping
MAPPING_SEGMENTS = 50_000
SAVE_EVERY_S = 300


@dataclass(frozen=True)
class ClassifierTrainConfig:
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
    balance: bool = True  # weight the loss so that every class counts as much as the others
    labels_from: str = "folders"  # folders | fma
    fma_metadata: str = ""  # FMA's metadata folder (labels_from fma)
    subset: str = ""  # FMA subset to keep: small, medium, large ("": every track of the folder)
    val_fraction: float = 0.2  # labels_from folders: share of each class's tracks held out
    max_segments_per_track: int = 0  # 0: all
    pretrained: str = ""  # "": random; "imagenet": torchvision's cache; else an ImageNet weights file
    seed: int = 0
    device: str = "auto"

    @classmethod
    def from_preset(cls, preset: str = "compact", **overrides) -> ClassifierTrainConfig:
        if preset not in PRESETS:
            raise TrainingError(f"preset {preset!r} is not one of: {', '.join(PRESETS)}")
        return cls(preset=preset, **{**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}})

    def __post_init__(self) -> None:
        if self.model not in ARCHS:
            raise TrainingError(f"model {self.model!r} is not a classifier; choose one of {', '.join(ARCHS)}")
        if self.preset not in PRESETS:
            raise TrainingError(f"preset {self.preset!r} is not one of: {', '.join(PRESETS)}")
        check_common(self)
        check_real("weight decay", self.weight_decay, 0, 1)
        check_real("dropout", self.dropout, 0, 1, below=True)
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
        if self.subset and self.subset not in ("small", "medium", "large"):
            raise TrainingError(f"FMA subset {self.subset!r} is not small, medium or large")

    def classifier_config(self, classes: list[str]) -> ClassifierConfig:
        return ClassifierConfig(self.model, tuple(classes), self.width_divisor, self.dropout)

    def differences(self, other: ClassifierTrainConfig) -> list[str]:
        """Settings that differ; a run continues with more epochs, on another device, with the
        metadata or ImageNet file moved (they matter only when a run starts)."""
        free = ("epochs", "device", "fma_metadata", "pretrained")
        return [k for k, v in asdict(self).items() if k not in free and getattr(other, k) != v]


# -- labels ------------------------------------------------------------------------------------


@dataclass
class Labels:
    files: list[Path]  # the labelled audio files, in a stable order
    labels: dict[str, str]  # path relative to the data folder -> class
    splits: dict[str, str]  # path -> train | val | test
    skipped: dict[str, int] = field(default_factory=dict)  # why -> how many files
    source: str = ""  # a sentence for the model card
    notes: list[str] = field(default_factory=list)  # anything else worth saying about them

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels.values()))


def folder_labels(root: Path, val_fraction: float, seed: int) -> Labels:
    """Each file's class is the first folder under `root` it sits in; a stable `val_fraction`
    of every class's tracks (at least one of a class with two or more) is held out."""
    files, labels, skipped = [], {}, Counter()
    for f in find_audio(root):
        rel = f.relative_to(root).as_posix()
        if "/" not in rel:
            skipped[f"directly in {root.name}/, so no folder names its class"] += 1
            continue
        files.append(f)
        labels[rel] = rel.split("/", 1)[0]
    splits = {}
    for cls in sorted(set(labels.values())):
        members = [r for r in labels if labels[r] == cls]
        val = validation_tracks(members, val_fraction, seed)
        splits |= {r: "val" if r in val else "train" for r in members}
    return Labels(files, labels, splits, dict(skipped),
                  f"the first folder under the data folder names each file's class; {val_fraction:.0%} of each "
                  f"class's tracks (at least one) held out for validation, chosen by a hash of the path (seed {seed})")


def fma_labels(root: Path, metadata_dir: str | os.PathLike, subset: str = "") -> Labels:
    """Classes from FMA's top genre, splits from FMA's own split column, for the FMA-named
    files under `root` (fma_small/000/000002.mp3 is track 2)."""
    from ..fma import fma_track_id, in_subset, read_tracks

    found = find_audio(root)
    ids = {f: fma_track_id(f) for f in found}
    meta = read_tracks(metadata_dir, {i for i in ids.values() if i is not None})
    if not meta.has_split:
        raise TrainingError(f"{meta.path}: no set/split column, so FMA's training/validation/test split is unknown")
    if subset and not meta.has_subset:
        raise TrainingError(f"{meta.path}: no set/subset column to pick the {subset} subset with")
    files, labels, splits, skipped = [], {}, {}, Counter()
    for f in found:
        track = meta.tracks.get(ids[f]) if ids[f] is not None else None
        why = (
            "not named by an FMA track id" if ids[f] is None
            else "not in tracks.csv" if track is None
            else f"not in the {subset} subset" if subset and not in_subset(track, subset)
            else "without a top genre" if not track.genre_top
            else "without a training/validation/test split" if not track.split
            else ""
        )
        if why:
            skipped[why] += 1
            continue
        rel = f.relative_to(root).as_posix()
        files.append(f)
        labels[rel] = track.genre_top
        splits[rel] = SPLIT_NAMES[track.split]
    notes = [f"{meta.malformed} malformed rows of tracks.csv were ignored"] if meta.malformed else []
    return Labels(files, labels, splits, dict(skipped),
                  f"FMA's top genre (track/genre_top) from {Path(meta.path).name}, FMA's own split (set/split)"
                  + (f", subset {subset}" if subset else ""), notes)


# -- metrics -----------------------------------------------------------------------------------


def majority_vote(pred: np.ndarray, tracks: np.ndarray, n_classes: int, probs: np.ndarray | None = None) -> dict[int, int]:
    """Track -> the class most of its segments were given. A tie goes to the tied class with
    the larger summed probability when `probs` (segments x classes) is given, else to the
    tied class listed first."""
    out = {}
    for t in np.unique(tracks):
        mine = tracks == t
        votes = np.bincount(pred[mine], minlength=n_classes).astype(np.float64)
        tied = votes == votes.max()
        if probs is not None and tied.sum() > 1:
            weight = np.where(tied, probs[mine].sum(axis=0), -np.inf)
            out[int(t)] = int(np.argmax(weight))
        else:
            out[int(t)] = int(np.argmax(votes))
    return out


def track_accuracy(pred: np.ndarray, tracks: np.ndarray, labels: dict[int, int], n_classes: int,
                   probs: np.ndarray | None = None) -> float:
    """Share of tracks whose majority vote is their label (the paper's "polled" accuracy)."""
    votes = majority_vote(pred, tracks, n_classes, probs)
    return float(np.mean([votes[t] == labels[t] for t in votes])) if votes else float("nan")


@dataclass
class Evaluation:
    loss: float
    accuracy: float  # segments
    track_accuracy: float
    votes: dict[int, int]  # track -> predicted class
    truth: dict[int, int]  # track -> class

    def per_class(self, n_classes: int) -> list[tuple[int, int]]:
        """(tracks right, tracks) per class."""
        out = [[0, 0] for _ in range(n_classes)]
        for t, y in self.truth.items():
            out[y][1] += 1
            out[y][0] += int(self.votes[t] == y)
        return [tuple(x) for x in out]

    @property
    def balanced_track_accuracy(self) -> float:
        recalls = [right / n for right, n in self.per_class(1 + max(self.truth.values(), default=0)) if n]
        return float(np.mean(recalls)) if recalls else float("nan")


# -- training ----------------------------------------------------------------------------------


def _standard_norm(corpus: Corpus, rng: np.random.Generator, n: int = 2000) -> dict:
    """Mean and standard deviation per MFCC coefficient over a sample of training segments."""
    pairs = corpus.indices("train")
    pick = pairs[rng.choice(len(pairs), size=min(n, len(pairs)), replace=False)]
    x = corpus.batch(pick)[:, 0].astype(np.float64)  # (n, 64, 96)
    per_coeff = x.transpose(1, 0, 2).reshape(x.shape[1], -1)
    mean, std = per_coeff.mean(axis=1), per_coeff.std(axis=1)
    return {"kind": "standard", "mean": torch.tensor(mean, dtype=torch.float32),
            "std": torch.tensor(np.maximum(std, 1e-3), dtype=torch.float32)}


class ClassifierTrainer:
    def __init__(self, data_dir: str | os.PathLike, run_dir: str | os.PathLike, config: ClassifierTrainConfig,
                 progress: bool = True):
        self.data_dir, self.run_dir, self.config = Path(data_dir), Path(run_dir), config
        self.progress = progress
        self.device = resolve_device(config.device)
        self.frontend = FrontendConfig()

    def _labels(self) -> Labels:
        cfg = self.config
        if not self.data_dir.is_dir():
            raise TrainingError(f"{self.data_dir}: not a folder")
        if cfg.labels_from == "fma":
            labels = fma_labels(self.data_dir, cfg.fma_metadata, cfg.subset)
        else:
            labels = folder_labels(self.data_dir, cfg.val_fraction, cfg.seed)
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
            from ..files import regular_file

            return regular_file(cfg.pretrained, "torchvision weights file", TrainingError)  # a FIFO would hang
        path = find_imagenet_weights(cfg.model)
        if path is None:
            from .classifiers import IMAGENET_NAMES

            raise TrainingError(
                f"--pretrained: no {IMAGENET_NAMES[cfg.model]}-*.pth in {torch_hub_checkpoints()} (torchvision's cache; "
                "audioviz downloads nothing). Put torchvision's ImageNet weights there, or name the file with --pretrained-file"
            )
        return path

    def _optimizer(self, net) -> torch.optim.Optimizer:
        cfg = self.config
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        return torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def run(self) -> dict:
        from tqdm import tqdm

        cfg = self.config
        labels = self._labels()
        imagenet = self._imagenet_file()  # a missing file is said before the run folder is made
        check_run_folder(self.run_dir, cfg, {"frontend": self.frontend.to_dict(),
                                             "data_dir": str(self.data_dir.absolute()), "classes": labels.classes})
        corpus = Corpus.prepare(
            self.data_dir, self.run_dir / "cache", self.frontend, cfg.val_fraction, cfg.seed,
            cfg.max_segments_per_track or None, self.progress, files=labels.files, splits=labels.splits,
        )
        classes = labels.classes
        track_label = np.array([classes.index(labels.labels[t.path]) for t in corpus.tracks], dtype=np.int64)
        train_pairs, val_pairs = corpus.indices("train"), corpus.indices("val")

        torch.manual_seed(cfg.seed)
        net = GenreClassifier(cfg.classifier_config(classes)).to(self.device)
        opt = self._optimizer(net)
        state = {"epoch": 0, "step": 0, "best_score": [-math.inf, -math.inf], "best_epoch": -1, "history": [],
                 "seconds": 0.0, "imagenet": "", "imagenet_tensors": 0}
        last = self.run_dir / "last.pt"
        ck = read_last(last, self.device)
        if ck is not None:
            started = ck.get("classes")
            if not isinstance(started, list) or not all(isinstance(c, str) for c in started):
                raise TrainingError(f"{last}: records no classes; delete it to start the run over, or use a new "
                                    "output folder")
            if started != classes:
                raise TrainingError(
                    f"{self.run_dir} was started with classes {', '.join(started)}; the data now gives "
                    f"{', '.join(classes)}. Use a new output folder"
                )
            norm = resume(last, ck, net, opt, state, self.frontend)
        else:
            norm = _standard_norm(corpus, np.random.default_rng(cfg.seed))
            if imagenet is not None:
                try:
                    loaded = load_imagenet(net, imagenet)
                except (ValueError, RuntimeError, KeyError, OSError) as e:
                    raise TrainingError(f"{imagenet}: cannot initialise {cfg.model} from it ({e})") from None
                state["imagenet"], state["imagenet_tensors"] = imagenet.name, len(loaded)
        norm_dev = {k: (v.to(self.device) if isinstance(v, torch.Tensor) else v) for k, v in norm.items()}
        counts = np.bincount(track_label[train_pairs[:, 0]], minlength=len(classes)) if len(train_pairs) else np.zeros(len(classes))
        weights = None
        if cfg.balance:
            w = np.where(counts > 0, counts.sum() / (len(classes) * np.maximum(counts, 1)), 0.0)
            weights = torch.tensor(w, dtype=torch.float32, device=self.device)

        def save_last() -> None:
            checkpoint.save({"state_dict": net.state_dict(), "optimizer": opt.state_dict(), "norm": norm,
                             "classes": classes, "state": state}, last)

        steps = math.ceil(len(train_pairs) / cfg.batch_size)
        last_save = time.monotonic()
        try:
            while state["epoch"] < cfg.epochs:
                epoch = state["epoch"]
                order = np.random.default_rng([cfg.seed, epoch]).permutation(len(train_pairs))
                net.train()
                t0, losses, right, seen = time.monotonic(), [], 0, 0
                bar = tqdm(total=steps, initial=state["step"], desc=f"epoch {epoch + 1}/{cfg.epochs}",
                           unit="batch", disable=not self.progress)
                for step in range(state["step"], steps):
                    pairs = train_pairs[order[step * cfg.batch_size : (step + 1) * cfg.batch_size]]
                    x = normalise(torch.from_numpy(corpus.batch(pairs)).to(self.device), norm_dev)
                    y = torch.from_numpy(track_label[pairs[:, 0]]).to(self.device)
                    logits = net(x)
                    loss = F.cross_entropy(logits, y, weight=weights)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
                    right += int((logits.argmax(1) == y).sum())
                    seen += len(y)
                    state["step"] = step + 1
                    bar.update(1)
                    bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", acc=f"{right / seen:.3f}")
                    if time.monotonic() - last_save > SAVE_EVERY_S:  # a long epoch survives a crash too
                        save_last()
                        last_save = time.monotonic()
                bar.close()
                train_loss = float(np.mean(losses)) if losses else float("nan")
                train_acc = right / seen if seen else float("nan")
                # a corpus without held-out tracks is judged on its training tracks
                ev = self._evaluate(net, corpus, val_pairs if len(val_pairs) else train_pairs, track_label, norm_dev)
                state["seconds"] += time.monotonic() - t0
                score = [ev.accuracy, -ev.loss]
                improved = score > state["best_score"]
                row = {"epoch": epoch + 1, "train_loss": f"{train_loss:.5f}", "train_acc": f"{train_acc:.4f}",
                       "val_loss": f"{ev.loss:.5f}", "val_acc": f"{ev.accuracy:.4f}",
                       "val_track_acc": f"{ev.track_accuracy:.4f}", "seconds": f"{time.monotonic() - t0:.1f}",
                       "best": int(improved)}
                append_log(self.run_dir, row)
                state["history"].append({"epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc,
                                         "val_loss": ev.loss, "val_acc": ev.accuracy, "val_track_acc": ev.track_accuracy})
                if improved:
                    state["best_score"], state["best_epoch"] = score, epoch + 1
                    self._save_best(net, norm, classes, state, {}, None)
                if self.progress:
                    tqdm.write(f"epoch {epoch + 1}: train loss {train_loss:.4f} acc {train_acc:.3f}  validation loss "
                               f"{ev.loss:.4f} acc {ev.accuracy:.3f} track acc {ev.track_accuracy:.3f}"
                               f"{'  (best)' if improved else ''}")
                state["epoch"], state["step"] = epoch + 1, 0
                save_last()
                last_save = time.monotonic()
        except KeyboardInterrupt:
            save_last()
            raise
        return self._finish(net, corpus, labels, track_label, norm, state)

    @torch.inference_mode()
    def _probabilities(self, net, corpus: Corpus, pairs: np.ndarray, norm: dict) -> np.ndarray:
        net.eval()
        out = []
        for i in range(0, len(pairs), 256):
            x = normalise(torch.from_numpy(corpus.batch(pairs[i : i + 256])).to(self.device), norm)
            out.append(torch.softmax(net(x).float(), dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, net.config.fc_sizes[-1]), dtype=np.float32)

    def _evaluate(self, net, corpus: Corpus, pairs: np.ndarray, track_label: np.ndarray, norm: dict) -> Evaluation:
        probs = self._probabilities(net, corpus, pairs, norm)
        y = track_label[pairs[:, 0]]
        pred = probs.argmax(axis=1)
        loss = float(-np.log(np.maximum(probs[np.arange(len(y)), y], 1e-12)).mean())
        n_classes = probs.shape[1]
        votes = majority_vote(pred, pairs[:, 0], n_classes, probs)
        truth = {int(t): int(track_label[t]) for t in np.unique(pairs[:, 0])}
        acc = float(np.mean([votes[t] == truth[t] for t in votes]))
        return Evaluation(loss, float((pred == y).mean()), acc, votes, truth)

    def _save_best(self, net, norm: dict, classes: list[str], state: dict, mappings: dict[str, FittedMapping],
                   results: dict | None) -> None:
        cfg = self.config
        hist = {h["epoch"]: h for h in state["history"]}.get(state["best_epoch"], {})
        default = net.default_layer
        ckpt = checkpoint.pack(
            name=cfg.model, arch="classifier", config=net.config.to_dict(), state_dict=net.state_dict(),
            frontend=self.frontend.to_dict(), norm=norm,
            mapping=mappings[default].to_dict() if default in mappings else None,
            layer_mappings={k: m.to_dict() for k, m in mappings.items() if k != default} or None,
            meta={
                "epoch": state["best_epoch"], "epochs_trained": state["epoch"], "classes": list(classes),
                "val_loss": hist.get("val_loss"), "val_acc": hist.get("val_acc"), "val_track_acc": hist.get("val_track_acc"),
                **(results or {}), "train": asdict(cfg), "data_dir": self.data_dir.name,
                "seconds": round(state["seconds"], 1), "torch": str(torch.__version__), "python": platform.python_version(),
            },
        )
        checkpoint.save(ckpt, self.run_dir / "best.pt")

    @torch.inference_mode()
    def _layer_features(self, net, corpus: Corpus, norm: dict) -> dict[str, np.ndarray]:
        """Features of every feature layer for (at most MAPPING_SEGMENTS of) the corpus's segments."""
        pairs = np.concatenate([corpus.indices(s) for s in ("train", "val", "test")])
        if len(pairs) > MAPPING_SEGMENTS:
            pairs = pairs[np.linspace(0, len(pairs) - 1, MAPPING_SEGMENTS).round().astype(int)]
        out: dict[str, list[np.ndarray]] = {layer: [] for layer in net.layers}
        net.eval()
        for i in range(0, len(pairs), 256):
            x = normalise(torch.from_numpy(corpus.batch(pairs[i : i + 256])).to(self.device), norm)
            for layer in net.layers:
                out[layer].append(net.encode(x, layer).float().cpu().numpy())
        return {layer: np.concatenate(v) for layer, v in out.items()}

    @staticmethod
    def _stored_mappings(best: dict, net) -> dict[str, FittedMapping] | None:
        """The mappings best.pt already carries for every feature layer (a finished run whose
        command is run again), or None: also when one is unusable, so that they are fitted again."""
        from ..errors import ModelError
        from .registry import stored_mapping

        others = best.get("layer_mappings") or {}
        stored = {net.default_layer: best.get("mapping"), **(others if isinstance(others, dict) else {})}
        if set(stored) != set(net.layers) or any(m is None for m in stored.values()):
            return None
        try:
            return {layer: stored_mapping(stored[layer], "best.pt", layer, size) for layer, size in net.layers.items()}
        except ModelError:
            return None

    def _finish(self, net, corpus: Corpus, labels: Labels, track_label: np.ndarray, norm: dict, state: dict) -> dict:
        """Evaluate the best epoch, fit a mapping on every feature layer (unless best.pt has
        them already), write the card."""
        best = checkpoint.load(self.run_dir / "best.pt", self.device)
        net.load_state_dict(best["state_dict"])
        net.eval()
        norm_dev = {k: (v.to(self.device) if isinstance(v, torch.Tensor) else v) for k, v in norm.items()}
        classes = labels.classes
        evals = {split: self._evaluate(net, corpus, corpus.indices(split), track_label, norm_dev)
                 for split in ("val", "test") if len(corpus.indices(split))}
        results = {f"{split}_{k}": round(v, 5) for split, ev in evals.items() for k, v in (
            ("loss", ev.loss), ("acc", ev.accuracy), ("track_acc", ev.track_accuracy),
            ("balanced_track_acc", ev.balanced_track_accuracy))}
        n_tracks = sum(1 for t in corpus.tracks if t.segments)
        mappings = self._stored_mappings(best, net)
        if mappings is None:
            mappings = {}
            for layer, x in self._layer_features(net, corpus, norm_dev).items():
                mappings[layer] = FittedMapping.fit(x, self.config.seed, layer=layer, tracks=n_tracks,
                                                    fitted_on=self.data_dir.name)
                mappings[layer].save(self.run_dir / f"mapping-{layer}.npz")
        self._save_best(net, norm, classes, state, mappings, results)
        summary = {
            "data_dir": str(self.data_dir), "run_dir": str(self.run_dir), "best": str(self.run_dir / "best.pt"),
            "model": self.config.model, "classes": classes, "best_epoch": state["best_epoch"], "epochs": self.config.epochs,
            "tracks": n_tracks, "failed_tracks": [f"{t.path}: {t.error}" for t in corpus.failed],
            "skipped": labels.skipped, "notes": labels.notes, **results,
            **{f"{s}_segments": int(len(corpus.indices(s))) for s in ("train", "val", "test")},
            "layers": {layer: m.feature_size for layer, m in mappings.items()},
            "imagenet": state.get("imagenet", ""),
        }
        card = model_card(self.config, summary, state, corpus, labels, track_label, evals, net, mappings)
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
  batch {cfg.batch_size}, {cfg.epochs} epochs, cross-entropy{' weighted so that every class counts equally' if cfg.balance else ''}, seed {cfg.seed}
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
