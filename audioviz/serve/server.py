"""Starting and stopping the playground: the listening socket, uvicorn, the log, and the
warning for an address other machines can reach."""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import sys
from importlib.util import find_spec
from pathlib import Path

from ..errors import ConfigError, MissingDependencyError

log = logging.getLogger("audioviz.serve")

DEFAULT_PORT = 8765


def _require() -> None:
    missing = [name for name in ("fastapi", "uvicorn") if find_spec(name) is None]
    if missing:
        raise MissingDependencyError(f"audioviz serve needs {' and '.join(missing)}: pip install 'audioviz[serve]'")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host`:`port` (0: a free port); ConfigError in one line when the
    port is taken or the address is not this machine's."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ConfigError(f"--host {host}: not an address or a name of this machine ({e.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is in use (another playground?); give another with --port, or "
                              "--port 0 for any free one") from None
        raise ConfigError(f"--host {host} --port {port}: cannot listen there ({e.strerror})") from None
    return sock


def host_names(host: str, allowed: tuple[str, ...]) -> frozenset[str]:
    """The names requests may use for this server: `host`, `allowed`, and this machine's own
    names when it listens beyond this machine."""
    names = {host, *allowed}
    if not is_loopback(host):
        names |= {socket.gethostname(), socket.getfqdn()}
    return frozenset(n.lower() for n in names if n)


def url_of(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def serve(*, music: Path | None = None, workdir: Path | None = None, host: str = "127.0.0.1",
          port: int = DEFAULT_PORT, max_upload: int = 200_000_000, max_workdir: int = 5_000_000_000, jobs: int = 1,
          models: tuple[Path, ...] = (), allow_hosts: tuple[str, ...] = (), open_browser: bool = False) -> None:
    """Serve the playground until Ctrl-C or SIGTERM; then stop its workers (a running job's
    partial file removed) and return."""
    _require()
    import uvicorn

    from ..extract.collect import cache_root
    from .app import Playground, create_app
    from .settings import Models
    from .store import human_bytes

    if music is not None and not music.is_dir():
        raise ConfigError(f"--music {music}: not a folder")
    if max_upload > max_workdir:
        raise ConfigError(f"--max-upload {human_bytes(max_upload)} is larger than --max-workdir "
                          f"{human_bytes(max_workdir)}, which holds the uploads too")
    offered = Models(tuple(models))
    workdir = workdir if workdir is not None else cache_root() / "serve"
    sock = bind(host, port)
    url = url_of(sock, host)
    _log_to_stderr()
    if not is_loopback(host):
        print(f"warning: --host {host} serves the playground to every machine that can reach this one, with no "
              "password: anyone there can list the music folder, upload songs, start renders and download the "
              "results", file=sys.stderr)
    try:
        playground = Playground(music=music, workdir=workdir, cap=max_workdir, max_upload=max_upload,
                                models=offered, jobs=jobs)
        try:
            app = create_app(playground, host_names(host, allow_hosts))
            server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                                   log_config=None))
            print(f"audioviz playground: {url} (work folder {workdir}; Ctrl-C stops it)", file=sys.stderr,
                  flush=True)
            if open_browser:
                import webbrowser

                webbrowser.open(url)
            try:
                server.run(sockets=[sock])
            except KeyboardInterrupt:  # uvicorn stops on the signal, then raises it again for us: done
                pass
        finally:
            playground.close()
    finally:
        sock.close()
    print("audioviz playground stopped", file=sys.stderr)
