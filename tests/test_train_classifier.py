"""Training a genre classifier: track-level accuracy, labels from folders or FMA, resuming, and
a result that loads like a bundled model at every feature layer."""

import csv
import json

import numpy as np
import pytest
import torch
from media import music_like, styled_track, write_audio
from typer.testing import CliRunner

from audioviz.cli import app
from audioviz.errors import TrainingError
from audioviz.extract.registry import load_model
from audioviz.training import make_trainer
from audioviz.training.votes import majority_vote, track_accuracy


def test_track_accuracy_is_a_majority_vote_of_segments():
    tracks = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 3])
    pred = np.array([1, 1, 0, 2, 0, 2, 1, 0, 1, 2])
    labels = {0: 1, 1: 2, 2: 1, 3: 0}
    # track 0: 1 wins 2-1 (right); 1: 2 wins 2-1-1 (right); 2: a 0-1 tie; 3: voted 2 (wrong)
    probs = np.full((10, 3), 0.1)
    probs[7] = [0.50, 0.45, 0.05]
    probs[8] = [0.05, 0.90, 0.05]  # the tie goes to class 1: more probability in total
    assert majority_vote(pred, tracks, 3, probs) == {0: 1, 1: 2, 2: 1, 3: 2}
    assert track_accuracy(pred, tracks, labels, 3, probs) == 0.75
    assert majority_vote(pred, tracks, 3)[2] == 0  # without probabilities the first tied class wins
    assert track_accuracy(pred, tracks, labels, 3) == 0.5


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """Two classes in folders, three tracks each, and one file at the top that has no class."""
    root = tmp_path_factory.mktemp("labelled")
    for i in range(6):
        cls = ("calm", "loud")[i % 2]
        (root / cls).mkdir(exist_ok=True)
        write_audio(root / cls / f"t{i}.ogg", styled_track(4.0, i, cls == "loud"))
    write_audio(root / "loose.ogg", music_like(2.0, 9))
    return root


def log_rows(run):
    with open(run / "log.csv") as f:
        return list(csv.DictReader(f))


def test_train_resumes_and_gives_a_model_with_every_layer(tmp_path, labelled, monkeypatch, song):
    run = tmp_path / "run"
    trainer = make_trainer(labelled, run, "vgg16", "tiny", progress=False, epochs=1, batch_size=8)
    steps = {"n": 0}
    real_step = torch.optim.Adam.step

    def interrupt_after_1(self, *a, **k):
        steps["n"] += 1
        if steps["n"] == 2:
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", interrupt_after_1)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    state = torch.load(run / "last.pt", weights_only=True)["state"]
    assert (state["epoch"], state["step"]) == (0, 1)
    monkeypatch.setattr(torch.optim.Adam, "step", real_step)

    # the same command goes on where it stopped, then for one more epoch
    r = CliRunner().invoke(app, ["train", str(labelled), "-o", str(run), "--model", "vgg16", "--preset", "tiny",
                                 "--epochs", "2", "--batch-size", "8", "--quiet", "--json"])
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    rows = log_rows(run)
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "val_track_acc"} <= set(rows[0])
    assert summary["classes"] == ["calm", "loud"] and summary["tracks"] == 6
    assert torch.load(run / "best.pt", weights_only=True)["meta"]["folders"] == ["calm", "loud"]
    assert summary["skipped"] == {f"directly in {labelled.name}/, so no folder names its class": 1}
    assert 0 <= summary["val_track_acc"] <= 1 and summary["val_segments"] > 0
    card = (run / "model.md").read_text()
    for must in ("calm, loud", "track-level accuracy", "audioviz train", "--labels-from folders", "| 2 |"):
        assert must in card

    # what training wrote loads like a bundled model, with a fitted mapping for each layer
    from audioviz.audio import decode

    samples = decode(song).samples
    ids = set()
    for layer, size in summary["layers"].items():
        model = load_model(run, device="cpu", layer=layer)
        assert model.layer == layer and model.feature_size == size and model.mapping is not None
        assert model.mapping.feature_size == size and model.mapping.meta["layer"] == layer
        feats = model.features(samples).values
        assert feats.shape == (5, size) and np.isfinite(feats).all()
        ids.add(model.features_id)
    assert len(ids) == 3  # caches and fitted mappings tell the layers apart
    assert load_model(run, device="cpu").layer == "L15"


def test_fma_labels_train_with_fmas_split(tmp_path):
    audio, meta = tmp_path / "fma_small", tmp_path / "fma_metadata"
    rows = []
    for i, (genre, split) in enumerate([("Rock", "training"), ("Folk", "training"), ("Rock", "training"),
                                        ("Folk", "training"), ("Rock", "validation"), ("Folk", "test")]):
        (audio / "000").mkdir(parents=True, exist_ok=True)
        write_audio(audio / "000" / f"{i + 2:06d}.ogg", styled_track(3.0, i, genre == "Rock"))
        rows.append(f"{i + 2},small,{split},{genre}")
    meta.mkdir()
    (meta / "tracks.csv").write_text(",set,set,track\n,subset,split,genre_top\ntrack_id,,,\n" + "\n".join(rows) + "\n")
    summary = make_trainer(audio, tmp_path / "run", "alexnet", "tiny", progress=False, epochs=1,
                           fma_metadata=meta, subset="small").run()
    assert summary["classes"] == ["Folk", "Rock"]
    assert torch.load(tmp_path / "run" / "best.pt", weights_only=True)["meta"]["folders"] == ["000"]
    assert (summary["train_segments"], summary["val_segments"], summary["test_segments"]) == (12, 3, 3)
    assert {"val_track_acc", "test_track_acc"} <= set(summary)
    card = (tmp_path / "run" / "model.md").read_text()
    assert "FMA's own split" in card and "--fma-metadata" in card and "test split" in card


def test_files_shorter_than_min_seconds_are_skipped_with_a_reason(tmp_path):
    for i in range(6):
        cls = ("calm", "loud")[i % 2]
        (tmp_path / "data" / cls).mkdir(parents=True, exist_ok=True)
        write_audio(tmp_path / "data" / cls / f"t{i}.ogg", styled_track(2.0 if i < 2 else 4.0, i, cls == "loud"))
    summary = make_trainer(tmp_path / "data", tmp_path / "run", "alexnet", "tiny", progress=False, epochs=1,
                           min_seconds=3.0).run()
    assert summary["tracks"] == 4 and summary["short_tracks"] == 2 and summary["classes"] == ["calm", "loud"]
    card = (tmp_path / "run" / "model.md").read_text()
    assert "- skipped: 2 files shorter than 3 s" in card and "--min-seconds 3.0" in card


@pytest.mark.parametrize("args,message", [
    (["--model", "vgg16", "--bypass-dropout", "0.5"], "--bypass-dropout only applies to autoencoders"),
    (["--model", "ae", "--fma-metadata", "meta"], "--fma-metadata only applies to the genre classifiers"),
    (["--model", "vgg16", "--labels-from", "fma"], "need --fma-metadata"),
    (["--model", "resnet"], "choose one of ae, ae_shared, ae_skip, alexnet, vgg11, vgg13, vgg16"),
])
def test_training_options_that_cannot_work_are_refused(tmp_path, args, message):
    r = CliRunner().invoke(app, ["train", str(tmp_path), "-o", str(tmp_path / "run"), *args])
    assert r.exit_code == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_one_class_is_not_enough(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    (tmp_path / "rock").mkdir()
    write_audio(tmp_path / "rock" / "a.ogg", music_like(2.0))
    with pytest.raises(TrainingError, match="at least two classes, found 1"):
        make_trainer(tmp_path, tmp_path / "run", "vgg11", "tiny", progress=False).run()
    with pytest.raises(TrainingError, match="no vgg11_bn-\\*.pth in .*torch/hub/checkpoints"):
        make_trainer(tmp_path, tmp_path / "run2", "vgg11", "tiny", progress=False, pretrained="imagenet",
                     labels_from="folders")._imagenet_file()
