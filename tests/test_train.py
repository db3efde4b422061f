"""Training on a folder of audio: splits, checkpoints, resuming, and a model that renders."""

import csv
import json

import numpy as np
import pytest
from media import music_like, write_audio
from typer.testing import CliRunner

from audioviz.cli import app
from audioviz.errors import ConfigError, TrainingError
from audioviz.extract import checkpoint
from audioviz.extract.corpus import find_audio
from audioviz.extract.registry import load_model
from audioviz.training.autoencoder import TrainConfig, Trainer
from audioviz.training.dataset import validation_tracks


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for i, genre in enumerate(["a", "a", "b", "b", "c"]):
        (root / genre).mkdir(exist_ok=True)
        write_audio(root / genre / f"t{i}.ogg", music_like(4.0 + i, seed=i), extra=("-c:a", "libvorbis"))
    (root / "b" / "broken.mp3").write_bytes(b"not audio at all" * 100)
    (root / "notes.txt").write_text("not audio")
    return root


def log_rows(run):
    with open(run / "log.csv") as f:
        return list(csv.DictReader(f))


def test_find_audio_is_recursive_and_sorted(corpus):
    names = [p.relative_to(corpus).as_posix() for p in find_audio(corpus)]
    assert names == ["a/t0.ogg", "a/t1.ogg", "b/broken.mp3", "b/t2.ogg", "b/t3.ogg", "c/t4.ogg"]


def test_split_by_track_is_stable_and_never_empty():
    tracks = [f"x/{i}.mp3" for i in range(200)]
    val = validation_tracks(tracks, 0.1, seed=0)
    assert 10 <= len(val) <= 30 and val == validation_tracks(list(reversed(tracks)), 0.1, seed=0)
    assert validation_tracks(tracks[:100], 0.1, 0) == {t for t in val if t in tracks[:100]}
    assert len(validation_tracks(["a", "b"], 0.01, 0)) == 1


def test_train_resume_and_render_with_the_result(tmp_path, corpus, song):
    run = tmp_path / "run"
    r = CliRunner().invoke(app, ["train", str(corpus), "-o", str(run), "--preset", "tiny", "--epochs", "1",
                                 "--model", "ae_skip", "--quiet", "--json"])
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["failed_tracks"] == ["b/broken.mp3: " + summary["failed_tracks"][0].split(": ", 1)[1]]
    assert summary["tracks"] == 5 and summary["val_segments"] > 0
    assert [row["epoch"] for row in log_rows(run)] == ["1"]
    first = (run / "best.pt").read_bytes()

    # the same command with more epochs continues instead of starting over
    r = CliRunner().invoke(app, ["train", str(corpus), "-o", str(run), "--preset", "tiny", "--epochs", "3",
                                 "--model", "ae_skip", "--quiet"])
    assert r.exit_code == 0, r.stderr
    assert [row["epoch"] for row in log_rows(run)] == ["1", "2", "3"]
    assert (run / "best.pt").read_bytes() != first
    card = (run / "model.md").read_text()
    assert "ae_skip" in card and "audioviz train" in card and "| 3 |" in card
    # the folders it heard, for benchmarks that must test on others; broken.mp3 gave none
    assert "| a | 2 |" in card and "| b | 2 |" in card and "| c | 1 |" in card
    assert checkpoint.load(run / "best.pt")["meta"]["folders"] == ["a", "b", "c"]

    # what training wrote is a model like the bundled ones: it loads and extracts features
    model = load_model(run, device="cpu")
    assert model.mapping is not None and model.feature_size == 10
    from audioviz.audio import decode

    feats = model.features(decode(song).samples).values
    assert feats.shape == (5, 10) and np.isfinite(feats).all()
    # every conv block is a feature layer with its own mapping, fitted on the same corpus
    for layer in ("conv1", "conv2"):
        block = load_model(run, device="cpu", layer=layer)
        assert block.mapping is not None and block.mapping.feature_size == block.feature_size > 10
        assert block.mapping.meta["layer"] == layer and block.title == f"{run} layer {layer}"
        assert block.features(decode(song).samples).values.shape == (5, block.feature_size)


def test_a_wider_code_is_mapped_through_pca(tmp_path, corpus, song):
    run = tmp_path / "run"
    r = CliRunner().invoke(app, ["train", str(corpus), "-o", str(run), "--preset", "tiny", "--epochs", "1",
                                 "--code-size", "16", "--quiet"])
    assert r.exit_code == 0, r.stderr
    assert json.loads((run / "config.json").read_text())["ae"]["enc_len"] == 16
    card = (run / "model.md").read_text()
    assert "code of 16 with a sigmoid" in card and "--code-size 16" in card
    from audioviz import MappingConfig, extract_params

    assert load_model(run, device="cpu").feature_size == 16
    params = extract_params(song, model=str(run), device="cpu")
    assert params.mapping["method"] == "pca" and params.features.values.shape == (5, 16)
    assert params.values.shape == (5, 10) and np.ptp(params.values, axis=0).max() > 0
    with pytest.raises(ConfigError, match="--mapping raw needs exactly 10 features, model .* gives 16"):
        extract_params(song, model=str(run), device="cpu", mapping=MappingConfig(method="raw"))
    r = CliRunner().invoke(app, ["train", str(corpus), "-o", str(tmp_path / "x"), "--code-size", "5"])
    assert r.exit_code == 1
    assert r.stderr.strip() == "error: --code-size must be a whole number from 10 to 4096, not 5"
    r = CliRunner().invoke(app, ["train", str(corpus), "-o", str(tmp_path / "x"), "--model", "vgg11", "--code-size", "16"])
    assert r.stderr.strip() == "error: --code-size only applies to autoencoders, not to vgg11"


def test_other_settings_in_the_same_folder_are_refused(tmp_path, corpus):
    run = tmp_path / "run"
    Trainer(corpus, run, TrainConfig.from_preset("tiny", epochs=1), progress=False).run()
    with pytest.raises(TrainingError, match="holds a run with other settings \\(lr\\)"):
        Trainer(corpus, run, TrainConfig.from_preset("tiny", epochs=1, lr=0.5), progress=False).run()


def test_an_interrupted_epoch_resumes_where_it_stopped(tmp_path, corpus, monkeypatch):
    run = tmp_path / "run"
    config = TrainConfig.from_preset("tiny", epochs=1, batch_size=4)
    calls = {"n": 0}
    import torch

    real_step = torch.optim.Adam.step

    def interrupt_after_3(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", interrupt_after_3)
    with pytest.raises(KeyboardInterrupt):
        Trainer(corpus, run, config, progress=False).run()
    state = torch.load(run / "last.pt", weights_only=True)["state"]
    assert (state["epoch"], state["step"]) == (0, 3)
    monkeypatch.setattr(torch.optim.Adam, "step", real_step)
    summary = Trainer(corpus, run, config, progress=False).run()
    assert summary["best_epoch"] == 1 and len(log_rows(run)) == 1


def test_files_shorter_than_min_seconds_are_left_out(tmp_path, corpus):
    run = tmp_path / "run"
    r = CliRunner().invoke(app, ["train", str(corpus), "-o", str(run), "--preset", "tiny", "--epochs", "1",
                                 "--min-seconds", "6.5", "--quiet", "--json"])
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    # t0 to t2 last 4 to 6 s; broken.mp3 has no length to read, so decoding judges it, and fails
    assert (summary["tracks"], summary["short_tracks"], len(summary["failed_tracks"])) == (2, 3, 1)
    assert checkpoint.load(run / "best.pt")["meta"]["folders"] == ["b", "c"]
    card = (run / "model.md").read_text()
    assert "1 files skipped as unusable, 3 shorter than 6.5 s left out" in card and "--min-seconds 6.5" in card

    r = CliRunner().invoke(app, ["train", str(corpus / "a"), "-o", str(tmp_path / "none"), "--preset", "tiny",
                                 "--min-seconds", "60", "--quiet"])
    assert r.exit_code == 1 and "none of its 2 audio files lasts --min-seconds 60 s or more" in r.stderr
    assert not (tmp_path / "none").exists()
    with pytest.raises(TrainingError, match="--min-seconds must be a number at least 0"):
        TrainConfig.from_preset("tiny", min_seconds=-1.0)


def test_no_audio_is_a_clear_error(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(TrainingError, match="no audio files found"):
        Trainer(tmp_path, tmp_path / "run", TrainConfig.from_preset("tiny"), progress=False).run()


def test_corpus_keeps_few_files_open(tmp_path, monkeypatch):
    """Each memory-mapped track holds a file descriptor: FMA's 25,000 tracks must not need 25,000."""
    from audioviz.training.dataset import Corpus, Track

    tracks = []
    for i in range(5):
        np.save(tmp_path / f"{i}.npy", np.full((3, 64, 96), i, dtype=np.float16))
        tracks.append(Track(f"{i}.ogg", "train", f"{i}.npy", 3))
    corpus = Corpus(tmp_path, tmp_path, tracks)
    monkeypatch.setattr(Corpus, "max_open", 2)
    pairs = np.array([[t, s] for s in range(3) for t in range(5)])
    x = corpus.batch(pairs)
    assert x.shape == (15, 1, 64, 96) and (x[:, 0, 0, 0] == pairs[:, 0]).all()
    assert len(corpus._arrays) == 2


def test_the_searched_settings_are_train_options_too(tmp_path, corpus):
    # a tuned trial's model card says how to train it again with `audioviz train` (audioviz tune)
    run = tmp_path / "run"
    r = CliRunner().invoke(app, ["train", str(corpus), "-o", str(run), "--preset", "tiny", "--epochs", "1",
                                 "--width", "4", "--no-code-norm", "--optimizer", "sgd", "--momentum", "0.5", "--quiet"])
    assert r.exit_code == 0, r.output
    saved = json.loads((run / "config.json").read_text())["train"]
    assert (saved["width"], saved["code_norm"], saved["momentum"]) == (4, False, 0.5)
    assert "--momentum 0.5 --width 4 --no-code-norm" in (run / "model.md").read_text()
    r = CliRunner().invoke(app, ["train", str(corpus), "-o", str(tmp_path / "x"), "--dropout", "0.3"])
    assert r.exit_code == 1
    assert r.stderr.strip() == "error: --dropout only applies to the genre classifiers (alexnet, vgg11, vgg13, vgg16), not to ae_shared"
