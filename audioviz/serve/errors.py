"""Errors that a request meets in the playground server, each with the HTTP status the page
receives it under. The library's own (errors.py) are mapped in `status_of`."""

from __future__ import annotations

from ..errors import (
    AudiovizError,
    DiskFullError,
    EncoderError,
    GLUnavailableError,
    MissingDependencyError,
    OutputError,
)


class RequestError(AudiovizError):
    """A request the server refuses; `status` is its HTTP status."""

    status = 400


class NotFoundError(RequestError):
    """No such song, upload, result or file (and, for a path outside the server's folders,
    no word on whether it exists)."""

    status = 404


class ForbiddenError(RequestError):
    """A request from a page or a name this server does not serve (DNS rebinding, another
    site's form)."""

    status = 403


class TooLargeError(RequestError):
    """An upload larger than the server takes."""

    status = 413


class BusyError(RequestError):
    """A result that cannot change in its state (deleting one that is being cancelled)."""

    status = 409


def status_of(e: AudiovizError) -> int:
    """The HTTP status of a refusal: the request's fault (400), the machine's (500, 503, 507)."""
    if isinstance(e, RequestError):
        return e.status
    if isinstance(e, DiskFullError):
        return 507
    if isinstance(e, (GLUnavailableError, EncoderError, MissingDependencyError)):
        return 503
    if isinstance(e, OutputError):
        return 500
    return 400
