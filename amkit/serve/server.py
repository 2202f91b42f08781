"""Run the explorer with uvicorn, warning when it listens beyond this machine."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Sequence
from pathlib import Path

from amkit.errors import UserError
from amkit.train.device import resolve_device

__all__ = ["LOOPBACK", "is_loopback", "serve"]

LOOPBACK = "127.0.0.1"
"""The address amkit serve listens on by default: this machine only."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    paths: Sequence[str | Path], host: str = LOOPBACK, port: int = 8000, device: str | None = None
) -> None:
    """Serve the runs under ``paths`` on ``host:port`` until interrupted; their models answer
    on ``device`` (``None``: each run's own ``train.device``, the CPU where it is missing)."""
    try:
        import uvicorn

        from amkit.serve.app import create_app, plotly_js
    except ImportError as error:
        raise UserError(
            f"amkit serve needs the serve extra ({error.name} is missing): "
            "pip install 'amkit[serve]'"
        ) from None
    if not 0 < port < 65536:
        raise UserError(f"--port must be in 1..65535, got {port}")
    if device is not None:
        resolve_device(device, "--device")  # a device this machine lacks: said now, once
    app = create_app(list(paths) or ["runs"], device=device)
    if not is_loopback(host):
        print(
            f"amkit serve: WARNING: listening on {host}: the explorer has no authentication; "
            "anyone who can reach this port can read these runs and run their models",
            file=sys.stderr,
        )
    if plotly_js() is None:
        print("amkit serve: plotly is not installed: pages show tables without plots "
              "(pip install 'amkit[serve]')", file=sys.stderr)  # fmt: skip
    print(f"amkit serve: http://{host}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
