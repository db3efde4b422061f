"""`audioviz batch` on a folder shaped like FMA, with the broken files FMA is known to hold:
the report and exit status, valid videos, resuming, and a run killed in the middle."""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest
from media import audio_seconds, audio_stream, frames, music_like, video_stream, write_audio
from typer.testing import CliRunner

from audioviz.batch import mp4_complete, plan_tracks, read_report
from audioviz.cli import app

runner = CliRunner()
FAST = ["--size", "64x36", "--fps", "10", "--quiet"]
GOOD = {"000/000002.mp3": "000/000002.mp4", "001/001039.ogg": "001/001039.mp4"}
BAD = {
    "000/000099.mp3": "not audio that ffmpeg can decode",
    "001/001040.mp3": "is empty (0 bytes)",
    "001/001100.mp3": "must last at least 0.96 s",
}
TRACKS_CSV = (
    ",album,set,track\n"
    ",title,split,genre_top\n"
    "track_id,,,\n"
    "2,A,training,Hip-Hop\n"
    "99,B,training,Rock\n"
    "1039,\"C, with a comma\",test,Folk\n"
)


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def fma_tree(tmp_path_factory):
    """Two good tracks in FMA's layout, a corrupt, an empty and a too short mp3, and metadata."""
    root = tmp_path_factory.mktemp("fma")
    (root / "000").mkdir()
    (root / "001").mkdir()
    write_audio(root / "000" / "000002.mp3", music_like(6.0, 1))
    write_audio(root / "001" / "001039.ogg", music_like(6.0, 2))
    (root / "000" / "000099.mp3").write_bytes(b"ID3\x03\x00" + bytes(range(256)) * 40)
    (root / "001" / "001040.mp3").write_bytes(b"")
    write_audio(root / "001" / "001100.mp3", music_like(0.5, 3))
    meta = tmp_path_factory.mktemp("fma_metadata")
    (meta / "tracks.csv").write_text(TRACKS_CSV, encoding="utf-8")
    return root, meta


def rows_of(path):
    return {row["input"]: row for row in read_report(path)}


def check_video(path, seconds=6.0, fps=10):
    v = video_stream(path)
    assert (v["width"], v["height"], v["fps"]) == (64, 36, fps)
    assert len(frames(path)) == round(seconds * fps)
    assert abs(audio_seconds(path) - seconds) <= 1 / fps


def test_batch_reports_bad_files_renders_good_ones_and_resumes(tmp_path, fma_tree, tiny_model):
    root, meta = fma_tree
    out = tmp_path / "out"
    args = ["batch", root, "-o", out, "--model", tiny_model, "--jobs", 1, "--fma-metadata", meta, *FAST]
    r = run(*args)
    assert r.exit_code == 1, r.stderr  # some failed
    rows = rows_of(out / "report.csv")
    assert set(rows) == set(GOOD) | set(BAD)
    for rel, video in GOOD.items():
        assert rows[rel]["status"] == "done" and rows[rel]["output"] == video and rows[rel]["reason"] == ""
        assert float(rows[rel]["seconds"]) > 0 and abs(float(rows[rel]["audio_seconds"]) - 6.0) < 0.05
        check_video(out / video)
    for rel, why in BAD.items():
        assert rows[rel]["status"] == "failed" and why in rows[rel]["reason"], rows[rel]
        assert not (out / rel).with_suffix(".mp4").exists()
    assert [rows[k]["genre"] for k in ("000/000002.mp3", "000/000099.mp3", "001/001039.ogg", "001/001040.mp3")] == \
        ["Hip-Hop", "Rock", "Folk", ""]
    assert not list(out.rglob(".*.tmp.mp4"))

    # a rerun skips the complete videos; a truncated one and a killed run's leftovers do not count
    first = out / "000" / "000002.mp4"
    second = out / "001" / "001039.mp4"
    stale = out / "001" / ".001039.0123abcd.tmp.mp4"
    shutil.copy(second, stale)  # what ffmpeg finishes after its batch was killed: complete, but never renamed
    data = second.read_bytes()
    second.write_bytes(data[: len(data) // 2])  # a video cut short by something other than audioviz
    mtime = first.stat().st_mtime_ns
    r = run(*args)
    assert r.exit_code == 1
    rows = rows_of(out / "report.csv")
    assert rows["000/000002.mp3"]["status"] == "skipped" and first.stat().st_mtime_ns == mtime
    assert rows["001/001039.ogg"]["status"] == "done" and not stale.exists()
    check_video(second)
    assert [rows[k]["status"] for k in BAD] == ["failed"] * 3

    # only good files: exit 0; --overwrite renders again; a JSON report
    r = run("batch", root, "-o", out, "--model", tiny_model, "--include", "*.ogg", "--include", "000/000002.*",
            "--overwrite", "--report", tmp_path / "report.json", "--json", *FAST)
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["summary"] == {"done": 2, "skipped": 0, "failed": 0, "interrupted": 0} and summary["found"] == 5
    assert first.stat().st_mtime_ns != mtime
    report = json.loads((tmp_path / "report.json").read_text())
    assert [t["input"] for t in report["tracks"]] == ["000/000002.mp3", "001/001039.ogg"]


def test_batch_in_two_workers_fitted_on_the_batch(tmp_path, fma_tree, tiny_model):
    root, _ = fma_tree
    out = tmp_path / "out"
    r = run("batch", root, "-o", out, "--model", tiny_model, "--jobs", 2, "--fit-on-batch", "--mapping", "pca",
            "--json", *FAST)
    assert r.exit_code == 1, r.stderr
    summary = json.loads(r.stdout)
    assert summary["jobs"] == 2 and summary["summary"]["done"] == 2 and summary["summary"]["failed"] == 3
    assert summary["mapping"] == str(out / "mapping.npz")
    fitted = json.loads((out / "mapping.json").read_text())
    assert fitted["tracks"] == 2 and "pca" in fitted["methods"]
    rows = rows_of(out / "report.csv")
    for rel, video in GOOD.items():
        assert rows[rel]["status"] == "done"
        check_video(out / video)
    for rel, why in BAD.items():
        assert why in rows[rel]["reason"]


def test_a_sample_of_the_folder(tmp_path, fma_tree, tiny_model):
    root, _ = fma_tree
    tracks, found = plan_tracks(root, tmp_path, shuffle=True, seed=1, limit=3)
    again, _ = plan_tracks(root, tmp_path, shuffle=True, seed=1, limit=3)
    assert found == 5 and len(tracks) == 3 and tracks == again  # the same sample on a rerun
    assert [t.rel for t in plan_tracks(root, tmp_path, include=("*.ogg",))[0]] == ["001/001039.ogg"]
    assert [t.rel for t in plan_tracks(root, tmp_path, include=("000/*",))[0]] == ["000/000002.mp3", "000/000099.mp3"]
    r = run("batch", root, "-o", tmp_path / "out", "--model", tiny_model, "--include", "*.ogg", "--limit", 1, "--json",
            *FAST)
    assert r.exit_code == 0, r.stderr
    assert [t["input"] for t in json.loads(r.stdout)["tracks"]] == ["001/001039.ogg"]


def test_songs_that_would_share_a_video_keep_their_extension(tmp_path):
    (tmp_path / "in").mkdir()
    for name in ("a.mp3", "a.ogg", "b.flac"):
        (tmp_path / "in" / name).write_bytes(b"x")
    tracks, _ = plan_tracks(tmp_path / "in", tmp_path / "out")
    assert [t.out_rel for t in tracks] == ["a.mp3.mp4", "a.ogg.mp4", "b.mp4"]


def test_each_codec_is_batched_into_a_file_its_resume_check_reads():
    from audioviz.batch.mp4 import batch_suffix
    from audioviz.render.encoder import CODECS

    assert {c: batch_suffix(c) for c in CODECS} == {"h264": ".mp4", "hevc": ".mp4", "av1": ".mp4", "prores": ".mov",
                                                    "vp9": ".mp4"}


def test_a_prores_batch_writes_mov_files_and_resumes_them(tmp_path, tiny_model):
    root, out = tmp_path / "in", tmp_path / "out"
    (root / "000").mkdir(parents=True)
    write_audio(root / "000" / "a.ogg", music_like(1.5, 1))
    write_audio(root / "b.mp3", music_like(1.5, 2))
    args = ["batch", root, "-o", out, "--model", tiny_model, "--codec", "prores", "--jobs", 1, *FAST]
    r = run(*args)
    assert r.exit_code == 0, r.stderr
    rows = rows_of(out / "report.csv")
    assert {k: (v["status"], v["output"]) for k, v in rows.items()} == {"000/a.ogg": ("done", "000/a.mov"),
                                                                        "b.mp3": ("done", "b.mov")}
    first, second = out / "000" / "a.mov", out / "b.mov"
    for video in (first, second):
        assert video_stream(video)["codec"] == "prores" and "pcm_s16le" in audio_stream(video)
        check_video(video, seconds=1.5)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")) == [
        ".audioviz-batch.lock", "000/a.mov", "b.mov", "report.csv"]

    # a rerun keeps the complete .mov, and redoes the one cut short; a killed run's leftover goes
    stale = out / ".b.0123abcd.tmp.mov"
    shutil.copy(second, stale)
    data = second.read_bytes()
    second.write_bytes(data[: len(data) // 2])
    mtime = first.stat().st_mtime_ns
    r = run(*args)
    assert r.exit_code == 0, r.stderr
    rows = rows_of(out / "report.csv")
    assert (rows["000/a.ogg"]["status"], rows["b.mp3"]["status"]) == ("skipped", "done")
    assert first.stat().st_mtime_ns == mtime and not stale.exists()
    check_video(second, seconds=1.5)


def one_second_mp4(path):
    from audioviz import ffmpeg

    subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=10",
                    "-t", "1", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)], check=True)
    return path


def test_complete_means_a_whole_mp4(tmp_path):
    video = one_second_mp4(tmp_path / "v.mp4")
    assert mp4_complete(video)
    data = video.read_bytes()
    for name, content in (("cut.mp4", data[:-100]), ("head.mp4", data[:40]), ("empty.mp4", b""),
                          ("junk.mp4", b"\x00\x00\x00\x10junkjunkjunkjunk"), ("long.mp4", data + b"\x00\x00")):
        (tmp_path / name).write_bytes(content)
        assert not mp4_complete(tmp_path / name), name
    assert not mp4_complete(tmp_path / "missing.mp4")


def test_a_video_finished_as_the_batch_stopped_counts_only_when_new_and_whole(tmp_path):
    from audioviz.batch.folder import finished_since

    video, cut = one_second_mp4(tmp_path / "v.mp4"), tmp_path / "cut.mp4"
    cut.write_bytes(video.read_bytes()[:-100])
    now = time.time()
    assert finished_since(video, now - 60)
    assert not finished_since(video, now + 60)  # there before the batch began: not this run's
    assert not finished_since(cut, now - 60)
    assert not finished_since(tmp_path / "missing.mp4", now - 60)


@pytest.mark.parametrize("args,message", [
    (["{missing}"], "no such folder"),
    (["{root}", "--fit-on-batch", "--fit", "track"], "cannot be combined with --fit track"),
    (["{root}", "--jobs", "0"], "Invalid value for '--jobs'"),
    (["{root}", "--limit", "0"], "Invalid value for '--limit'"),
    (["{root}", "--report", "r.txt"], "end the name in .csv or .json"),
    (["{root}", "--include", "*.flac"], "none of its 5 audio files match --include *.flac"),
    (["{root}", "--size", "63x36"], "odd width"),
    (["{root}", "--model", "nope"], "unknown model 'nope'"),
    (["{root}", "--scene", "nope"], "unknown scene 'nope'"),
    (["{root}", "--fma-metadata", "{missing}"], "no such FMA metadata folder"),
])
def test_usage_errors_exit_2_before_any_work(tmp_path, fma_tree, tiny_model, args, message):
    root, _ = fma_tree
    files = {"root": root, "missing": tmp_path / "missing"}
    r = run("batch", *[a.format(**files) for a in args], "-o", tmp_path / "out", *(
        [] if "--model" in args else ["--model", tiny_model]))
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_killed_batch_leaves_nothing_a_rerun_would_skip(tmp_path, tiny_model, jobs):
    root, out = tmp_path / "in", tmp_path / "out"
    (root / "000").mkdir(parents=True)
    for i in range(jobs):
        write_audio(root / "000" / f"00000{i + 2}.ogg", music_like(8.0, i))
    args = [root, "-o", out, "--model", tiny_model, "--size", "320x180", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "audioviz", "batch", *map(str, args), "--jobs", str(jobs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("000/.000002.*.tmp.mp4")):  # its video is being written
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 130
    finally:
        proc.kill()
    assert "run the same command again to resume" in proc.stderr.read()
    assert not any(mp4_complete(p) for p in out.rglob("*.mp4")) and not list(out.rglob("*.tmp.mp4"))
    assert rows_of(out / "report.csv")["000/000002.ogg"]["status"] == "interrupted"

    r = run("batch", *args, "--jobs", 1)
    assert r.exit_code == 0, r.stderr
    assert rows_of(out / "report.csv")["000/000002.ogg"]["status"] == "done"
    assert len(frames(out / "000" / "000002.mp4")) == 240
