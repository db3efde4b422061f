"""The bundled models: present, small, documented, safe to load, and hearing the music."""

import pickle
import shutil

import numpy as np
import pytest
from media import music_like

from audioviz.errors import ModelError
from audioviz.extract import registry
from audioviz.extract.registry import MODELS, available_models, load_model
from audioviz.pipeline import map_features
from audioviz.scenes.registry import scene_class


AUTOENCODERS = [n for n, s in MODELS.items() if s.family == "autoencoder"]
CLASSIFIERS = [n for n, s in MODELS.items() if s.family == "classifier"]


@pytest.mark.parametrize("name", list(MODELS))
def test_bundled_weights_are_small_and_carded(name):
    spec = MODELS[name]
    assert spec.weights.stat().st_size <= 8 * 1024 * 1024
    card = spec.card.read_text()
    if spec.family == "tagger":  # converted, not trained here: where from, under what terms, how close
        musts = ["## Data", "## Licence", "ISC", "## Citation", "## Conversion", "scripts/convert_musicnn.py",
                 "max difference", "## Fitted mapping"]
    else:
        musts = ["## Training", "audioviz train", "## Data", "## Fitted mapping"]
        musts += ["validation MSE"] if spec.family == "autoencoder" else ["track-level accuracy", "classes: ", "width"]
    for must in musts:
        assert must in card, f"{spec.card.name} lacks {must!r}"


def sections_differ(model, mapping, method="auto") -> float:
    """How far apart the mean parameters of the clip's three sections (tone, noise bursts,
    chords) land: the largest difference of any parameter between neighbouring sections."""
    from audioviz.config import MappingConfig

    samples = music_like(12.0, seed=1)[:, 0]
    feats = model.features(samples)
    assert feats.values.shape == (13, model.feature_size)
    params = map_features(feats.values, mapping, scene_class("bar"), MappingConfig(method=method))
    assert params.min() >= 0 and params.max() <= 1
    thirds = [params[i * 4 : i * 4 + 4].mean(axis=0) for i in range(3)]
    return max(np.abs(thirds[0] - thirds[1]).max(), np.abs(thirds[1] - thirds[2]).max())


@pytest.mark.parametrize("name", AUTOENCODERS)
def test_bundled_models_hear_different_music_differently(name):
    model = load_model(name, device="cpu")
    assert model.feature_size == 10 and model.mapping is not None
    # the three sections of the clip must not map to one picture
    assert sections_differ(model, model.mapping) > 0.1


@pytest.mark.parametrize("name", AUTOENCODERS + CLASSIFIERS)
def test_bundled_models_carry_a_mapping_for_every_layer(name):
    spec = MODELS[name]
    for layer in spec.layers:
        model = load_model(name, device="cpu", layer=layer.name)
        assert model.layer == layer.name and model.feature_size == layer.size
        assert model.mapping is not None and model.mapping.feature_size == layer.size
        # raw maps ten features as they are: only a layer of ten has it
        assert set(model.mapping.methods) == {"pca", "kmeans", "kmeans-pca"} | ({"raw"} if layer.size == 10 else set())
        # (plain kmeans on `ae`'s conv1, whose clusters this clip's segments barely tell apart, moves by 0.035)
        assert sections_differ(model, model.mapping, "pca") > 0.1
        assert sections_differ(model, model.mapping, "kmeans-pca") > 0.1
    assert load_model(name, device="cpu").layer == spec.default_layer
    assert list(model.net.layers) == [layer.name for layer in spec.layers]


def test_listing_needs_no_torch():
    import subprocess
    import sys

    code = "import audioviz.extract.registry as r, sys; r.available_models(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    assert [m.name for m in available_models()] == ["ae", "ae_shared", "ae_skip", "alexnet", "vgg11", "vgg13", "vgg16",
                                                    "musicnn", "musicnn_vgg"]


def test_an_altered_bundled_file_is_refused(tmp_path, monkeypatch):
    src = MODELS["ae"].weights
    shutil.copy(src, tmp_path / src.name)
    with open(tmp_path / src.name, "r+b") as f:
        f.seek(-10, 2)
        f.write(b"0123456789")
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(ModelError, match="checksum does not match"):
        load_model("ae", device="cpu")


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_crafted_pickle_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"format": "audioviz.checkpoint", "x": Payload()}))
    with pytest.raises(ModelError, match="refused, not a plain weights-only checkpoint"):
        load_model(path, device="cpu")
    assert "must never run" not in capsys.readouterr().out


def test_a_checkpoint_of_something_else_is_refused(tmp_path):
    import torch

    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not an audioviz checkpoint"):
        load_model(tmp_path / "other.pt", device="cpu")
    with pytest.raises(ModelError, match="no such model file"):
        load_model(tmp_path / "missing.pt", device="cpu")
