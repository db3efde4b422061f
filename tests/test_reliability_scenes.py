"""A user's scene cannot take audioviz down with it: what it raises, a sys.exit or os._exit
in it, and a shader that never finishes a frame each end in one `error:` line (or, on Ctrl-C,
"interrupted" and 130), with ffmpeg stopped and nothing left at the output path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from media import music_like, one_error_line, write_audio

from audioviz import ffmpeg

TINY = ["--size", "64x36", "--fps", "10", "--quiet"]

SCENE = """
from audioviz.scenes.base import Param, Scene


class Broken(Scene):
    name = "broken"
    params = tuple(Param(f"p{{i}}", "a parameter") for i in range(10))

    def setup(self, ctx, size, seed):
        self.ctx = ctx
{setup}

    def draw(self, t, dt, values):
        self.ctx.clear(values[0], 0.0, 0.0)
        if t > 0.3:
{draw}
"""

# a loop no GLSL compiler can drop (its result is the colour); llvmpipe ends a loop after 65535
# iterations, which still makes a 640x360 frame take about a minute on two cores
RUNAWAY = """
uniform float p0;
uniform float u_time;
out vec4 colour;
void main() {
    float a = p0;
    for (int i = 0; i < 1000000000; i++) { a = fract(a * 1.0001 + sin(a + float(i)) * cos(a * 3.0)); }
    colour = vec4(a, u_time, 0.0, 1.0);
}
"""
SLOW = ["--fps", "10", "--quiet"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_audio(tmp_path_factory.mktemp("clip") / "clip.ogg", music_like(3.0, 2))


def cli(*args, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "audioviz", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def scene_file(folder: Path, setup: str = "pass", draw: str = "pass") -> Path:
    indent = " " * 12
    path = folder / "broken_scene.py"
    path.write_text(SCENE.format(setup=" " * 8 + setup, draw=indent + draw))
    return path


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.suffix in (".mp4", ".png")]


def ffmpeg_children(pid: int) -> list[int]:
    exe = os.path.basename(ffmpeg.executable())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0].decode("utf-8", "replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and exe in cmd:
            found.append(int(entry))
    return found


@pytest.mark.parametrize("where,setup,draw,message", [
    ("setup", "raise ValueError('no such texture')", "pass",
     r"broken_scene\.py:11: ValueError in setup: no such texture"),
    ("draw", "pass", "raise ZeroDivisionError('division by zero')",
     r"broken_scene\.py:16: ZeroDivisionError in draw: division by zero"),
    ("sys.exit", "pass", "import sys; sys.exit(3)",
     r"broken_scene\.py:16: the scene called sys\.exit\(3\) in draw; a scene cannot end audioviz"),
    ("os._exit", "pass", "import os; os._exit(7)",
     r"broken_scene\.py:16: the scene called os\._exit\(7\) in draw; a scene cannot end audioviz"),
    ("exit in setup", "raise SystemExit('bye')", "pass",
     r"broken_scene\.py:11: the scene called sys\.exit\('bye'\) in setup; a scene cannot end audioviz"),
])
def test_a_python_scene_that_raises_or_exits_is_one_error_line(tmp_path, clip, tiny_model, where, setup, draw,
                                                                message):
    import re

    scene = scene_file(tmp_path, setup, draw)
    for command, out in (("render", tmp_path / "out.mp4"), ("preview", tmp_path / "sheet.png")):
        r = cli(command, clip, "--scene", scene, "--model", tiny_model, "-o", out,
                *(TINY if command == "render" else ["--size", "64x36", "--quiet"]))
        assert r.returncode == 1, (command, r.returncode, r.stderr)
        line = one_error_line(r.stderr)
        assert re.fullmatch(f"error: {message}", line), line
        assert leftovers(tmp_path) == [], (command, leftovers(tmp_path))


def test_a_scene_that_exits_as_it_is_made_is_one_error_line(tmp_path, clip, tiny_model):
    scene = tmp_path / "init.py"
    scene.write_text(SCENE.format(setup=" " * 8 + "pass", draw=" " * 12 + "pass")
                     + "\n    def __init__(self):\n        raise SystemExit(5)\n")
    r = cli("render", clip, "--scene", scene, "--model", tiny_model, "-o", tmp_path / "out.mp4", *TINY)
    assert r.returncode == 1, r.stderr
    assert one_error_line(r.stderr) == ("error: init.py:19: the scene called sys.exit(5) in __init__; "
                                        "a scene cannot end audioviz")


def test_a_scene_is_never_its_own_output(tmp_path, clip, tiny_model):
    scene = scene_file(tmp_path)
    before = scene.read_bytes()
    r = cli("extract", clip, "--scene", scene, "--mapped", "--model", tiny_model, "-o", scene.with_suffix(".csv"),
            "--quiet")
    assert r.returncode == 0, r.stderr
    link = tmp_path / "sheet.png"
    link.symlink_to(scene)
    r = cli("preview", clip, "--scene", scene, "--model", tiny_model, "-o", link, "--size", "64x36", "--quiet", "-y")
    assert r.returncode == 1
    assert one_error_line(r.stderr) == f"error: {link}: is the input {scene}; writing there would destroy it, give another name"
    assert scene.read_bytes() == before


def test_sys_exit_while_the_scene_loads_is_one_error_line(tmp_path, clip, tiny_model):
    scene = tmp_path / "exits.py"
    scene.write_text("import sys\nsys.exit(4)\n")
    r = cli("render", clip, "--scene", scene, "--model", tiny_model, "-o", tmp_path / "out.mp4", *TINY)
    assert r.returncode == 1, r.stderr
    assert one_error_line(r.stderr) == ("error: exits.py:2: the scene called sys.exit(4) while loading; "
                                        "a scene cannot end audioviz")


@pytest.mark.llvmpipe  # a GPU draws the frame in milliseconds
@pytest.mark.parametrize("command", ["render", "preview", "compare"])
def test_a_shader_that_never_finishes_a_frame_is_stopped_with_one_line(tmp_path, clip, tiny_model, command):
    shader = tmp_path / "runaway.frag"
    shader.write_text(RUNAWAY)
    out = tmp_path / ("sheet.png" if command == "preview" else "out.mp4")
    args = {"render": ["--scene", shader, "--model", tiny_model, "--size", "640x360", *SLOW],
            "preview": ["--scene", shader, "--model", tiny_model, "--size", "640x360", "--quiet"],
            "compare": ["--scenes", shader, "--models", tiny_model, "--tile-size", "640x360", *SLOW]}[command]
    t0 = time.monotonic()
    r = cli(command, clip, "-o", out, *args, env={"AUDIOVIZ_DRAW_TIMEOUT": "2"}, timeout=60)
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stderr
    assert one_error_line(r.stderr) == (
        "error: runaway.frag: a frame took longer than 2 s to draw (a runaway loop?), so audioviz stopped; "
        "nothing was written. AUDIOVIZ_DRAW_TIMEOUT=SECONDS allows slower frames")
    assert took < 30  # the loop alone would run for hours
    assert leftovers(tmp_path) == [], leftovers(tmp_path)


@pytest.mark.llvmpipe
def test_ctrl_c_stops_a_shader_stuck_in_a_frame_at_once(tmp_path, clip, tiny_model):
    shader = tmp_path / "runaway.frag"
    shader.write_text(RUNAWAY)
    err = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-m", "audioviz", "render", str(clip), "--scene", str(shader),
                             "--model", str(tiny_model), "-o", str(tmp_path / "out.mp4"), "--size", "640x360",
                             *SLOW],
                            stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
                            env={**os.environ, "AUDIOVIZ_DRAW_TIMEOUT": "0"})
    try:
        deadline = time.monotonic() + 60
        while not ffmpeg_children(proc.pid):  # the encoder is up: the frame loop has begun
            assert proc.poll() is None and time.monotonic() < deadline, "the render never started"
            time.sleep(0.05)
        encoder = ffmpeg_children(proc.pid)
        time.sleep(1.0)  # well inside the first frame, which never ends
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=15)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err.seek(0)
    assert code == 130, err.read()
    assert took < 5
    assert leftovers(tmp_path) == []
    for pid in encoder:  # ffmpeg was stopped and reaped with the process, not left behind
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


@pytest.mark.llvmpipe
def test_a_batch_stops_on_a_shader_whose_frames_never_finish_and_writes_its_report(tmp_path, clip, tiny_model):
    from audioviz.batch import read_report

    shader = tmp_path / "runaway.frag"
    shader.write_text(RUNAWAY)
    songs, out = tmp_path / "songs", tmp_path / "videos"
    songs.mkdir()
    for name in ("a.ogg", "b.ogg"):
        (songs / name).write_bytes(clip.read_bytes())
    t0 = time.monotonic()
    r = cli("batch", songs, "-o", out, "--scene", shader, "--model", tiny_model, "--size", "640x360", "--jobs", "1",
            *SLOW, env={"AUDIOVIZ_DRAW_TIMEOUT": "2"}, timeout=120)
    assert r.returncode == 3, r.stderr
    assert time.monotonic() - t0 < 60
    line = one_error_line(r.stderr, alone=False)
    assert line.startswith("error: batch stopped at a.ogg: runaway.frag: a frame took longer than 2 s to draw")
    rows = {row["input"]: row for row in read_report(out / "report.csv")}
    assert rows["a.ogg"]["status"] == "failed" and "runaway loop" in rows["a.ogg"]["reason"]
    assert rows["b.ogg"]["status"] == "interrupted"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".audioviz")) == ["report.csv"]
