"""Training the networks that extraction runs: autoencoders (autoencoder.py) and genre
classifiers (classifier.py), each a family that drives the one resumable loop (loop.py) over a
folder of music cached as MFCC segments (dataset.py). Inference (audioviz.extract) never
imports this package."""

from __future__ import annotations

import os

from ..errors import TrainingError
from ..extract.classifiers import ARCHS
from ..extract.models import VARIANTS
from .autoencoder import TrainConfig, Trainer
from .classifier import ClassifierTrainConfig, ClassifierTrainer

# options that only one family of models takes (the CLI's names)
_AE_ONLY = {"bypass_dropout": "--bypass-dropout", "width": "--width", "code_norm": "--code-norm",
            "code_size": "--code-size"}
_CLASSIFIER_ONLY = {"labels_from": "--labels-from", "fma_metadata": "--fma-metadata", "subset": "--subset",
                    "pretrained": "--pretrained", "balance": "--balance", "width_divisor": "--width-divisor",
                    "weight_decay": "--weight-decay", "dropout": "--dropout", "spread": "--spread"}


def make_trainer(data_dir: str | os.PathLike, run_dir: str | os.PathLike, model: str = "ae_shared",
                 preset: str = "compact", progress: bool = True, **options) -> Trainer | ClassifierTrainer:
    """The trainer for `model`'s family: an autoencoder's `Trainer` or a classifier's
    `ClassifierTrainer`. Options left as None take the preset's value."""
    given = {k: v for k, v in options.items() if v is not None}
    if model in ARCHS:
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
