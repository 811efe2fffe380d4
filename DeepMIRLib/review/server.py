"""Start the reading station: `deepmir review COHORT_OR_DATASTORE --datastore TRAININGSET`.

Lists the cases first (so a bad folder fails before anything starts), then builds the
trame-slicer application, puts the access rules of `access` in front of every request,
prints the URL to open (with the token when one is needed) and serves until interrupted.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError
from .access import access_middleware, access_url, is_loopback, new_token
from .worklist import load_worklist

WEB_EXTRA_HINT = "the reading station needs the web extra: pip install 'DeepMIRLib[web]'"


def check_web_extra() -> None:
    """InputError naming the extra when trame-slicer (or the slicer-core wheel under it) is missing."""
    try:
        import slicer  # noqa: F401
        import trame_slicer  # noqa: F401
    except ImportError as err:
        raise InputError("deepmir review", f"{WEB_EXTRA_HINT} ({err})") from None


def use_headless_rendering() -> None:
    """Without a display, render the views with EGL (Mesa's llvmpipe where there is no GPU)
    instead of trying X first."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


@contextmanager
def _own_command_line():
    """trame reads its own options from sys.argv; ours are parsed already, so it sees none."""
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        yield
    finally:
        sys.argv = saved


def serve(source, datastore, host: str = "127.0.0.1", port: int = 8080, model="default", device: str = "auto",
          announce=print) -> None:
    """Serve the reading station for the cases of `source` (a cohort or a datastore), saving
    approvals to the training set `datastore`. Blocks until the server stops.
    `announce(url)` is called once the server listens (port 0: a free port is chosen)."""
    check_web_extra()
    cases = load_worklist(source)
    datastore = Path(datastore)
    if datastore.exists() and not datastore.is_dir():
        raise InputError(datastore, "is not a folder")
    bound_loopback = is_loopback(host)
    token = None if bound_loopback else new_token()
    use_headless_rendering()

    from trame.app import get_server

    from .app import ReviewApp

    server = get_server("deepmir-review", client_type="vue3")
    app = ReviewApp(cases, datastore, model, device, server=server)
    server.controller.on_server_bind.add(lambda wslink_server: wslink_server.app.middlewares.append(access_middleware(token, bound_loopback)))
    server.controller.on_server_ready.add(lambda **_: announce(access_url(host, server.port, token)))
    server.controller.on_server_exited.add(lambda **_: app.session.close())  # no detection outlives the server
    app.open_first_unread()
    with _own_command_line():
        server.start(host=host, port=port, open_browser=False, show_connection_info=False, disable_logging=True, timeout=0)
