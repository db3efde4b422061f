"""One exception tree. Library code raises these; the CLI turns them into one line on stderr."""

ENV_DEBUG = "AUDIOVIZ_DEBUG"  # set: an unexpected exception shows its traceback


class AudiovizError(Exception):
    """A problem the user can act on; its message is a complete sentence fit for a terminal."""


class ConfigError(AudiovizError):
    """An option value that cannot work (odd frame size, unknown preset, ...)."""


class InputError(AudiovizError):
    """An input file that is missing, unreadable, or not usable audio."""


class AudioTooShortError(InputError):
    """Audio shorter than one analysis segment."""


class SilentAudioError(InputError):
    """Audio that holds nothing but silence."""


class ModelError(AudiovizError):
    """An unknown model name, or a weights file that is missing, corrupt or not ours."""


class SceneError(AudiovizError):
    """An unknown scene, or a scene whose shaders fail to compile."""


class GLUnavailableError(AudiovizError):
    """No headless OpenGL 3.3 context could be created."""


class OutputError(AudiovizError):
    """The output cannot be written where it was asked for."""


class EncoderError(AudiovizError):
    """ffmpeg failed while writing the video; the message carries ffmpeg's own last lines."""


class TrainingError(AudiovizError):
    """Training cannot start or continue (no usable audio, incompatible run folder, ...)."""


class TuneError(AudiovizError):
    """A hyper-parameter search cannot start or continue (a bad search-space file, an output
    folder that holds another study, ...)."""


class MissingDependencyError(AudiovizError):
    """An optional extra that a command needs is not installed; the message says how to add it."""


class DiskFullError(OutputError):
    """The output's disk (or quota, or file size limit) is full: no later file fits there either."""


class FFmpegUnavailableError(EncoderError):
    """ffmpeg is missing, does not start, or cannot encode H.264 on this machine."""


class BatchStoppedError(AudiovizError):
    """A batch stopped early on a fault of the machine, not of one file (no GL, disk full,
    output folder unusable, no working ffmpeg): every later track would fail the same way."""


class PublishedElsewhereError(OutputError):
    """Another attempt at the same video (a batch's retry on a cluster) put it in place first;
    this one's copy was dropped, so that a video is published once."""


class DecoderError(AudiovizError):
    """The ffmpeg that decodes a song died of a signal (out of memory, killed): the machine's
    fault or a user's, never the file's."""


class CacheError(AudiovizError):
    """The feature cache cannot be used (a file where its folder should be, unwritable, full)."""


def describe_unexpected(e: Exception) -> str:
    """One line for an exception no part of audioviz expected: what the machine said, where it
    is the machine's (memory, a disk), else a bug to report."""
    import errno

    if isinstance(e, MemoryError):
        return "out of memory; free some, or use a smaller --size or a shorter --duration"
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{e.filename or 'the disk'}: no space left on its disk ({e.strerror})"
    if isinstance(e, OSError) and e.strerror:
        return f"{e.filename}: {e.strerror}" if e.filename else e.strerror
    text = " ".join(str(e).split())[:300]
    return (f"unexpected {type(e).__name__}{': ' + text if text else ''} (a bug in audioviz: please report it with "
            f"the command that caused it; {ENV_DEBUG}=1 shows where it happened)")
