"""Issue 8, the side files: what audioviz reads from model checkpoints, fitted mappings, FMA's
metadata and a training run's folder, and the `train` command. Every damaged, crafted or
impossible value is one line "error: ..." (naming the file or model and the value) and exit
status 1, before any audio is decoded; never a traceback, a hang, a RuntimeWarning or a
multi-GB allocation; and nothing is left behind."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from audioviz.cli import app
from audioviz.errors import ConfigError, InputError, ModelError, TrainingError
from audioviz.mapping import fitted
from audioviz.mapping.fitted import FittedMapping

FAST = ["--size", "64x36", "--fps", "10", "--quiet"]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def cli(*args, timeout=60) -> subprocess.CompletedProcess:
    """The command in a process of its own: where a hang would be the bug, it times out."""
    return subprocess.run([sys.executable, "-m", "audioviz", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def the_error(stderr: str) -> str:
    """The one line on stderr, an `error:` line, with no traceback and nothing else."""
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def leftovers(folder: Path, *keep: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p not in keep]


# -- checkpoints ----------------------------------------------------------------------------------

def crafted(tiny_model: Path, path: Path, change) -> Path:
    """The tiny model's checkpoint with `change(ckpt)` applied, saved as `path`."""
    from audioviz.extract import checkpoint

    ckpt = copy.deepcopy(checkpoint.load(tiny_model))
    change(ckpt)
    return checkpoint.save(ckpt, path)


def _set(part: str, **values):
    return lambda c: c[part].update(values)


def _first_weight(value):
    def change(c):
        key = next(iter(c["state_dict"]))
        c["state_dict"][key] = value(c["state_dict"][key])
    return change


def _tensor(*args):
    import torch

    return torch.full(*args)


IMPOSSIBLE = {
    # the frontend: what the decoder and the MFCCs are asked for
    "hop length 0": (_set("frontend", hop_length=0), "frontend hop_length 0 is out of range (1 to 1102)"),
    "n_fft 10**9": (_set("frontend", n_fft=10**9), "frontend n_fft 1000000000 is out of range (16 to 65536)"),
    "a bool rate": (_set("frontend", sample_rate=True), "frontend sample_rate True is not a whole number"),
    "a float rate": (_set("frontend", sample_rate=44100.5), "frontend sample_rate 44100.5 is not a whole number"),
    "top_db nan": (_set("frontend", top_db=float("nan")), "frontend top_db nan is not a positive number of decibels"),
    "empty mel filters": (_set("frontend", n_fft=256, hop_length=128, n_mels=120),
                          "frontend n_mels 120 is too many for n_fft 256 at 44100 Hz: some mel filters would hold "
                          "no FFT bin"),
    "an unknown setting": (_set("frontend", window="hann"), "frontend has unknown settings window"),
    "fewer MFCCs than the network takes": (_set("frontend", n_mfcc=32),
                                           "the network takes 64 x 96 inputs, but its frontend gives 32 MFCCs x 96 "
                                           "frames"),
    # the input normalisation
    "an unknown normalisation": (_set("norm", kind="zscore"), "unknown input normalisation 'zscore' (known: minmax, "
                                                              "standard)"),
    "lo of the wrong shape": (lambda c: c["norm"].update(lo=c["norm"]["lo"][:3]),
                              "input normalisation lo has shape (3,), not (64,) for 64 MFCCs"),
    "lo NaN": (lambda c: c["norm"].update(lo=_tensor((64,), float("nan"))),
               "input normalisation lo holds NaN or infinite values"),
    "lo equal to hi": (lambda c: c["norm"].update(hi=c["norm"]["lo"].clone()),
                       "input normalisation minmax: hi is not above lo for every coefficient"),
    "lo a list": (lambda c: c["norm"].update(lo=[0.0] * 64), "input normalisation minmax has no float tensor 'lo'"),
    # the architecture and its weights
    "no pools": (_set("config", num_pools=0), "num_pools 0 is not a whole number from 1 to 8"),
    "ten million filters": (_set("config", num_init_filters=10**7),
                            "num_init_filters 10000000 is not a whole number from 1 to 4096"),
    "a float code length": (_set("config", enc_len=10.0), "enc_len 10.0 is not a whole number from 1 to 65536"),
    "a NaN weight": (_first_weight(lambda t: t.fill_(float("nan"))), "weight conv1.0.weight holds NaN or infinite values"),
    "a weight of another shape": (_first_weight(lambda t: t[:2]),
                                  "weight conv1.0.weight has shape (2, 1, 3, 3); its architecture needs (4, 1, 3, 3)"),
    # the rest of the structure
    "meta a list": (lambda c: c.update(meta=[1, 2]), "its meta is a list, not a dict"),
    "layer mappings a list": (lambda c: c.update(layer_mappings=[1]), "its layer_mappings is a list, not a dict"),
}


@pytest.mark.parametrize("what", list(IMPOSSIBLE))
def test_impossible_checkpoint_values_are_one_line_naming_model_and_value(tmp_path, tiny_model, song, what):
    change, reason = IMPOSSIBLE[what]
    bad = crafted(tiny_model, tmp_path / "bad.pt", change)
    out = tmp_path / "out" / "x.mp4"
    r = run("render", song, "--model", bad, "-o", out, *FAST)
    assert r.exit_code == 1
    assert the_error(r.stderr) == f"error: model '{bad}': checkpoint does not describe a usable network ({reason})"
    assert leftovers(tmp_path, bad) == []


@pytest.mark.parametrize("what,change,reason", [
    ("feature size as text", lambda c: c["mapping"]["meta"].update(feature_size="10"), "its meta has no feature size"),
    ("meta a list", lambda c: c["mapping"].update(meta=[1]), "its meta is not a dict"),
    ("model_features a number", lambda c: c["mapping"]["meta"].update(model_features=5),
     "its meta's model_features is 5"),
    ("a scale of zero", lambda c: c["mapping"]["arrays"]["input.scale"].zero_(), "a scale is zero or negative"),
])
def test_a_checkpoints_mapping_is_checked_as_a_files_is(tmp_path, tiny_model, song, what, change, reason):
    bad = crafted(tiny_model, tmp_path / "bad.pt", change)
    r = run("render", song, "--model", bad, "-o", tmp_path / "x.mp4", *FAST)
    assert r.exit_code == 1
    assert the_error(r.stderr) == f"error: model '{bad}': not a usable fitted mapping ({reason})"
    assert leftovers(tmp_path, bad) == []


def test_a_sample_rate_of_zero_is_refused_quickly_not_a_hung_decoder(tmp_path, tiny_model, song):
    """A rate of 0 Hz had the decoder wait forever on a chunk of 0 bytes."""
    bad = crafted(tiny_model, tmp_path / "sr0.pt", _set("frontend", sample_rate=0))
    out = tmp_path / "x.mp4"
    r = cli("render", song, "--model", bad, "-o", out, *FAST)
    assert r.returncode == 1
    assert the_error(r.stderr) == (f"error: model '{bad}': checkpoint does not describe a usable network "
                                   "(frontend sample_rate 0 is out of range (1000 to 768000))")
    assert leftovers(tmp_path, bad) == []


def test_a_model_that_is_not_a_regular_file_is_refused(tmp_path, song):
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    r = cli("render", song, "--model", fifo, "-o", tmp_path / "x.mp4", *FAST)
    assert r.returncode == 1
    assert the_error(r.stderr) == f"error: {fifo}: is not a regular file (a device, pipe or socket); give a model file"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    r = run("render", song, "--model", run_dir, "-o", tmp_path / "x.mp4", *FAST)
    assert the_error(r.stderr) == (f"error: {run_dir}: a folder without best.pt; a training run writes it after its "
                                   "first epoch")
    os.mkfifo(run_dir / "best.pt")
    r = run("render", song, "--model", run_dir, "-o", tmp_path / "x.mp4", *FAST)
    assert the_error(r.stderr) == (f"error: {run_dir / 'best.pt'}: is not a regular file (a device, pipe or socket); "
                                   "give a model file")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["best.pt", "pipe.pt", "run"]


CHECK_WITHOUT_TORCH = textwrap.dedent("""
    import sys, time
    from audioviz.errors import ModelError
    from audioviz.extract.registry import check_model

    t = time.perf_counter()
    for name, layer in [("nope", None), (sys.argv[1], None), ("vgg16", "L99")]:
        try:
            check_model(name, layer)
        except ModelError as e:
            print(e)
    check_model("ae_shared")
    check_model("vgg16", "L14")
    print("torch" in sys.modules, time.perf_counter() - t < 1.0)
""")


def test_unknown_models_are_refused_without_loading_torch(tmp_path):
    fifo = tmp_path / "x.pt"
    os.mkfifo(fifo)
    r = subprocess.run([sys.executable, "-c", CHECK_WITHOUT_TORCH, str(fifo)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "unknown model 'nope'; choose one of ae, ae_shared, ae_skip, alexnet, vgg11, vgg13, vgg16, musicnn, "
        "musicnn_vgg or give a path to a .pt checkpoint",
        f"{fifo}: is not a regular file (a device, pipe or socket); give a model file",
        "model 'vgg16' has no feature layer 'L99'; its layers are L13 (256 features), L14 (512 features), "
        "L15 (512 features)",
        "False True",
    ]


# -- fitted mappings --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def good_mapping() -> FittedMapping:
    return FittedMapping.fit(np.random.default_rng(0).normal(size=(40, 10)))


def npy(header: str, data: bytes = b"", version: int = 1, length: int | None = None) -> bytes:
    """An .npy file with this very header text (and header length, when given)."""
    text = header.encode("latin1")
    size = len(text) if length is None else length
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<H" if version == 1 else "<I", size) + text + data


def array_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def mapping_file(path: Path, mapping: FittedMapping, replace: dict[str, bytes], compress: bool = False) -> Path:
    """`mapping` as an .npz written member by member, with the members in `replace` as given."""
    members = {"__meta__": array_bytes(np.array(json.dumps(mapping.meta)))}
    members |= {k: array_bytes(a) for k, a in mapping.arrays.items()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for key, data in (members | replace).items():
            z.writestr(key + ".npy", data)
    return path


TEN = bytes(80)  # ten float64 zeros
HOSTILE_HEADERS = {
    "an enormous shape": (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", TEN),
                          "input.mean's header declares 8796093022208 bytes of data, the archive holds 80"),
    "a shape that does not match the data": (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", TEN),
                                             "input.mean's header declares 40 bytes of data, the archive holds 80"),
    "a negative shape": (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-10,), }", TEN),
                         "input.mean's header has no valid shape"),
    "three dimensions": (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 10), }", TEN),
                         "input.mean has 3 dimensions"),
    "records": (npy("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (10,), }", TEN),
                "input.mean holds records, not numbers"),
    "strings": (npy("{'descr': '<U2', 'fortran_order': False, 'shape': (10,), }", TEN),
                "input.mean holds <U2, not numbers"),
    "complex numbers": (npy("{'descr': '<c16', 'fortran_order': False, 'shape': (10,), }", TEN + TEN),
                        "input.mean holds complex128, not numbers"),
    "booleans": (npy("{'descr': '|b1', 'fortran_order': False, 'shape': (10,), }", bytes(10)),
                 "input.mean holds bool, not numbers"),
    "a nested header dict": (npy("{'header': {'descr': '<f8', 'fortran_order': False, 'shape': (10,)}}", TEN),
                             "input.mean's header is not an .npy header"),
    "a malformed header": (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (10,", TEN),
                           "input.mean's header is not an .npy header"),
    "a huge header": (npy("{", TEN, version=2, length=2**31),
                      "input.mean's header is 2147483648 bytes long, more than the 4096 an array's needs"),
    "a deeply nested header": (npy("{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 1000 + ")" * 1000
                                   + "}", TEN), "input.mean's header is not an .npy header"),
}


@pytest.mark.parametrize("what", list(HOSTILE_HEADERS))
def test_hostile_array_headers_in_a_mapping_are_one_model_error(tmp_path, good_mapping, what):
    member, reason = HOSTILE_HEADERS[what]
    path = mapping_file(tmp_path / "evil.npz", good_mapping, {"input.mean": member})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's ComplexWarning for one
        with pytest.raises(ModelError) as e:
            FittedMapping.load(path)
    assert str(e.value) == f"{path}: not a fitted mapping file ({reason})"


def test_a_mapping_whose_arrays_would_take_too_much_memory_is_refused(tmp_path, good_mapping, monkeypatch):
    """Each member's uncompressed size counts, before anything is decompressed."""
    monkeypatch.setattr(fitted, "MAX_MAPPING_BYTES", 1 << 20)
    big = array_bytes(np.zeros(1 << 18))  # 2 MB of zeros: a few kB deflated
    path = mapping_file(tmp_path / "big.npz", good_mapping, {"padding": big}, compress=True)
    assert path.stat().st_size < 100_000
    with pytest.raises(ModelError, match=re.escape(f"{path}: not a fitted mapping file (its arrays would take 2 MB; "
                                                   "a mapping takes a few)")):
        FittedMapping.load(path)


LOAD_UNDER_A_MEMORY_LIMIT = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from audioviz.errors import ModelError
    from audioviz.mapping.fitted import FittedMapping
    try:
        FittedMapping.load(sys.argv[1])
    except ModelError as e:
        print(e)
""")


def test_a_mapping_header_never_makes_numpy_allocate_what_it_declares(tmp_path, good_mapping):
    """8 GB declared, 80 bytes held: under a 1 GB address-space limit numpy's own reader raised
    MemoryError; the header is now checked against the member's size first."""
    member = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1073741824,), }", TEN)
    path = mapping_file(tmp_path / "evil.npz", good_mapping, {"input.mean": member})
    r = subprocess.run([sys.executable, "-c", LOAD_UNDER_A_MEMORY_LIMIT, str(path)], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout == (f"{path}: not a fitted mapping file (input.mean's header declares 8589934592 bytes of data, "
                        "the archive holds 80)\n")


def test_a_hostile_mapping_on_the_command_line_is_one_error_line(tmp_path, good_mapping, tiny_model, song):
    member, reason = HOSTILE_HEADERS["an enormous shape"]
    evil = mapping_file(tmp_path / "evil.npz", good_mapping, {"input.mean": member})
    r = run("render", song, "--model", tiny_model, "--fit", evil, "-o", tmp_path / "x.mp4", *FAST)
    assert r.exit_code == 1
    assert the_error(r.stderr) == f"error: {evil}: not a fitted mapping file ({reason})"
    assert leftovers(tmp_path, evil) == []


def test_a_fit_file_that_is_a_fifo_is_refused_not_read_forever(tmp_path, tiny_model, song):
    fifo = tmp_path / "mapping.npz"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=re.escape(f"{fifo}: is not a regular file (a device, pipe or socket); "
                                                    "give a fitted mapping")):
        FittedMapping.locate(tmp_path / "mapping")  # the .npz may be left out
    r = cli("extract", song, "--model", tiny_model, "--mapped", "--fit", fifo, "-o", tmp_path / "p.npy", "--quiet")
    assert r.returncode == 1
    assert the_error(r.stderr) == f"error: {fifo}: is not a regular file (a device, pipe or socket); give a fitted mapping"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mapping.npz"]
    with pytest.raises(ConfigError, match="no such fitted mapping \\(make one with `audioviz fit`\\)"):
        FittedMapping.locate(tmp_path / "missing.npz")


# -- the mapping's arithmetic: no RuntimeWarnings ---------------------------------------------------

def test_features_that_never_vary_fit_without_warnings_and_map_to_the_middle():
    """A held tone fitted with --fit track: PCA divided 0 by 0 (two RuntimeWarnings) and the
    mapping was refused as holding NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mapping = FittedMapping.fit(np.full((30, 10), 0.3))
        out = {m: mapping.transform(np.full((5, 10), 0.3), m, "standard", "features") for m in mapping.methods}
    assert mapping.arrays["pca.variance_ratio"].tolist() == [0.0] * 10
    assert all(np.array_equal(v, np.full((5, 10), 0.5, np.float32)) for v in out.values())


def test_features_too_large_to_fit_on_are_a_config_error_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match="^features to fit on are too large to fit a mapping on \\(their "
                                              "statistics overflow\\)$"):
            FittedMapping.fit(np.random.default_rng(0).normal(size=(30, 10)) * 1e200)


def test_features_far_outside_the_fit_clip_to_the_ends_without_warnings():
    """Scaled, 1e307 overflows to inf: the right answer (a clip to 1) came with a RuntimeWarning.
    Where the overflow makes NaN, the mapping says so instead of handing NaN to the scene."""
    mapping = FittedMapping.fit(np.random.default_rng(0).normal(size=(40, 10)) * 0.01)  # scales near 0.01
    signs = np.where(np.random.default_rng(1).normal(size=(4, 10)) > 0, 1.0, -1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = mapping.transform(signs * 1e307, "raw", "minmax", "features")
        with pytest.raises(ModelError, match="^the fitted mapping cannot map these features with pca: they lie so far "
                                             "outside what it was fitted on that its arithmetic overflows"):
            mapping.transform(signs * 1e307, "pca", "standard", "features")
    assert np.array_equal(out, (signs > 0).astype(np.float32))


# -- training ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--lr", "nan"], "--lr must be a number above 0 and at most 1, not nan"),
    (["--lr", "inf"], "--lr must be a number above 0 and at most 1, not inf"),
    (["--lr", "0"], "--lr must be a number above 0 and at most 1, not 0.0"),
    (["--epochs", "0"], "--epochs must be a whole number from 1 to 100000, not 0"),
    (["--batch-size", "0"], "--batch-size must be a whole number from 1 to 65536, not 0"),
    (["--val-fraction", "nan"], "--val-fraction must be a number above 0 and below 1, not nan"),
    (["--val-fraction", "1"], "--val-fraction must be a number above 0 and below 1, not 1.0"),
    (["--bypass-dropout", "nan"], "--bypass-dropout must be a number at least 0 and at most 1, not nan"),
    (["--max-segments-per-track", "-1"], "--max-segments-per-track must be a whole number from 0 to 2147483647, not -1"),
    (["--seed", "-1"], "--seed must be a whole number from 0 to 9223372036854775807, not -1"),
    (["--model", "vgg11", "--lr", "nan"], "--lr must be a number above 0 and at most 1, not nan"),
])
def test_training_options_out_of_range_are_one_line_before_any_work(tmp_path, corpus_dir, args, message):
    run_dir = tmp_path / "run"
    r = run("train", corpus_dir, "-o", run_dir, "--preset", "tiny", "--quiet", *args)
    assert r.exit_code == 1
    assert the_error(r.stderr) == f"error: {message}"
    assert not run_dir.exists()


def test_a_train_output_that_is_a_file_is_one_line(tmp_path, corpus_dir):
    target = tmp_path / "run"
    target.write_text("mine")
    r = run("train", corpus_dir, "-o", target, "--preset", "tiny", "--quiet")
    assert r.exit_code == 1
    assert the_error(r.stderr) == f"error: {target}: is a file, not a folder; give -o a folder for the run"
    assert target.read_text() == "mine" and leftovers(tmp_path, target) == []


def test_a_failed_train_does_not_block_the_next_try_with_other_settings(tmp_path, corpus_dir):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.mp3").write_bytes(b"not audio at all" * 100)
    run_dir = tmp_path / "run"
    r = run("train", broken, "-o", run_dir, "--preset", "tiny", "--epochs", "1", "--quiet")
    assert the_error(r.stderr) == f"error: {broken}: no usable training audio (every file failed or was too short)"
    assert (run_dir / "config.json").is_file()  # the failed run's settings, and no checkpoint

    r = run("train", corpus_dir, "-o", run_dir, "--preset", "tiny", "--epochs", "1", "--lr", "0.002", "--quiet")
    assert r.exit_code == 0, r.stderr
    assert json.loads((run_dir / "config.json").read_text())["train"]["lr"] == 0.002
    assert (run_dir / "best.pt").is_file()
    # a run with checkpoints still holds its settings
    r = run("train", corpus_dir, "-o", run_dir, "--preset", "tiny", "--epochs", "1", "--lr", "0.003", "--quiet")
    assert the_error(r.stderr) == (f"error: {run_dir} holds a run with other settings (lr); use a new output folder "
                                   "or the same options")


def test_a_last_checkpoint_that_is_not_one_is_one_line(tmp_path, corpus_dir):
    import torch

    from audioviz.training.autoencoder import TrainConfig, Trainer
    from audioviz.training.run_folder import check_run_folder

    run_dir = tmp_path / "run"
    config = TrainConfig.from_preset("tiny", epochs=1)
    check_run_folder(run_dir, config, {})
    torch.save({"weights": torch.zeros(3)}, run_dir / "last.pt")
    with pytest.raises(TrainingError) as e:
        Trainer(corpus_dir, run_dir, config, progress=False).run()
    assert str(e.value) == (f"{run_dir / 'last.pt'}: not a training checkpoint of audioviz; delete it to start the "
                            "run over, or use a new output folder")
    torch.save({"state_dict": {}, "optimizer": {}, "norm": {"kind": "minmax"}, "state": {"epoch": 0, "step": 0}},
               run_dir / "last.pt")
    with pytest.raises(TrainingError, match=re.escape("last.pt: cannot resume from it (input normalisation minmax "
                                                      "has no float tensor 'lo'); delete it")):
        Trainer(corpus_dir, run_dir, config, progress=False).run()


def prepare(corpus_dir: Path, cache: Path, max_segments: int | None = None):
    from audioviz.training.dataset import Corpus
    from audioviz.extract.frontend import FrontendConfig

    return Corpus.prepare(corpus_dir, cache, FrontendConfig(), 0.25, 0, max_segments)


def test_a_damaged_training_cache_is_rebuilt_with_a_warning(tmp_path, corpus_dir, capsys):
    cache = tmp_path / "cache"
    first = prepare(corpus_dir, cache)
    entries = sorted(cache.glob("*.npy"))
    assert len(entries) == 4 and sorted(p.name for p in cache.iterdir() if p.suffix != ".npy") == ["index.json"]
    assert capsys.readouterr().err == ""
    good = entries[0].read_bytes()
    entries[0].write_bytes(good[: len(good) // 2])  # cut short, as a full disk or a crash leaves it
    entries[1].write_bytes(b"garbage")
    again = prepare(corpus_dir, cache)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(ln.startswith(f"warning: {cache}/") for ln in err), err
    assert "damaged cache entry for calm/track1.ogg (mmap length is greater than file size)" in err[0]
    assert entries[0].read_bytes() == good
    assert [t.segments for t in again.tracks] == [t.segments for t in first.tracks]
    assert again.batch(again.indices("train")[:2]).shape == (2, 1, 64, 96)

    (cache / "index.json").write_text('{"tracks": [{"path": 1}]}')
    prepare(corpus_dir, cache)
    assert capsys.readouterr().err == (f"warning: {cache / 'index.json'}: damaged training cache index (a track entry "
                                       "is malformed); preparing every track again\n")
    # other settings make other entries: not damage, nothing to warn about
    assert {t.segments for t in prepare(corpus_dir, cache, max_segments=2).tracks} == {0, 2}
    assert capsys.readouterr().err == ""
    assert not [p for p in cache.iterdir() if ".tmp" in p.name]


# -- other side files ---------------------------------------------------------------------------------

def test_fma_metadata_and_imagenet_weights_must_be_regular_files(tmp_path):
    from audioviz.training import make_trainer
    from audioviz.fma import tracks_csv

    meta = tmp_path / "fma_metadata"
    meta.mkdir()
    os.mkfifo(meta / "tracks.csv")
    with pytest.raises(InputError) as e:
        tracks_csv(meta)
    assert str(e.value) == f"{meta / 'tracks.csv'}: is not a regular file (a device, pipe or socket); give a tracks.csv"
    os.mkfifo(tmp_path / "vgg11_bn.pth")
    trainer = make_trainer(tmp_path, tmp_path / "run", "vgg11", "tiny", progress=False,
                           pretrained=str(tmp_path / "vgg11_bn.pth"))
    with pytest.raises(TrainingError) as e:
        trainer._imagenet_file()
    assert str(e.value) == (f"{tmp_path / 'vgg11_bn.pth'}: is not a regular file (a device, pipe or socket); give a "
                            "torchvision weights file")
