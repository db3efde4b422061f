"""`audioviz batch --cluster` on a real Ray cluster of two nodes (tests/raycluster.py), started
once for the module: a folder rendered across both, an actor killed mid-track, the driver killed
and the batch resumed, Ctrl-C, and the dry run. Videos are decoded and the reports read."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from media import audio_seconds, frames, music_like, video_stream, write_audio

from audioviz.batch import mp4_complete, read_report

SIZE, FPS = (160, 90), 10
SECONDS = 12.0


@pytest.fixture(scope="module")
def cluster():
    from raycluster import running_cluster

    with running_cluster() as c:
        yield c


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    """Four songs in two folders, and a file that is not audio."""
    root = tmp_path_factory.mktemp("songs")
    for i, rel in enumerate(("a/one.ogg", "a/two.mp3", "b/three.ogg", "b/four.ogg")):
        (root / rel).parent.mkdir(exist_ok=True)
        write_audio(root / rel, music_like(SECONDS, i))
    (root / "b" / "broken.mp3").write_bytes(b"ID3\x03\x00" + bytes(range(256)) * 40)
    return root


GOOD = {"a/one.ogg": "a/one.mp4", "a/two.mp3": "a/two.mp4", "b/three.ogg": "b/three.mp4", "b/four.ogg": "b/four.mp4"}


def batch(cluster, songs, out, *extra, size=SIZE):
    return [sys.executable, "-m", "audioviz", "batch", str(songs), "-o", str(out), "--cluster", cluster.address,
            "--cpus-per-job", "1", "--size", f"{size[0]}x{size[1]}", "--fps", str(FPS), "--quiet", *extra]


def rows_of(path):
    return {row["input"]: row for row in read_report(path)}


def check_video(path, seconds=SECONDS, size=SIZE):
    v = video_stream(path)
    assert (v["width"], v["height"], v["fps"]) == (*size, FPS)
    assert len(frames(path)) == round(seconds * FPS)
    assert abs(audio_seconds(path) - seconds) <= 1 / FPS


def leftovers(out):
    """Whatever a render leaves only while it runs: temporary videos, the claims of a run."""
    return glob.glob(f"{out}/**/.*.tmp.mp4", recursive=True) + glob.glob(f"{out}/.audioviz-claims")


def wait_for(condition, proc, timeout=90):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_folder_rendered_across_both_nodes(cluster, songs, tmp_path):
    out = tmp_path / "out"
    r = cluster.run(batch(cluster, songs, out, "--fit-on-batch", "--json"), capture_output=True, text=True,
                    timeout=240)
    assert r.returncode == 1, r.stderr  # the broken file failed; the rest rendered
    result = json.loads(r.stdout)
    assert result["jobs"] == 2  # one CPU per node, one CPU per job: an actor on each node
    assert result["mapping"] == str(out / "mapping.npz")  # fitted here, read by the actors on both nodes
    rows = rows_of(out / "report.csv")
    assert {k: v["status"] for k, v in rows.items()} == {**dict.fromkeys(GOOD, "done"), "b/broken.mp3": "failed"}
    assert "not audio that ffmpeg can decode" in rows["b/broken.mp3"]["reason"]
    assert "attempt" not in rows["b/broken.mp3"]["reason"]  # a bad file is never retried
    for rel, video in GOOD.items():
        assert rows[rel]["output"] == video and float(rows[rel]["audio_seconds"]) == SECONDS
        check_video(out / video)
    assert not leftovers(out)
    assert "ray" not in r.stderr.lower()  # Ray's own logs stay off the terminal

    again = cluster.run(batch(cluster, songs, out, "--fit-on-batch"), capture_output=True, text=True, timeout=240)
    assert again.returncode == 1
    assert {k: v["status"] for k, v in rows_of(out / "report.csv").items()} == {
        **dict.fromkeys(GOOD, "skipped"), "b/broken.mp3": "failed"}


def test_an_actor_killed_mid_track_costs_that_track_one_attempt(cluster, songs, tmp_path):
    out = tmp_path / "out"
    proc = cluster.popen(batch(cluster, songs, out, "--include", "*.ogg", size=(320, 180)),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: leftovers(out) and cluster.processes("ray::RenderActor.render"), proc)
        os.kill(cluster.processes("ray::RenderActor.render")[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=240)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    rows = rows_of(out / "report.csv")
    assert [r["status"] for r in rows.values()] == ["done"] * 3
    retried = [r for r in rows.values() if r["reason"].startswith("rendered on attempt 2: its actor on ")]
    assert len(retried) == 1 and "died" in retried[0]["reason"]
    for rel in ("a/one.ogg", "b/three.ogg", "b/four.ogg"):
        check_video(out / GOOD[rel], size=(320, 180))
    assert sorted(p.name for p in out.rglob("*.mp4")) == ["four.mp4", "one.mp4", "three.mp4"]  # none twice
    assert not leftovers(out)


def test_a_killed_driver_leaves_a_batch_that_a_rerun_finishes(cluster, songs, tmp_path):
    out = tmp_path / "out"
    args = batch(cluster, songs, out, "--include", "*.ogg", size=(320, 180))
    proc = cluster.popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: any(mp4_complete(p) for p in out.rglob("*.mp4")), proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    cluster.wait_for_no_actors()  # Ray ends the actors of a driver that died
    complete = {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4") if mp4_complete(p)}
    assert complete

    r = cluster.run(args, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    rows = rows_of(out / "report.csv")
    for rel in ("a/one.ogg", "b/three.ogg", "b/four.ogg"):
        video = out / GOOD[rel]
        check_video(video, size=(320, 180))
        assert rows[rel]["status"] == ("skipped" if video in complete else "done")
    assert {p: p.stat().st_mtime_ns for p in complete} == complete  # nothing complete was rendered again
    assert not leftovers(out)


def test_ctrl_c_stops_the_actors_and_leaves_nothing_partial(cluster, songs, tmp_path):
    out = tmp_path / "out"
    proc = cluster.popen(batch(cluster, songs, out, size=(320, 180)), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: leftovers(out), proc)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "run the same command again to resume" in stderr
    cluster.wait_for_no_actors(timeout=15)
    assert not leftovers(out)
    assert all(mp4_complete(p) for p in out.rglob("*.mp4"))
    statuses = {r["status"] for r in rows_of(out / "report.csv").values()}
    assert "interrupted" in statuses and statuses <= {"interrupted", "done", "failed"}


def test_dry_run_plans_for_the_cluster_and_renders_nothing(cluster, songs, tmp_path):
    out = tmp_path / "out"
    r = cluster.run(batch(cluster, songs, out, "--dry-run", "--throughput", "2", "--json"), capture_output=True,
                    text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["where"] == "2 node(s), 2 CPUs, 0 GPUs" and plan["jobs"] == 2
    assert (plan["tracks"], plan["todo"], plan["unreadable"]) == (5, 5, 1)
    assert plan["audio_seconds"] == pytest.approx(4 * SECONDS, abs=0.1)
    assert plan["wall_seconds"] == pytest.approx(4 * SECONDS / (2 * 2), abs=0.1)
    assert {p["input"] for p in plan["plan"]} == {*GOOD, "b/broken.mp3"}
    assert not out.exists()

    r = cluster.run(batch(cluster, songs, out, "--dry-run", "--gpus-per-job", "0.5"), capture_output=True,
                    text=True, timeout=120)
    assert r.returncode == 2
    assert "no node of the Ray cluster has room for one job of 1 CPU(s) and 0.5 GPU(s)" in r.stderr


def test_through_the_ray_client(cluster, songs, tmp_path):
    """ray://HOST:10001, as from a laptop outside the cluster: the plan reads its resources."""
    args = batch(cluster, songs, tmp_path / "out", "--dry-run", "--json")
    args[args.index(cluster.address)] = cluster.client_address
    # Ray's client proxy starts a server process per client; on this 2-core machine, loaded by
    # the suite, that process sometimes dies before it serves ("Starting Ray client server
    # failed"; the proxy logs that the server "is no longer running"), in Ray and not in
    # audioviz: a client then connects again.
    for _ in range(3):
        r = cluster.run(args, capture_output=True, text=True, timeout=120)
        if "Starting Ray client server failed" not in r.stderr:
            break
    logs = "".join(p.read_text(errors="replace")[-2000:] for p in (cluster.temp / "session_latest" / "logs").glob(
        "ray_client_server_*.err"))
    assert r.returncode == 0, r.stderr + logs
    assert json.loads(r.stdout)["where"] == "2 node(s), 2 CPUs, 0 GPUs"
