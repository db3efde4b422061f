"""Titles over a video: text set in the bundled font, the song's tags and cover art, a logo,
the text styles, and what bad images and tags do."""

import subprocess
from fractions import Fraction

import numpy as np
import pytest
from media import frames, music_like, one_error_line, write_audio
from typer.testing import CliRunner

from audioviz import ffmpeg
from audioviz.cli import app
from audioviz.config import TitleConfig
from audioviz.errors import ConfigError, InputError
from audioviz.render import text, titles

TINY = ["--size", "320x180", "--fps", "10", "--quiet", "--duration", "1", "--scene", "bar"]


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def png(path, rgb: np.ndarray):
    from PIL import Image

    Image.fromarray(rgb).save(path)
    return path


@pytest.fixture(scope="module")
def cover(tmp_path_factory):
    """A cover of four flat colours, easy to find again in a frame."""
    img = np.zeros((64, 64, 3), np.uint8)
    img[:32, :32], img[:32, 32:], img[32:, :32], img[32:, 32:] = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
    return png(tmp_path_factory.mktemp("img") / "cover.png", img)


@pytest.fixture(scope="module")
def tagged(tmp_path_factory, cover):
    """An MP3 with title and artist tags and the cover as its attached picture."""
    d = tmp_path_factory.mktemp("tagged")
    plain = write_audio(d / "plain.mp3", music_like(1.5))
    out = d / "tagged.mp3"
    subprocess.run([ffmpeg.executable(), "-y", "-loglevel", "error", "-i", str(plain), "-i", str(cover),
                    "-map", "0", "-map", "1", "-c", "copy", "-disposition:v", "attached_pic",
                    "-metadata", "title=Tagged Title", "-metadata", "artist=Tagged Artist", str(out)], check=True)
    return out


# -- text ---------------------------------------------------------------------------------------


def test_clean_makes_one_drawable_line_of_a_tag():
    assert text.clean("A\x1b[31mB\tC\r\nD\u202eE\x00 \u2028F  ") == "A [31mB C D E F"
    assert text.clean("\n\t") == ""


def test_text_has_lower_case_descenders_kerning_and_soft_edges():
    from PIL import features

    a, g = text.line("a", 40), text.line("g", 40)
    assert a.shape[0] == g.shape[0]  # one line height for a size: a shared baseline
    rows = lambda ink: np.nonzero(ink.max(axis=1) > 0.5)[0]  # noqa: E731
    assert rows(g).max() > rows(a).max() + 5  # g's tail hangs below the baseline, a sits on it
    word = text.line("Waveform", 40)
    edge = word[(word > 0) & (word < 1)]
    assert edge.size > 0.3 * (word == 1).sum()  # anti-aliased: many pixels partly covered
    if features.check("raqm"):  # the layout engine that applies the font's kerning
        assert text.width_of("AV", 40) < text.width_of("A", 40) + text.width_of("V", 40) - 1


def test_text_that_is_too_wide_gets_smaller_then_an_ellipsis():
    assert text.fitted("Short", 30, 500) == ("Short", 30)
    long = "An extraordinarily long title of a song that never ends"
    cut, px = text.fitted(long, 30, 200)
    assert cut.endswith("…") and long.startswith(cut[:-1]) and px < 30
    assert text.width_of(cut, px) <= 200


def test_characters_no_font_has_become_question_marks_with_one_warning(monkeypatch, capsys):
    monkeypatch.setattr(text, "_installed_font_with", lambda chars: None)
    fnt, shown = text.setting("東京 Tokyo", 20, what="the title")
    assert shown == "?? Tokyo" and "warning: the title: no font here has glyphs for '東京'" in capsys.readouterr().err
    text.setting("東京 Tokyo", 20, what="the title")
    assert capsys.readouterr().err == ""  # said once
    # Cyrillic, Greek and accented Latin are in the bundled font itself
    assert text.setting("Ёлка Ωμέγα Björk", 20, what="the title")[1] == "Ёлка Ωμέγα Björk"
    assert capsys.readouterr().err == ""


def test_a_character_the_bundled_font_lacks_is_taken_from_an_installed_font():
    other = text._installed_font_with("∰")
    if other is None:
        pytest.skip("no installed font here has U+2230 (fontconfig and DejaVu Sans do)")
    fnt, shown = text.setting("∰ x", 20, what="the title")
    assert shown == "∰ x" and fnt.path == other


# -- the song's tags and art ----------------------------------------------------------------------


def test_tags_come_from_the_container_or_the_audio_stream(tmp_path, tagged):
    from audioviz.tags import cover_art, read_tags

    assert read_tags(tagged) == {"title": "Tagged Title", "artist": "Tagged Artist"}
    # Ogg keeps its tags on the stream, not the container
    ogg = write_audio(tmp_path / "s.ogg", music_like(0.5), extra=("-metadata", "title=On = the; stream"))
    assert read_tags(ogg) == {"title": "On = the; stream"}
    art = cover_art(tagged)
    assert art is not None and titles.load_image(art, "cover", "its art").size == (64, 64)
    assert cover_art(ogg) is None


def test_auto_reads_the_song_and_falls_back_to_its_name(tmp_path, tagged, capsys):
    got = titles.resolve(TitleConfig(title="auto", artist="auto", cover="auto"), tagged)
    assert (got.title, got.artist, got.cover.size) == ("Tagged Title", "Tagged Artist", (64, 64))
    bare = write_audio(tmp_path / "My Song.mp3", music_like(0.5))
    got = titles.resolve(TitleConfig(title="auto", artist="auto", cover="auto"), bare)
    assert (got.title, got.artist, got.cover) == ("My Song", None, None)
    assert "warning: My Song.mp3 carries no cover art" in capsys.readouterr().err
    bell = write_audio(tmp_path / "b.mp3", music_like(0.5), extra=("-metadata", "title=Bell\x07Song\nTwo"))
    assert titles.resolve(TitleConfig(title="auto"), bell).title == "Bell Song Two"


# -- where the styles put them ------------------------------------------------------------------


def _drawn(size, elements, n_frames=1, fps=10):
    """Frames of a still `bar` scene with and without `elements` over it, top row first."""
    from audioviz.motion import steady
    from audioviz.render.context import gl_context
    from audioviz.render.frames import SceneFrames
    from audioviz.scenes.registry import load_scene

    motion = steady(np.full((n_frames, 10), 0.5, np.float32), Fraction(fps))
    w, h = size
    shots = []
    with gl_context() as ctx:
        for overlays in ([], [titles.TitleOverlay(ctx, size, elements, Fraction(fps))]):
            source = SceneFrames(ctx, load_scene("bar"), motion, size, overlays=overlays)
            buf, got = bytearray(source.frame_bytes), []
            for f in range(n_frames):
                source.draw(f)
                source.read_into(buf)
                got.append(np.frombuffer(buf, np.uint8).reshape(h, w, 4)[::-1, :, :3].astype(int))
            source.release()
            for o in overlays:
                o.release()
            shots.append(np.array(got))
    return shots


def _box(changed: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(changed)
    return xs.min(), ys.min(), xs.max(), ys.max()


@pytest.mark.parametrize("size", [(480, 270), (270, 480)])
@pytest.mark.parametrize("style", ["card", "minimal", "intro"])
def test_each_style_puts_the_titles_in_its_place_and_leaves_the_rest_alone(size, style, cover):
    w, h = size
    t = titles.Titles("Title", "Artist", titles.load_image(cover, "cover"))
    elements = titles.layout(t, style, size)
    plain, drawn = _drawn(size, elements)
    changed = np.abs(plain[0] - drawn[0]).max(axis=2) > 0
    x0, y0, x1, y1 = _box(changed)
    for e in elements:  # nothing outside the elements changed
        changed[e.y:e.y + e.rgba.shape[0], e.x:e.x + e.rgba.shape[1]] = False
    assert not changed.any()
    white = (drawn[0] > 210).all(axis=2) & ~(plain[0] > 210).all(axis=2)
    assert white.sum() > 20  # the words, in white
    if style == "card":
        assert x0 < 0.1 * w and x1 < 0.9 * w and y1 > 0.6 * h  # low on the left
        assert y1 < (0.8 * h if h > w else h)  # above a short-video app's buttons in portrait
    elif style == "minimal":
        assert x0 < 0.1 * w and y0 < 0.1 * h and y1 < 0.5 * h  # high on the left
    else:
        assert abs((x0 + x1) / 2 - w / 2) < 0.05 * w and y0 > 0.05 * h  # centred
    # the cover's four colours are in the frame
    for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255)):
        assert (np.abs(drawn[0] - colour).max(axis=2) < 40).sum() >= 4, colour


def test_the_intro_fades_out_and_the_logo_stays(cover):
    size = (160, 90)
    logo = titles.load_image(cover, "logo")
    elements = titles.layout(titles.Titles("Intro", None, None, logo), "intro", size, "bottom-right")
    plain, drawn = _drawn(size, elements, n_frames=60)
    diff = np.abs(plain - drawn).max(axis=3) > 0
    (lx0, ly0, lx1, ly1) = _box(diff[-1])
    assert lx0 > 100 and ly0 > 50  # at 6 s, only the logo, in its corner
    assert diff[0].sum() > diff[-1].sum() + 50  # at 0 s the title too
    assert diff[45].sum() < diff[0].sum()  # fading at 4.5 s
    assert titles.intro_opacity(0.0) == 1.0 and titles.intro_opacity(titles.INTRO_HOLD + titles.INTRO_FADE) == 0.0


# -- the command line ---------------------------------------------------------------------------


def test_render_draws_the_songs_own_title_artist_and_cover(tmp_path, tagged, cover, tiny_model):
    auto, given, plain = (tmp_path / f"{n}.mp4" for n in ("auto", "given", "plain"))
    r = cli("render", tagged, "-o", auto, "--model", tiny_model, "--title", "auto", "--artist", "auto",
            "--cover", "auto", *TINY)
    assert r.exit_code == 0, r.stderr
    r = cli("render", tagged, "-o", given, "--model", tiny_model, "--title", "Tagged Title", "--artist",
            "Tagged Artist", "--cover", cover, *TINY)
    assert r.exit_code == 0, r.stderr
    assert cli("render", tagged, "-o", plain, "--model", tiny_model, *TINY).exit_code == 0
    a, g, p = (frames(v, 320, 180).astype(int) for v in (auto, given, plain))
    assert np.abs(a - g).max() <= 2  # the tags and embedded art are what was drawn
    diff = np.abs(a - p).mean(axis=(0, 3))
    x0, y0, x1, y1 = _box(diff > 24)
    assert x0 < 32 and y1 > 120 and x1 < 300  # the card, low on the left
    assert diff[:60].mean() < 1.0  # and the top of the picture is the scene's (but for the encoder's noise)


def test_provenance_keeps_the_styles_and_like_leaves_a_songs_own_words(tmp_path, song, tiny_model):
    from audioviz import provenance

    out = tmp_path / "a.mp4"
    r = cli("render", song, "-o", out, "--model", tiny_model, "--title", "Only Mine", "--artist", "auto",
            "--text-style", "minimal", "--logo-position", "top-left", *TINY)
    assert r.exit_code == 0, r.stderr
    rec = provenance.read(out)
    assert rec["settings"]["title"] == "Only Mine" and rec["settings"]["text-style"] == "minimal"
    taken = provenance.look(rec)
    assert "title" not in taken and taken["artist"] == "auto" and taken["logo-position"] == "top-left"


@pytest.mark.parametrize("make, option, message", [
    (lambda d: d / "none.png", "--cover", "cover {}: no such file"),
    (lambda d: (d / "notes.png").write_text("not a picture") and d / "notes.png", "--logo",
     "{}: not an image (a logo is a PNG, JPEG, WebP, GIF or BMP file)"),
    (lambda d: png(d / "huge.png", np.zeros((8, 9000, 3), np.uint8)), "--cover",
     "{}: 9000x8 pixels is too large for a cover; the most is 8192 a side and 40 megapixels"),
])
def test_a_bad_image_is_one_line_before_any_work(tmp_path, song, make, option, message):
    image = make(tmp_path)
    out = tmp_path / "v.mp4"
    r = cli("render", song, "-o", out, "--title", "x", option, image, *TINY)
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == "error: " + message.format(image)
    assert list(tmp_path.glob("v*")) == []


def test_a_cut_off_image_is_one_line_too(tmp_path, song, cover):
    cut = tmp_path / "cut.png"
    cut.write_bytes(cover.read_bytes()[:120])
    r = cli("render", song, "-o", tmp_path / "v.mp4", "--cover", cut, *TINY)
    assert r.exit_code == 1
    assert one_error_line(r.stderr).startswith(f"error: {cut}: the cover cannot be read (")
    assert not (tmp_path / "v.mp4").exists()


def test_empty_words_and_an_auto_logo_are_refused():
    with pytest.raises(ConfigError, match="--title is empty"):
        TitleConfig(title="  ")
    with pytest.raises(ConfigError, match="--logo takes an image file"):
        TitleConfig(logo="auto")
    with pytest.raises(InputError, match="no such file"):
        titles.check_images(TitleConfig(cover="/nonexistent/cover.jpg"))


def test_a_batch_with_a_missing_logo_is_one_line_before_any_work(tmp_path, tiny_model):
    songs = tmp_path / "songs"
    songs.mkdir()
    write_audio(songs / "a.ogg", music_like(1.0))
    r = cli("batch", songs, "-o", tmp_path / "out", "--logo", tmp_path / "logo.png", "--model", tiny_model, "--quiet")
    assert r.exit_code == 2
    assert one_error_line(r.stderr) == f"error: logo {tmp_path / 'logo.png'}: no such file"
    assert not (tmp_path / "out").exists()


def test_broken_embedded_art_is_left_out_with_a_warning(tmp_path, capsys):
    from audioviz.tags import cover_art

    huge = png(tmp_path / "huge.png", np.zeros((4, 8200, 3), np.uint8))
    plain = write_audio(tmp_path / "plain.mp3", music_like(0.5))
    song = tmp_path / "song.mp3"
    subprocess.run([ffmpeg.executable(), "-y", "-loglevel", "error", "-i", str(plain), "-i", str(huge), "-map", "0",
                    "-map", "1", "-c", "copy", "-disposition:v", "attached_pic", str(song)], check=True)
    assert cover_art(song) is not None
    got = titles.resolve(TitleConfig(title="x", cover="auto"), song)
    assert got.cover is None and got.title == "x"
    assert ("warning: the art song.mp3 carries: 8200x4 pixels is too large for a cover; the most is 8192 a side "
            "and 40 megapixels; the titles are drawn without it") in capsys.readouterr().err
