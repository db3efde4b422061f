"""What keeps the playground a local tool: requests for this server's names only (DNS
rebinding), changes only from its own page (another site's form or script), and no path a
request names outside the music folder and the work folder.

The server binds 127.0.0.1, yet any web page the user opens can make the browser send
requests there. A page of another site is refused by its Origin and Sec-Fetch-Site headers;
a site that has its own name resolve to 127.0.0.1 (DNS rebinding) sends its own name in
the Host header, which is refused unless it is one of this server's names.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from .errors import NotFoundError

log = logging.getLogger("audioviz.serve")

LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# what browsers say of a request that another site's page started (`same-site` is another
# port or name of this host: some other local web app)
FOREIGN_SITES = frozenset({"cross-site", "same-site"})

_ID = re.compile(r"[0-9a-f]{16}")


def new_id() -> str:
    """A name for a stored result or upload: random, so that none can be guessed or collide."""
    return secrets.token_hex(8)


def check_id(value: str, what: str) -> str:
    """`value` when it has the form of an id `new_id` makes; NotFoundError otherwise, so that no
    other text ever becomes part of a path."""
    if not _ID.fullmatch(value):
        raise NotFoundError(f"no such {what}")
    return value


def host_name(header: str) -> str | None:
    """The name in a Host header ('Example.com:8765' -> 'example.com', '[::1]:80' -> '::1');
    None for one that is not a name and an optional port."""
    header = header.strip().lower()
    if header.startswith("["):
        name, bracket, port = header[1:].partition("]")
        if not bracket or (port and not re.fullmatch(r":\d{1,5}", port)):
            return None
        return name
    name, colon, port = header.partition(":")
    if not name or (colon and not re.fullmatch(r"\d{1,5}", port)):
        return None
    return name.removesuffix(".")  # "localhost." names the same host as "localhost"


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """ASGI middleware that refuses, before any route runs, a request whose Host is not one of
    `names` (an IP address is always fine: rebinding needs a name the attacker owns) and a
    request that another site's page made, other than opening the page itself."""

    def __init__(self, app, names: frozenset[str]):
        self.app = app
        self.names = frozenset(n.lower() for n in names) | LOCAL_NAMES

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        why = self.refusal(scope.get("method", "GET"), scope["path"], headers)
        if why is None:
            return await self.app(scope, receive, send)
        status, message = why
        log.warning("error: %s %s: %s", scope.get("method", "GET"), scope["path"], message)
        body = json.dumps({"error": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def refusal(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        name = host_name(host)
        if name is None or not (name in self.names or is_ip(name)):
            return 400, (f"Host {host!r} is not a name of this server; open it by its address (127.0.0.1), or start "
                         "it with --allow-host NAME")
        site = headers.get("sec-fetch-site", "")
        if site in FOREIGN_SITES and not (method == "GET" and path == "/"):
            return 403, f"a page of another site ({site}) may not use this server"
        if method in UNSAFE_METHODS and "origin" in headers:
            origin = headers["origin"]
            parts = urlsplit(origin) if origin != "null" else None
            if parts is None or parts.netloc.lower() != host.strip().lower():
                return 403, f"a page from {origin} may not change anything on this server"
        return None


def inside(root: Path, relative: str, what: str) -> Path:
    """The file `relative` names under `root`, its links resolved, when it lies inside `root`;
    NotFoundError otherwise, the same for a path that leaves `root` (by '..', an absolute path
    or a link) as for one that does not exist, so that nothing outside can be probed."""
    missing = NotFoundError(f"{relative}: no such {what}")
    if not relative or "\x00" in relative or "\\" in relative:
        raise missing
    p = PurePosixPath(relative)
    if p.is_absolute() or ".." in p.parts:
        raise missing
    base = root.resolve()
    try:
        real = (base / p).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a loop of links, a name too long
        raise missing from None
    if not real.is_relative_to(base) or not real.is_file():
        raise missing
    return real
