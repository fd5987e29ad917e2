"""How the client closes a connection that carries one request, where the server closes each connection: the
styles a run measures (``close_style``), named once for the config, the lean user, the analysis and the report."""

from __future__ import annotations

from typing import Literal

CloseStyle = Literal["prompt", "lazy"]
CLOSE_STYLES: dict[str, str] = {
    "prompt": "the client half-closes right after sending its request (the server's capacity)",
    "lazy": "the client closes after reading the answer, as most clients do",
}
