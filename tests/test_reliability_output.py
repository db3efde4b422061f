"""Nothing a user did not mean to replace is replaced: special files, the input itself and
existing files at the output path are refused (existing files replaced only with --overwrite,
-y), names near the filesystem's limit work or are one clear line, and the output's name says
what is in it. Plus the newcomer's papercuts of the command line: --version, default output
names, help that fits 80 columns."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from media import frames, info, music_like, one_error_line, write_audio
from typer.testing import CliRunner

import audioviz
from audioviz.cli import app

runner = CliRunner()
TINY = ["--size", "64x36", "--fps", "10", "--quiet"]


def cli(*args, cwd=None):
    if cwd is None:
        return runner.invoke(app, [str(a) for a in args])
    return subprocess.run([sys.executable, "-m", "audioviz", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=180)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_audio(tmp_path_factory.mktemp("clip") / "clip.ogg", music_like(3.0, 4))


def command_args(command: str, model: Path) -> list:
    """The options that make each writing command quick, with `model`."""
    return {
        "render": ["--model", model, *TINY],
        "compare": ["--models", model, "--tile-size", "64x36", "--fps", "10", "--quiet"],
        "preview": ["--model", model, "--size", "64x36", "--quiet"],
        "extract": ["--model", model, "--quiet"],
    }[command]


def output_name(command: str) -> str:
    return {"render": "out.mp4", "compare": "out.mp4", "preview": "out.png", "extract": "out.csv"}[command]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hidden_leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".")]


WRITERS = ["render", "compare", "preview", "extract"]
WHAT = {"render": "video", "compare": "video", "preview": "image", "extract": "features file"}


# -- special files at the output path ----------------------------------------------------------


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def make_socket(path: Path) -> Path:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()
    return path


def make_null_device(path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    return path


@pytest.mark.parametrize("command", WRITERS)
@pytest.mark.parametrize("make", [make_fifo, make_socket, make_null_device], ids=["fifo", "socket", "device"])
def test_a_special_file_at_the_output_is_refused_and_left_alone(tmp_path, clip, tiny_model, command, make):
    target = make(tmp_path / output_name(command))
    kind = stat.S_IFMT(target.lstat().st_mode)
    for extra in ([], ["--overwrite"]):  # not even --overwrite replaces a device
        r = cli(command, clip, "-o", target, *command_args(command, tiny_model), *extra)
        assert r.exit_code == 1, r.stderr
        assert one_error_line(r.stderr) == (
            f"error: {target}: is not a regular file (a device, pipe or socket); audioviz writes only regular "
            f"files, so give a file name for the {WHAT[command]}")
        assert stat.S_IFMT(target.lstat().st_mode) == kind
        assert hidden_leftovers(tmp_path) == []


@pytest.mark.parametrize("command", ["render", "preview"])
def test_a_symbolic_link_at_the_output_is_followed_and_stays_a_link(tmp_path, clip, tiny_model, command):
    real = tmp_path / "videos" / output_name(command)
    real.parent.mkdir()
    link = tmp_path / ("link" + real.suffix)
    link.symlink_to(real)
    r = cli(command, clip, "-o", link, *command_args(command, tiny_model))
    assert r.exit_code == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.is_file() and real.stat().st_size > 100
    assert hidden_leftovers(tmp_path) == [] and hidden_leftovers(real.parent) == []


# -- the output is the input ----------------------------------------------------------------


@pytest.mark.parametrize("command", WRITERS)
@pytest.mark.parametrize("how", ["same name", "symbolic link", "hard link"])
def test_the_input_is_never_the_output(tmp_path, clip, tiny_model, command, how):
    song = tmp_path / ("song" + Path(output_name(command)).suffix)  # a song may be named anything
    song.write_bytes(clip.read_bytes())
    target = song
    if how == "symbolic link":
        target = tmp_path / ("alias" + song.suffix)
        target.symlink_to(song)
    elif how == "hard link":
        target = tmp_path / ("twin" + song.suffix)
        os.link(song, target)
    before = digest(song)
    for extra in ([], ["-y"]):
        r = cli(command, song, "-o", target, *command_args(command, tiny_model), *extra)
        assert r.exit_code == 1, r.stderr
        assert one_error_line(r.stderr) == (
            f"error: {target}: is the input {song}; writing there would destroy it, give another name")
        assert digest(song) == before
    assert hidden_leftovers(tmp_path) == []


# -- an existing file --------------------------------------------------------------------------


@pytest.mark.parametrize("command", WRITERS)
def test_an_existing_file_is_replaced_only_with_overwrite(tmp_path, clip, tiny_model, command):
    target = tmp_path / output_name(command)
    target.write_bytes(b"precious")
    r = cli(command, clip, "-o", target, *command_args(command, tiny_model))
    assert r.exit_code == 1, r.stderr
    assert one_error_line(r.stderr) == f"error: {target}: already exists; use --overwrite (-y) to replace it"
    assert target.read_bytes() == b"precious"
    for flag in ("--overwrite", "-y"):
        r = cli(command, clip, "-o", target, *command_args(command, tiny_model), flag)
        assert r.exit_code == 0, r.stderr
        assert target.read_bytes() != b"precious" and target.stat().st_size > 100
    assert hidden_leftovers(tmp_path) == []


def test_fit_refuses_to_replace_a_fitted_mapping_unless_asked(tmp_path, corpus_dir, tiny_model):
    out = tmp_path / "mapping"
    (tmp_path / "mapping.json").write_text("{}")
    r = cli("fit", corpus_dir, "-o", out, "--model", tiny_model, "--quiet")
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == f"error: {tmp_path / 'mapping.json'}: already exists; use --overwrite (-y) to replace it"
    assert not (tmp_path / "mapping.npz").exists()
    r = cli("fit", corpus_dir, "-o", out, "--model", tiny_model, "--quiet", "-y")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "mapping.npz").stat().st_size > 1000 and (tmp_path / "mapping.json").read_text() != "{}"


def test_preview_onto_a_folder_is_one_line_and_leaves_nothing(tmp_path, clip, tiny_model):
    folder = tmp_path / "sheets"
    folder.mkdir()
    r = cli("preview", clip, "-o", folder, *command_args("preview", tiny_model), "-y")
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == f"error: {folder}: is a folder; give the image's file name"
    assert list(tmp_path.rglob("*")) == [folder]


# -- names near the filesystem's limit --------------------------------------------------------


def test_a_song_whose_name_fills_the_limit_renders_under_default_names(tmp_path, clip, tiny_model):
    song = tmp_path / ("é" * 125 + "x.ogg")  # 255 bytes in UTF-8, the most a name may have
    assert len(os.fsencode(song.name)) == 255
    song.write_bytes(clip.read_bytes())
    work = tmp_path / "work"
    work.mkdir()
    for command in ("render", "compare", "preview", "extract"):
        r = cli(command, song, *command_args(command, tiny_model), cwd=work)
        assert r.returncode == 0, (command, r.stderr)
    names = [p.name for p in work.iterdir()]
    assert all(len(os.fsencode(n)) <= 255 for n in names)
    assert sorted(n.lstrip("é").lstrip("x") for n in names) == ["-compare.mp4", "-features.csv", "-preview.png",
                                                                 ".mp4"]


def test_an_output_name_past_the_limit_is_one_line(tmp_path, clip, tiny_model):
    target = tmp_path / ("v" * 300 + ".mp4")
    r = cli("render", clip, "-o", target, *TINY, "--model", tiny_model)
    assert r.exit_code == 1
    assert re.fullmatch(r"error: .*: the name v{40}\.\.\. is 304 bytes long, more than the 255 a file name may have",
                        one_error_line(r.stderr))
    assert list(tmp_path.iterdir()) == []


def test_an_output_name_at_the_limit_gets_a_temporary_name_that_fits(tmp_path, clip, tiny_model):
    target = tmp_path / ("v" * 251 + ".mp4")
    r = cli("render", clip, "-o", target, *TINY, "--model", tiny_model)
    assert r.exit_code == 0, r.stderr
    assert len(frames(target)) == 30 and list(tmp_path.iterdir()) == [target]


# -- the name says what is inside ---------------------------------------------------------


@pytest.mark.parametrize("suffix,container", [(".mkv", "matroska"), (".mov", "mov,mp4"), (".m4v", "mov,mp4")])
def test_a_video_name_picks_its_container(tmp_path, clip, tiny_model, suffix, container):
    out = tmp_path / f"v{suffix}"
    r = cli("render", clip, "-o", out, *TINY, "--model", tiny_model)
    assert r.exit_code == 0, r.stderr
    assert f"Input #0, {container}" in info(out) and len(frames(out)) == 30


@pytest.mark.parametrize("name", ["v.avi", "v.webm", "v"])
def test_a_video_name_audioviz_cannot_honour_is_refused(tmp_path, clip, tiny_model, name):
    out = tmp_path / name
    r = cli("render", clip, "-o", out, *TINY, "--model", tiny_model)
    assert r.exit_code == 1
    assert one_error_line(r.stderr).startswith(f"error: {out}: is ")
    assert "; audioviz writes h264 video as .mp4, .m4v, .mov, .mkv; give the name one of those, or choose another --codec" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_x264_params_it_does_not_know_are_an_error(tmp_path, clip, tiny_model):
    r = cli("render", clip, "-o", tmp_path / "v.mp4", *TINY, "--model", tiny_model,
            "--x264-params", "me=dia:colour=blue:subme=many")
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == ("error: --x264-params: x264 does not take colour=blue, subme=many (an unknown "
                                        "key, or a value it cannot read); see x264 --fullhelp for its settings")
    assert list(tmp_path.iterdir()) == []
    r = cli("render", clip, "-o", tmp_path / "v.mp4", *TINY, "--model", tiny_model, "--x264-params", "me=hex:subme=2")
    assert r.exit_code == 0, r.stderr


# -- the newcomer's command line --------------------------------------------------------------


def test_version():
    r = cli("--version")
    assert r.exit_code == 0 and r.stdout == f"audioviz {audioviz.__version__}\n"
    from importlib.metadata import version

    assert audioviz.__version__ == version("audioviz")


@pytest.mark.parametrize("command,mapped,name", [("preview", False, "clip-preview.png"),
                                                 ("extract", False, "clip-features.csv"),
                                                 ("extract", True, "clip-params.csv")])
def test_preview_and_extract_have_default_output_names(tmp_path, clip, tiny_model, command, mapped, name):
    r = cli(command, clip, *command_args(command, tiny_model), *(["--mapped"] if mapped else []), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [p.name for p in tmp_path.iterdir()] == [name]
    if name.endswith(".csv"):
        header = (tmp_path / name).read_text().splitlines()[0]
        assert header.startswith("start,centre,") and (("bar1" in header) == mapped)


def test_help_fits_80_columns_and_flags_take_no_value():
    from typer.main import get_command

    from audioviz.cli import app as typer_app

    commands = list(get_command(typer_app).commands)
    assert {"render", "train", "batch", "compare"} <= set(commands)
    for command in [[], *([c] for c in commands)]:
        r = subprocess.run([sys.executable, "-m", "audioviz", *command, "--help"], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "80"}, timeout=60)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert max(map(len, lines)) <= 80, (command, [ln for ln in lines if len(ln) > 80])
        assert "<bool>" not in r.stdout


def test_an_unexpected_failure_is_one_line_not_a_traceback(tmp_path, clip, tiny_model, monkeypatch):
    import audioviz.listen

    def broken(*args, **kwargs):
        raise RuntimeError("the flux capacitor\nis off")

    monkeypatch.setattr(audioviz.listen, "map_features", broken)
    r = cli("render", clip, "-o", tmp_path / "v.mp4", *TINY, "--model", tiny_model)
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == (
        "error: unexpected RuntimeError: the flux capacitor is off (a bug in audioviz: please report it with the "
        "command that caused it; AUDIOVIZ_DEBUG=1 shows where it happened)")
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_model_is_refused_before_torch_loads(tmp_path, clip):
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "audioviz", "render", str(clip), "--model", "nope",
                        "-o", str(tmp_path / "v.mp4")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    imported = [ln.rsplit("|", 1)[1].strip() for ln in r.stderr.splitlines() if ln.startswith("import time:")]
    said = [ln for ln in r.stderr.splitlines() if not ln.startswith("import time:")]
    assert said == ["error: unknown model 'nope'; choose one of ae, ae_shared, ae_skip, alexnet, vgg11, vgg13, vgg16, "
                    "musicnn, musicnn_vgg or give a path to a .pt checkpoint"]
    assert "audioviz.cli" in imported and not any(m == "torch" or m.startswith("torch.") for m in imported)


def test_a_contact_sheet_is_a_png_by_name_too(tmp_path, clip, tiny_model):
    out = tmp_path / "sheet.jpg"
    r = cli("preview", clip, "-o", out, *command_args("preview", tiny_model))
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == f"error: {out}: a contact sheet is a PNG image; give the name .png"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args,line", [
    (["render", "--foo"], "error: No such option: --foo (Possible options: --format, --hop, --logo); see `audioviz render --help`"),
    (["render"], "error: Missing argument 'AUDIO'; see `audioviz render --help`"),
    (["rendr"], "error: No such command 'rendr'. Did you mean 'render'?; see `audioviz --help`"),
])
def test_a_usage_error_is_one_line_too(args, line):
    console_script = Path(sys.executable).with_name("audioviz")
    r = subprocess.run([str(console_script), *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert one_error_line(r.stderr) == line
