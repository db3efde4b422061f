"""Issue 8, items 6 to 8: no GL (and the software fallback), untrusted files, determinism."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from media import music_like, one_error_line, write_audio
from typer.testing import CliRunner

from audioviz import ffmpeg
from audioviz.cli import app
from audioviz.errors import GLUnavailableError, ModelError, SceneError
from audioviz.mapping.fitted import FittedMapping

SMALL = ["--size", "160x96", "--quiet"]
_SCRIPT = Path(sys.executable).parent / "audioviz"
AUDIOVIZ = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "audioviz"]  # as a user runs it


def cli(*args, cwd=None, env=None, timeout=180) -> subprocess.CompletedProcess:
    """The command in its own process, so that nothing of this test process (GL, torch, imports) leaks in."""
    return subprocess.run([*AUDIOVIZ, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def in_process(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """Two and a half seconds of music-like audio: enough for a short render."""
    return write_audio(tmp_path_factory.mktemp("clip") / "clip.ogg", music_like(2.5, 5))


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """Eleven seconds: --fit track needs ten."""
    return write_audio(tmp_path_factory.mktemp("long") / "long.ogg", music_like(11.0, 6))


# 6. No GL ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("broken", ["no libEGL", "no Mesa driver"])
def test_without_egl_the_error_is_one_line_naming_the_packages(tmp_path, clip, broken):
    from audioviz.render.context import EGL_PACKAGES, create_context, is_software

    if broken == "no libEGL":
        env, reason = {"AUDIOVIZ_LIBEGL": str(tmp_path / "no-such-libEGL.so.1")}, "no-such-libEGL.so.1 not loaded"
    else:  # Mesa finds no driver to load: it would print "libEGL warning: ..." lines of its own
        ctx = create_context()
        mesa = is_software(ctx)
        ctx.release()
        if not mesa:
            pytest.skip("the GL here is a GPU's, which Mesa's driver override does not break")
        env, reason = {"MESA_LOADER_DRIVER_OVERRIDE": "none-such", "GALLIUM_DRIVER": "none-such"}, "eglInitialize failed"
    out = tmp_path / "out" / "x.mp4"
    r = cli("render", clip, "-o", out, *SMALL, env=env)
    assert r.returncode == 1
    line = one_error_line(r.stderr)
    assert line.startswith("error: headless OpenGL 3.3 through EGL is unavailable")
    assert reason in line and line.endswith(f"(Debian/Ubuntu: sudo apt install {EGL_PACKAGES})")
    assert set(EGL_PACKAGES.split()) == {"libegl1", "libgl1", "libgl1-mesa-dri"}
    assert not out.exists() and not any(p.is_file() for p in tmp_path.rglob("*"))


def test_a_failing_default_device_falls_back_to_software_with_a_warning(tmp_path, clip):
    """AUDIOVIZ_GL_DEVICE points the first attempt at a device that does not exist, as a GPU
    whose EGL fails would: the render goes on in software and says so, once."""
    out = tmp_path / "x.mp4"
    r = cli("render", clip, "-o", out, "--json", *SMALL, env={"AUDIOVIZ_GL_DEVICE": "9"})
    assert r.returncode == 0, r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "Traceback" not in r.stderr
    assert "failed on EGL device 9" in warnings[0] and "requested device index 9" in warnings[0]
    assert "rendering in software" in warnings[0]
    result = json.loads(r.stdout)
    assert re.search("llvmpipe|softpipe|swrast", result["renderer"]) and result["renderer"] in warnings[0]
    assert out.is_file() and result["frames"] == round(2.5 * 30)


@pytest.fixture
def first_attempt_fails(monkeypatch):
    """moderngl.create_context fails on its first call (as EGL on a broken GPU driver does) and
    works after; records each call's settings and LIBGL_ALWAYS_SOFTWARE."""
    import moderngl

    from audioviz.render import context

    real, calls = moderngl.create_context, []

    def flaky(*args, **settings):
        calls.append((settings, os.environ.get("LIBGL_ALWAYS_SOFTWARE")))
        if len(calls) == 1:
            raise Exception("eglInitialize failed (0x3001)")
        return real(*args, **settings)

    monkeypatch.setattr(moderngl, "create_context", flaky)
    monkeypatch.setattr(context, "_default_failed", None)
    monkeypatch.delenv("LIBGL_ALWAYS_SOFTWARE", raising=False)
    return calls


def test_the_software_fallback_renders_frames_and_warns_once(first_attempt_fails, capsys):
    from audioviz.motion import steady
    from audioviz.render.context import (
        create_context,
        gl_context,
        is_software,
        renderer,
        software_devices,
    )
    from audioviz.render.stills import render_stills
    from audioviz.scenes.registry import load_scene

    calls = first_attempt_fails
    values = np.tile(np.linspace(0.2, 0.9, 10, dtype="f4"), (3, 1))
    with gl_context() as ctx:
        img = render_stills(ctx, load_scene("bar"), steady(values, Fraction(30)), [2], (96, 54))[0]
    assert img.shape == (54, 96, 3) and img.astype(int).std() > 3  # a real frame, bars and all
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "eglInitialize failed (0x3001)" in err and "rendering in software" in err
    # the retry forced software: EGL's software device, Mesa told to rasterise in software
    settings, forced = calls[1]
    assert forced == "1" and settings.get("device_index") in (software_devices() or [0])
    assert os.environ.get("LIBGL_ALWAYS_SOFTWARE") is None  # restored afterwards
    # later contexts go straight to software, without trying the failed device or warning again
    ctx = create_context()
    try:
        assert is_software(ctx), renderer(ctx)
    finally:
        ctx.release()
    assert len(calls) == 3 and calls[2][1] == "1" and "warning" not in capsys.readouterr().err


def test_when_software_fails_too_the_error_names_both_reasons(monkeypatch):
    import moderngl

    from audioviz.render import context

    def broken(*args, **settings):
        raise Exception("eglInitialize failed (0x3001)" if "LIBGL_ALWAYS_SOFTWARE" not in os.environ
                        else "eglChooseConfig failed (0x3005)")

    monkeypatch.setattr(moderngl, "create_context", broken)
    monkeypatch.setattr(context, "_default_failed", None)
    monkeypatch.delenv("LIBGL_ALWAYS_SOFTWARE", raising=False)
    with pytest.raises(GLUnavailableError) as e:
        context.create_context()
    msg = str(e.value)
    assert "\n" not in msg and "eglInitialize failed" in msg and "in software: eglChooseConfig failed" in msg
    assert msg.endswith(f"sudo apt install {context.EGL_PACKAGES})")
    assert context._default_failed is None  # nothing worked: nothing is remembered


# 7. Untrusted files ------------------------------------------------------------------------------

class Touch:
    """Unpickled unsafely, this creates `marker`: what a hostile weights or mapping file does."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


class System:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def hostile_checkpoint(path: Path, payload) -> Path:
    import torch

    torch.save({"format": "audioviz.checkpoint", "version": 1, "name": "evil", "payload": payload}, path)
    return path


def test_every_torch_load_is_weights_only():
    """One reader for .pt files, weights-only; nothing else in the package calls torch.load."""
    root = Path(__file__).parents[1] / "audioviz"
    calls = {f"{p.relative_to(root)}:{i}": line.strip() for p in root.rglob("*.py")
             for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"torch\.load\(", line)}
    assert {k.split(":")[0] for k in calls} == {"extract/checkpoint.py"}, calls
    assert len(calls) == 1 and all("weights_only=True" in line for line in calls.values())


def test_a_crafted_pickle_in_a_weights_file_is_refused_and_never_runs(tmp_path, clip):
    """On the command line: one line, exit status 1, and the payload never runs."""
    import torch

    # the control: loaded the unsafe way, this very file creates its marker
    control = tmp_path / "control"
    torch.load(hostile_checkpoint(tmp_path / "control.pt", Touch(control)), weights_only=False)
    assert control.exists()

    marker, out = tmp_path / "pwned", tmp_path / "x.mp4"
    evil = hostile_checkpoint(tmp_path / "evil.pt", Touch(marker))
    r = in_process("render", clip, "--model", evil, "-o", out, *SMALL)
    assert r.exit_code == 1
    line = one_error_line(r.stderr)
    assert f"{evil}: refused, not a plain weights-only checkpoint" in line and "never runs code" in line
    assert not marker.exists() and not out.exists()


@pytest.mark.parametrize("payload", [Touch, System])
def test_crafted_pickles_are_a_model_error_in_process(tmp_path, payload):
    from audioviz.extract import checkpoint
    from audioviz.extract.registry import load_model

    marker = tmp_path / "pwned"
    evil = hostile_checkpoint(tmp_path / "evil.pt", payload(marker))
    with pytest.raises(ModelError, match="refused, not a plain weights-only checkpoint") as e:
        load_model(evil, device="cpu")
    assert "\n" not in str(e.value) and "weights_only=False" not in str(e.value)
    with pytest.raises(ModelError, match="refused"):  # what training's resume and --pretrained-file read with
        checkpoint.read(evil)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ModelError, match="not a readable PyTorch weights file"):
        checkpoint.read(tmp_path / "empty.pt")
    assert not marker.exists()


def hostile_mappings(tmp_path: Path, marker: Path) -> dict[str, Path]:
    import pickle

    meta = np.array(json.dumps({"feature_size": 10}))
    files = {}
    files["object array"] = tmp_path / "objects.npz"
    np.savez(files["object array"], __meta__=meta, **{"input.mean": np.array([Touch(marker)] * 10, dtype=object)})
    files["pickle named .npz"] = tmp_path / "pickle.npz"
    files["pickle named .npz"].write_bytes(pickle.dumps(Touch(marker)))
    files["one .npy array"] = tmp_path / "array.npz"
    with open(files["one .npy array"], "wb") as f:
        np.save(f, np.zeros(10))
    files["not a zip"] = tmp_path / "junk.npz"
    files["not a zip"].write_bytes(b"PK\x03\x04" + bytes(64))
    files["wrong shapes"] = tmp_path / "shapes.npz"
    good = FittedMapping.fit(np.random.default_rng(0).normal(size=(40, 12)))
    np.savez(files["wrong shapes"], __meta__=np.array(json.dumps(good.meta)),
             **{**good.arrays, "pca.axes": good.arrays["pca.axes"][:, :5]})
    return files


def test_fitted_mappings_are_plain_arrays_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    for what, path in hostile_mappings(tmp_path, marker).items():
        with pytest.raises(ModelError, match=f"{re.escape(str(path))}: not a (usable )?fitted mapping") as e:
            FittedMapping.load(path)
        msg = str(e.value)
        assert "\n" not in msg and "allow_pickle=" not in msg, (what, msg)
        if what in ("object array", "pickle named .npz"):
            assert "never unpickles" in msg
    assert not marker.exists()


def test_a_hostile_mapping_is_one_error_line_on_the_command_line(tmp_path, long_clip):
    marker = tmp_path / "pwned"
    evil = hostile_mappings(tmp_path, marker)["pickle named .npz"]
    r = in_process("extract", long_clip, "--mapped", "--fit", evil, "-o", tmp_path / "p.npy", "--quiet")
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == f"error: {evil}: not a fitted mapping file (it holds a Python pickle, which audioviz never unpickles)"
    assert not marker.exists() and not (tmp_path / "p.npy").exists()


MARKING_MODULE = "import pathlib\npathlib.Path({marker!r}).touch()\n"


def test_a_scene_named_bar_never_imports_a_bar_py_lying_around(tmp_path, clip):
    """bar.py in the current folder, beside the song and in the output folder: `--scene bar` is the
    built-in scene; a .py file runs only when it is passed as the scene itself."""
    here, songs, out = tmp_path / "cwd", tmp_path / "songs", tmp_path / "out"
    for d in (here, songs, out):
        d.mkdir()
        for name in ("bar.py", "scene.py", "clip.py", "__init__.py"):
            (d / name).write_text(MARKING_MODULE.format(marker=str(tmp_path / f"imported-{d.name}-{name}")))
    song = songs / "clip.ogg"
    song.write_bytes(clip.read_bytes())
    r = cli("render", song, "--scene", "bar", "-o", out / "clip.mp4", *SMALL, cwd=here)
    assert r.returncode == 0, r.stderr
    assert (out / "clip.mp4").is_file()
    assert not list(tmp_path.glob("imported-*"))


def test_python_m_audioviz_never_imports_modules_from_the_current_folder(tmp_path):
    """`python -m` puts the current folder on sys.path; audioviz takes it off again."""
    for name in ("typer", "numpy", "bar", "moderngl"):
        (tmp_path / f"{name}.py").write_text(MARKING_MODULE.format(marker=str(tmp_path / f"imported-{name}")))
    r = subprocess.run([sys.executable, "-m", "audioviz", "scenes"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "bar" in r.stdout and not list(tmp_path.glob("imported-*"))


def test_a_python_scene_runs_only_when_passed_explicitly(tmp_path, monkeypatch):
    from audioviz.scenes.registry import scene_class

    monkeypatch.chdir(tmp_path)
    for name in ("bar", "mine"):
        (tmp_path / f"{name}.py").write_text(MARKING_MODULE.format(marker=str(tmp_path / "imported")))
    assert scene_class("bar").__module__ == "audioviz.scenes.bar"
    with pytest.raises(SceneError, match="unknown scene 'mine'"):  # a name is never looked up as a file
        scene_class("mine")
    assert not (tmp_path / "imported").exists()
    with pytest.raises(SceneError, match="no Scene subclass"):  # passed as a file: it runs (and is no scene)
        scene_class("./bar.py")
    assert (tmp_path / "imported").exists()


# 8. Determinism ----------------------------------------------------------------------------------

DETERMINISM_JOBS = {
    "default.npy": ["extract", "LONG", "--mapped"],
    "kmeans-track.npy": ["extract", "LONG", "--mapped", "--mapping", "kmeans", "--fit", "track"],
    "random-order.npy": ["extract", "LONG", "--mapped", "--order", "random", "--seed", "5"],
    "random-order-6.npy": ["extract", "LONG", "--mapped", "--order", "random", "--seed", "6"],
    "video.mp4": ["render", "CLIP", "--scene", "crystals", "--seed", "3", "--size", "160x96"],
}

RUN_ALL = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from typer.testing import CliRunner
    from audioviz.cli import app

    out, jobs = Path(sys.argv[1]), json.loads(sys.argv[2])
    for name, args in jobs.items():
        r = CliRunner().invoke(app, args + ["-o", str(out / name), "--quiet"])
        if r.exit_code:
            sys.exit(f"{name}: {r.stderr}")
""")


def decoded(video: Path) -> bytes:
    """Every frame as the decoder gives it (full size, no conversion)."""
    return subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-i", "file:" + str(video), "-map", "0:v:0",
                           "-f", "rawvideo", "pipe:1"], capture_output=True, check=True, timeout=120).stdout


def test_same_input_options_and_seed_give_identical_parameters_and_frames(tmp_path, long_clip, clip):
    """Two runs, one in a fresh process with another hash seed and one in this process, side by
    side: byte-identical parameter arrays (K-Means fitted on the track included) and identical
    decoded frames."""
    jobs = {name: [{"LONG": str(long_clip), "CLIP": str(clip)}.get(a, a) for a in args]
            for name, args in DETERMINISM_JOBS.items()}
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    child = subprocess.Popen([sys.executable, "-c", RUN_ALL, a, json.dumps(jobs)], stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed})
    try:
        for name, args in jobs.items():
            r = in_process(*args, "-o", b / name, "--quiet")
            assert r.exit_code == 0, (name, r.stderr)
    finally:
        _, err = child.communicate(timeout=180)
    assert child.returncode == 0, err
    for name in ("default.npy", "kmeans-track.npy", "random-order.npy", "random-order-6.npy"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert not np.array_equal(np.load(a / "default.npy"), np.load(a / "random-order.npy"))
    assert not np.array_equal(np.load(a / "random-order.npy"), np.load(a / "random-order-6.npy"))  # the seed counts
    frames_a, frames_b = decoded(a / "video.mp4"), decoded(b / "video.mp4")
    assert len(frames_a) == 160 * 96 * 3 // 2 * round(2.5 * 30)  # yuv420p, every frame
    assert frames_a == frames_b
