from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from media import music_like, write_audio  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "llvmpipe: needs Mesa's software rasteriser (skipped where GL is a GPU's)")


_SOFTWARE_GL: list[bool] = []


def software_gl() -> bool:
    """Whether the default GL here is a software rasteriser (asked once a session)."""
    if not _SOFTWARE_GL:
        from audioviz.render.context import create_context, is_software

        ctx = create_context()
        _SOFTWARE_GL.append(is_software(ctx))
        ctx.release()
    return _SOFTWARE_GL[0]


def pytest_runtest_setup(item):
    if item.get_closest_marker("llvmpipe") is not None and not software_gl():
        pytest.skip("needs Mesa's software rasteriser; the GL here is a GPU's")


@pytest.fixture(scope="session", autouse=True)
def feature_cache(tmp_path_factory):
    """Keep the feature cache of `fit` and `analyze` out of the user's home."""
    import os

    path = tmp_path_factory.mktemp("cache")
    os.environ["AUDIOVIZ_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    """A small music folder in two sub-folders, with one file that is not audio."""
    root = tmp_path_factory.mktemp("corpus")
    for group, seeds in (("calm", (1, 2)), ("loud", (3, 4))):
        (root / group).mkdir()
        for seed in seeds:
            x = music_like(12.0, seed)
            if group == "loud":
                x = np.clip(x * 3 + np.random.default_rng(seed).normal(0, 0.2, x.shape), -1, 1).astype(np.float32)
            write_audio(root / group / f"track{seed}.ogg", x)
    (root / "loud" / "broken.mp3").write_bytes(b"not audio at all" * 100)
    return root


@pytest.fixture(scope="session")
def song(tmp_path_factory) -> Path:
    """Four seconds of music-like stereo audio as mp3."""
    return write_audio(tmp_path_factory.mktemp("audio") / "song.mp3", music_like(4.0))


def make_tiny_checkpoint(path: Path, variant: str = "ae_shared", seed: int = 0) -> Path:
    """A small random autoencoder with real input statistics and a fitted mapping, as a
    checkpoint file: what a user's own trained model looks like to `--model path.pt`."""
    import torch

    from audioviz.extract import checkpoint
    from audioviz.extract.features import normalise
    from audioviz.extract.frontend import FrontendConfig, MFCCFrontend
    from audioviz.mapping.fitted import FittedMapping
    from audioviz.training.autoencoder import PRESETS
    from dataclasses import replace

    torch.manual_seed(seed)
    from audioviz.extract.models import ConvAutoencoder

    cfg = replace(PRESETS["tiny"]["ae"], variant=variant)
    net = ConvAutoencoder(cfg).eval()
    seg = MFCCFrontend().segments(music_like(12.0, seed)[:, 0])
    flat = seg.mfcc[:, 0].permute(1, 0, 2).reshape(64, -1)
    norm = {"kind": "minmax", "lo": flat.min(dim=1).values, "hi": flat.max(dim=1).values + 1e-3}
    with torch.no_grad():
        net.train()  # let batch norm see the data once
        net.encode(normalise(seg.mfcc, norm))
        net.eval()
        feats = net.encode(normalise(seg.mfcc, norm)).numpy()
    mapping = FittedMapping.fit(feats, fitted_on="tests")
    ckpt = checkpoint.pack(name=f"tiny-{variant}", arch="autoencoder", config=cfg.to_dict(), state_dict=net.state_dict(),
                           frontend=FrontendConfig().to_dict(), norm=norm, mapping=mapping.to_dict(), meta={})
    return checkpoint.save(ckpt, path)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("models") / "tiny.pt")


def make_tiny_classifier(path: Path, arch: str = "vgg16", seed: int = 0) -> Path:
    """A narrow random genre classifier with standard input statistics and a fitted mapping
    for each feature layer, as a checkpoint file (what `audioviz train --model vgg16` writes)."""
    import torch

    from audioviz.extract import checkpoint
    from audioviz.extract.classifiers import ClassifierConfig, GenreClassifier
    from audioviz.extract.features import normalise
    from audioviz.extract.frontend import FrontendConfig, MFCCFrontend
    from audioviz.mapping.fitted import FittedMapping

    torch.manual_seed(seed)
    net = GenreClassifier(ClassifierConfig(arch, ("calm", "loud"), width_divisor=32)).eval()
    seg = MFCCFrontend().segments(music_like(12.0, seed)[:, 0])
    flat = seg.mfcc[:, 0].permute(1, 0, 2).reshape(64, -1)
    norm = {"kind": "standard", "mean": flat.mean(dim=1), "std": flat.std(dim=1) + 1e-3}
    with torch.no_grad():
        x = normalise(seg.mfcc, norm)
        mappings = {layer: FittedMapping.fit(net.encode(x, layer).numpy(), layer=layer, fitted_on="tests")
                    for layer in net.layers}
    default = net.default_layer
    ckpt = checkpoint.pack(name=f"tiny-{arch}", arch="classifier", config=net.config.to_dict(), state_dict=net.state_dict(),
                           frontend=FrontendConfig().to_dict(), norm=norm, mapping=mappings[default].to_dict(), meta={},
                           layer_mappings={k: m.to_dict() for k, m in mappings.items() if k != default})
    return checkpoint.save(ckpt, path)


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory) -> Path:
    return make_tiny_classifier(tmp_path_factory.mktemp("models") / "tiny-vgg16.pt")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
