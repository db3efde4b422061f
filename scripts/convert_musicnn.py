"""Convert musicnn's pretrained taggers (TensorFlow 1 checkpoints) into audioviz checkpoints, once.

TensorFlow, librosa and musicnn live in a throwaway environment of their own, never in
audioviz's:

    python3.11 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu==2.15.1 librosa==0.11.0
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0
    /tmp/tfenv/bin/python scripts/convert_musicnn.py --audioviz-python .venv/bin/python \\
        --corpus DEST --heldout OTHER_MUSIC_DIR [--work DIR]

DEST is a folder holding the five collections the other bundled models were trained on
(`shared/tools/music-corpus.sh DEST asc-music drascula-music planetblupi-music-ogg
singularity-music wesnoth-1.16-music`): the bundled fitted mappings are fitted on it.
OTHER_MUSIC_DIR is music none of the models heard, for measuring the port on real audio
(nothing of it is written into the repository).

What it does, in this environment (TensorFlow):
1. reads each model's variables from its checkpoint (the optimiser's slots left out) and
   writes them under audioviz's torch names and layouts into the work folder;
2. runs the original musicnn (its own graph and librosa frontend, fed the samples directly
   instead of a file) on the synthetic clips of tests/musicnn_clips.py, and stores its tag
   probabilities, embeddings and float16 mel spectrograms in tests/data/musicnn_reference.npz;
3. runs it likewise on 30 s of each of a few held-out tracks (decoded to 16 kHz by audioviz
   first, so both sides hear the same samples);
then, in audioviz's environment (`pack`, run through --audioviz-python):
4. builds the torch port, checks it against steps 2 and 3 (and prints the differences), fits
   each feature layer's mapping on DEST, and writes audioviz/extract/weights/<name>-<sha8>.pt.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "musicnn_reference.npz"
WEIGHTS = ROOT / "audioviz" / "extract" / "weights"
MAX_BYTES = 8 * 1024 * 1024
HELDOUT_TRACKS = 6  # one from each of the first collections found, 30 s from 30 s in
HELDOUT_START, HELDOUT_SECONDS = 30.0, 30.0
SEED = 0

# musicnn's model -> (audioviz name, architecture variant, which label list)
MODELS = {
    "MSD_musicnn": ("musicnn", "musicnn", "MSD_LABELS"),
    "MSD_vgg": ("musicnn_vgg", "vgg", "MSD_LABELS"),
}


# -- step 1: TensorFlow variables -> torch state dicts ------------------------------------------
def _bn(reader, tf_name: str, torch_name: str) -> dict:
    get = reader.get_tensor
    return {f"{torch_name}.weight": get(f"{tf_name}/gamma"), f"{torch_name}.bias": get(f"{tf_name}/beta"),
            f"{torch_name}.running_mean": get(f"{tf_name}/moving_mean"),
            f"{torch_name}.running_var": get(f"{tf_name}/moving_variance"),
            f"{torch_name}.num_batches_tracked": np.array(0, dtype=np.int64)}


def _conv2d(reader, tf_name: str, torch_name: str) -> dict:
    # TensorFlow keeps a kernel as (height, width, in, out); torch as (out, in, height, width)
    return {f"{torch_name}.weight": reader.get_tensor(f"{tf_name}/kernel").transpose(3, 2, 0, 1),
            f"{torch_name}.bias": reader.get_tensor(f"{tf_name}/bias")}


def _conv1d(reader, tf_name: str, torch_name: str) -> dict:
    # a (7, features, 1, out) kernel spanning every feature of a frame is a 1-d convolution over time
    kernel = reader.get_tensor(f"{tf_name}/kernel")[:, :, 0, :]
    return {f"{torch_name}.weight": kernel.transpose(2, 1, 0), f"{torch_name}.bias": reader.get_tensor(f"{tf_name}/bias")}


def _dense(reader, tf_name: str, torch_name: str) -> dict:
    return {f"{torch_name}.weight": reader.get_tensor(f"{tf_name}/kernel").T,
            f"{torch_name}.bias": reader.get_tensor(f"{tf_name}/bias")}


def _numbered(base: str, i: int) -> str:
    """TensorFlow's default layer names: conv2d, conv2d_1, conv2d_2, ..."""
    return base if i == 0 else f"{base}_{i}"


def musicnn_state(reader) -> dict:
    """Variables are named in the order musicnn's graph creates its layers."""
    state = _bn(reader, "batch_normalization", "input_bn")
    blocks = ["timbral.0", "timbral.1", "temporal.0", "temporal.1", "temporal.2", "midend.0", "midend.1", "midend.2"]
    for i, block in enumerate(blocks):
        convert = _conv1d if block.startswith("midend") else _conv2d
        state |= convert(reader, _numbered("conv2d", i), f"{block}.conv")
        state |= _bn(reader, _numbered("batch_normalization", i + 1), f"{block}.bn")
    state |= _bn(reader, "batch_normalization_9", "pool_bn")
    state |= _dense(reader, "dense", "dense") | _bn(reader, "batch_normalization_10", "dense_bn")
    return state | _dense(reader, "dense_1", "out")


def vgg_state(reader) -> dict:
    state = _bn(reader, "batch_normalization", "input_bn")
    for i in range(5):
        state |= _conv2d(reader, f"{i + 1}CNN", f"convs.{i}.conv") | _bn(reader, f"batch_normalization_{i + 1}", f"convs.{i}.bn")
    return state | _dense(reader, "dense", "out")


def convert_weights(package: Path, work: Path) -> None:
    import tensorflow as tf

    for model, (_, variant, _) in MODELS.items():
        reader = tf.compat.v1.train.NewCheckpointReader(str(package / model) + "/")
        state = musicnn_state(reader) if variant == "musicnn" else vgg_state(reader)
        kept = {k for k in reader.get_variable_to_shape_map() if "Adam" not in k and not k.endswith("_power")}
        used = len(state) - sum(k.endswith("num_batches_tracked") for k in state)
        if used != len(kept):  # every variable of the network, none twice
            raise SystemExit(f"{model}: converted {used} tensors, the checkpoint holds {len(kept)}")
        np.savez(work / f"{model}.npz", **{k: np.array(v, order="C") for k, v in state.items()})
        print(f"{model}: {len(kept)} variables")


# -- steps 2 and 3: the original on known samples --------------------------------------------
def run_original(model: str, clips: dict[str, np.ndarray], overlap: float | bool):
    """{name: (tag probabilities, embedding, log-mel)} as musicnn computes them, each clip's
    samples handed to its librosa frontend in place of a decoded file."""
    import librosa
    from musicnn import configuration, extractor

    def load(path, sr=None, **_):
        assert sr == 16_000
        return clips[path], sr

    librosa.load = load  # musicnn's extractor decodes with librosa.load; nothing else changes
    # one batch for all of a clip's patches: past its first batch, musicnn 0.1.0's extractor
    # repeats the first batch's penultimate layer for every later one (its loop unpacks that
    # layer under another name); the tags are right either way
    configuration.BATCH_SIZE = 10_000
    out = {}
    for name in clips:
        taggram, _, feats = extractor.extractor(name, model=model, input_length=3, input_overlap=overlap,
                                                extract_features=True)
        if "vgg" in model:  # pool5 comes squeezed and stacked: 2 x 1 x 128 per patch
            embedding = feats["pool5"].reshape(len(taggram), -1)
        else:
            embedding = feats["penultimate"]
        _, log_mel = extractor.batch_data(name, 187, 187)
        out[name] = (taggram.astype(np.float32), embedding.astype(np.float32), log_mel)
    return out


def mel16(log_mel: np.ndarray) -> np.ndarray:
    """The float16 mel power musicnn took the log of, recovered exactly from the log: stored
    instead of the float32 log-mel, it is half the size and holds the same information."""
    power = ((10.0 ** log_mel.astype(np.float64) - 1.0) / 10_000).astype(np.float16)
    again = np.log10(10_000 * power + 1)
    if not np.array_equal(again, log_mel):
        raise SystemExit("the float16 mel power does not give musicnn's log-mel back exactly")
    return power.T  # (n_mels, frames), the frontend's layout


def make_reference() -> None:
    import librosa
    import musicnn
    import tensorflow as tf
    from musicnn import configuration

    sys.path.insert(0, str(ROOT / "tests"))
    from musicnn_clips import PATCH_STEP_S, clips

    samples = clips()
    arrays = {"versions": np.array([f"musicnn {getattr(musicnn, '__version__', '0.1.0')}", f"tensorflow {tf.__version__}",
                                    f"librosa {librosa.__version__}", f"numpy {np.__version__}"])}
    for model, (name, _, labels) in MODELS.items():
        arrays[f"labels.{name}"] = np.array(getattr(configuration, labels))
        for clip, (tags, embedding, log_mel) in run_original(model, samples, PATCH_STEP_S).items():
            arrays[f"tags.{name}.{clip}"] = tags
            arrays[f"embedding.{name}.{clip}"] = embedding
            arrays[f"mel16.{clip}"] = mel16(log_mel)
    REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REFERENCE, **arrays)
    print(f"{REFERENCE.relative_to(ROOT)}: {REFERENCE.stat().st_size / 1e3:.0f} kB")


def heldout_originals(work: Path) -> None:
    clips = {p.stem: np.load(p) for p in sorted(work.glob("heldout-*.npy"))}
    for model, (name, _, _) in MODELS.items():
        arrays = {}
        for clip, (tags, embedding, _) in run_original(model, clips, False).items():
            arrays[f"tags.{clip}"], arrays[f"embedding.{clip}"] = tags, embedding
        np.savez(work / f"original-{name}.npz", **arrays)


# -- step 0 and 4, in audioviz's environment --------------------------------------------------
def decode_heldout(folders: list[Path], work: Path) -> None:
    from audioviz.audio import decode
    from audioviz.errors import AudiovizError
    from audioviz.extract.corpus import find_audio

    def excerpt(files: list):
        """The first track from the middle of the list on that has the whole excerpt."""
        for path in files[len(files) // 2:] + files[: len(files) // 2]:
            try:
                samples = decode(path, 16_000, HELDOUT_SECONDS, False, HELDOUT_START).samples
            except AudiovizError:
                continue
            if len(samples) == HELDOUT_SECONDS * 16_000:
                return path, samples
        return None

    for i in work.glob("heldout-*.npy"):
        i.unlink()
    n = 0
    for folder in folders:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()) or [folder]:
            found = excerpt(find_audio(sub)) if n < HELDOUT_TRACKS else None
            if found is not None:
                np.save(work / f"heldout-{n}.npy", found[1])
                print(f"held-out {n}: {found[0].parent.name}/{found[0].name}")
                n += 1


def _port(name: str, variant: str, labels: list[str], work: Path):
    import torch

    from audioviz.extract.logmel import LogMelConfig
    from audioviz.extract.musicnn import MusicnnConfig, build

    model = next(m for m, spec in MODELS.items() if spec[0] == name)
    config = MusicnnConfig(variant=variant, tags=tuple(labels)).to_dict()
    state = {k: torch.from_numpy(v) for k, v in np.load(work / f"{model}.npz").items()}
    net = build(config)
    net.load_state_dict(state)
    return net.eval(), config, state, LogMelConfig()


def _differences(name: str, net, frontend, originals: dict, hop: int | None) -> dict:
    """The largest differences of the port's tags and embedding from the original's."""
    import torch

    worst = {"tags": 0.0, "embedding": 0.0}
    with torch.inference_mode():
        for clip, (samples, tags, embedding) in originals.items():
            seg = frontend.segments(samples, hop)
            x = seg.batch(0, len(tags))
            worst["tags"] = max(worst["tags"], float(np.abs(net.encode(x, "tags").numpy() - tags).max()))
            worst["embedding"] = max(worst["embedding"], float(np.abs(net.encode(x, "embedding").numpy() - embedding).max()))
    return worst


def _fit(extractor_for, corpus: Path) -> tuple[dict, int, int, float]:
    """Both layers' features of every track in `corpus` (back-to-back patches, one pass), and
    the fitted mapping of each."""
    import torch

    from audioviz.audio import decode
    from audioviz.errors import AudiovizError
    from audioviz.extract.corpus import find_audio
    from audioviz.mapping.fitted import FittedMapping

    ext = extractor_for("tags")
    feats = {"embedding": [], "tags": []}
    tracks, t0 = 0, time.perf_counter()
    for path in find_audio(corpus):
        try:
            seg = ext.frontend.segments(decode(path, ext.sample_rate).samples)
        except AudiovizError as e:
            print(f"skipped {path}: {e}")
            continue
        with torch.inference_mode():
            for a in range(0, len(seg), ext.batch_size):
                e = ext.net.embed(seg.batch(a, a + ext.batch_size))
                feats["embedding"].append(e.numpy())
                feats["tags"].append(torch.sigmoid(ext.net.out(e)).numpy())
        tracks += 1
    seconds = time.perf_counter() - t0
    mappings = {}
    for layer, rows in feats.items():
        x = np.concatenate(rows)
        mappings[layer] = FittedMapping.fit(x, SEED, layer=layer, tracks=tracks, fitted_on=corpus.resolve().name)
    return mappings, tracks, len(x), seconds


def pack(work: Path, corpus: Path) -> None:
    import torch

    from audioviz.extract import checkpoint
    from audioviz.extract.logmel import LogMelFrontend
    from audioviz.extract.registry import from_checkpoint

    sys.path.insert(0, str(ROOT / "tests"))
    from musicnn_clips import PATCH_STEP_S, clips

    ref = np.load(REFERENCE, allow_pickle=False)
    report = {}
    for model, (name, variant, _) in MODELS.items():
        labels = [str(t) for t in ref[f"labels.{name}"]]
        net, config, state, fcfg = _port(name, variant, labels, work)
        frontend = LogMelFrontend(fcfg)
        synthetic = {c: (x, ref[f"tags.{name}.{c}"], ref[f"embedding.{name}.{c}"]) for c, x in clips().items()}
        step = round(PATCH_STEP_S * fcfg.sample_rate - fcfg.n_fft // 2) // fcfg.hop_length
        original = np.load(work / f"original-{name}.npz")
        heldout = {p.stem: (np.load(p), original[f"tags.{p.stem}"], original[f"embedding.{p.stem}"])
                   for p in sorted(work.glob("heldout-*.npy"))}
        figures = {"synthetic": _differences(name, net, frontend, synthetic, step),
                   "heldout": _differences(name, net, frontend, heldout, None),
                   "heldout_patches": sum(len(v[1]) for v in heldout.values())}
        meta = {"source": f"musicnn 0.1.0 {model}", "licence": "ISC", "tags": labels,
                "converted_with": "scripts/convert_musicnn.py", "torch": str(torch.__version__)}

        def extractor_for(layer, mapping=None, others=None):
            ckpt = checkpoint.pack(name=name, arch="musicnn", config=config, state_dict=state,
                                   frontend=fcfg.to_dict(), norm={"kind": "none"}, mapping=mapping, meta=meta,
                                   layer_mappings=others)
            return from_checkpoint(ckpt, name, torch.device("cpu"), layer), ckpt

        mappings, tracks, segments, seconds = _fit(lambda layer: extractor_for(layer)[0], corpus)
        _, ckpt = extractor_for("tags", mappings["tags"].to_dict(), {"embedding": mappings["embedding"].to_dict()})
        for old in WEIGHTS.glob(f"{name}-*.pt"):
            old.unlink()
        tmp = checkpoint.save(ckpt, WEIGHTS / f"{name}.tmp")
        target = WEIGHTS / f"{name}-{checkpoint.sha256(tmp)[:8]}.pt"
        tmp.rename(target)
        if target.stat().st_size > MAX_BYTES:
            raise SystemExit(f"{target}: over the 8 MB limit for bundled weights")
        checkpoint.load(target)  # loads as audioviz loads it: weights only, nothing but tensors and plain data
        figures |= {"weights": target.name, "megabytes": round(target.stat().st_size / 1e6, 2), "fit_tracks": tracks,
                    "fit_segments": segments, "fit_seconds": round(seconds, 1),
                    "pca": {k: [round(100 * v, 1) for v in m.arrays["pca.variance_ratio"]] for k, m in mappings.items()},
                    "kmeans_pca": {k: [round(100 * v, 1) for v in m.arrays["kmeans-pca.variance_ratio"]]
                                   for k, m in mappings.items()}}
        report[name] = figures
        print(name, json.dumps(figures))
    (work / "report.json").write_text(json.dumps(report, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", nargs="?", default="convert", choices=("convert", "decode", "pack"),
                    help="convert (TensorFlow's side, which runs the other two through --audioviz-python)")
    ap.add_argument("--audioviz-python", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--corpus", type=Path, required=True, help="the music the fitted mappings are fitted on")
    ap.add_argument("--heldout", type=Path, action="append", default=[], help="music for measuring the port")
    ap.add_argument("--work", type=Path, default=Path("/tmp/musicnn-convert"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.stage == "decode":
        return decode_heldout(args.heldout, args.work)
    if args.stage == "pack":
        return pack(args.work, args.corpus)

    import musicnn

    def audioviz(stage: str) -> None:
        cmd = [args.audioviz_python, __file__, stage, "--corpus", str(args.corpus), "--work", str(args.work)]
        for h in args.heldout:
            cmd += ["--heldout", str(h)]
        subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})

    audioviz("decode")
    convert_weights(Path(musicnn.__file__).parent, args.work)
    make_reference()
    heldout_originals(args.work)
    audioviz("pack")


if __name__ == "__main__":
    main()
