"""The playground in a real browser: headless Chromium (Debian's `chromium`, which .ci/run
installs) driven by Playwright. A person picks a song, sees the preview and its curves,
renders, and watches the video play; the results list survives a reload.

AUDIOVIZ_SCREENSHOT=docs/playground.png saves the page as the README shows it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from media import music_like, write_audio

pytest.importorskip("fastapi", reason="audioviz serve needs the serve extra: pip install -e '.[serve]'")
from test_serve import Server  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium here: apt-get install chromium (.ci/run does)")

REPO = Path(__file__).resolve().parents[1]
JOB_MS = 180_000  # a job's time on a machine that others share
SECONDS = 10.0  # of the demo song that the page renders

# what the page's video element says of itself once it has its metadata (or fails to load)
VIDEO_DURATION = """() => new Promise((resolve, reject) => {
  const v = document.querySelector('#media video');
  if (v.readyState >= 1) resolve([v.duration, v.videoWidth, v.videoHeight]);
  v.addEventListener('loadedmetadata', () => resolve([v.duration, v.videoWidth, v.videoHeight]));
  v.addEventListener('error', () => reject(new Error('the video does not load: ' + (v.error && v.error.message))));
})"""

PLAY = """async () => {
  const v = document.querySelector('#media video');
  v.muted = true;
  await v.play();
  await new Promise((r) => setTimeout(r, 1500));
  v.pause();
  return v.currentTime;
}"""


def test_pick_a_song_preview_render_and_watch(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    music = tmp_path / "music"
    (music / "tests").mkdir(parents=True)
    shutil.copy(REPO / "examples" / "demo.ogg", music / "demo.ogg")
    write_audio(music / "tests" / "tones.ogg", music_like(3.0))
    server = Server("--music", music, "--workdir", tmp_path / "work", cwd=tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url)
            expect(page.locator("#song option")).to_have_count(2)
            page.select_option("#song", "music:demo.ogg")
            page.select_option("#scene", "crystals")
            page.fill("#size", "480x270")
            page.fill("#duration", str(SECONDS))

            page.click("#preview-button")
            sheet = page.locator("#media img")
            expect(sheet).to_be_visible(timeout=JOB_MS)
            page.wait_for_function("document.querySelector('#media img').naturalWidth > 0")
            expect(page.locator("#curves-figure")).to_be_visible()
            expect(page.locator("#curves-legend span")).to_have_count(12)  # ten parameters, pulse, loudness
            expect(page.locator("#command")).to_contain_text("audioviz preview")

            page.click("#render-button")
            expect(page.locator("#view-progress")).to_be_visible()
            expect(page.locator("#media video")).to_be_visible(timeout=JOB_MS)
            duration, width, height = page.evaluate(VIDEO_DURATION)
            assert abs(duration - SECONDS) < 0.1 and (width, height) == (480, 270)
            assert page.evaluate(PLAY) > 0.5  # it decodes and plays, not just loads
            expect(page.locator("#download")).to_have_attribute("href", f"{page.locator('#media video').get_attribute('src')}?download=1")
            expect(page.locator("#command")).to_contain_text("--duration 10.0")
            expect(page.locator("#results li")).to_have_count(2)

            page.reload()
            expect(page.locator("#results li")).to_have_count(2)
            expect(page.locator("#view-title")).to_have_text("Render · demo.ogg")
            page.wait_for_function("document.querySelector('#media video') && "
                                   "document.querySelector('#media video').readyState >= 1")
            assert page.locator("#song").input_value() == "music:demo.ogg"  # the form remembers too
            if shot := os.environ.get("AUDIOVIZ_SCREENSHOT"):
                save_screenshot(page, Path(shot))
            assert not errors, errors
            browser.close()
    finally:
        assert server.stop() == 0


SEEK = """async () => {
  const v = document.querySelector('#media video');
  v.muted = true;
  await v.play();
  await new Promise((r) => setTimeout(r, 300));
  v.pause();
  await new Promise((resolve) => { v.addEventListener('seeked', resolve, {once: true}); v.currentTime = 6.2; });
}"""


def save_screenshot(page, path: Path) -> None:
    """The page as the README shows it: a frame of the video in the middle of the song, the
    curves' playhead there, the results list beside them."""
    page.evaluate(SEEK)
    page.wait_for_function("document.querySelector('#media video').readyState >= 3")  # the frame is there
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(500)  # the player's own controls fade their spinner out
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        page.screenshot(path=str(path), type="jpeg", quality=85)
        return
    import io

    from PIL import Image

    # 256 colours, dithered (the video's gradients would band): half the bytes of the
    # full-colour PNG, for a README
    shot = Image.open(io.BytesIO(page.screenshot(type="png"))).convert("RGB")
    palette = shot.quantize(256, method=Image.Quantize.FASTOCTREE)
    shot.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
