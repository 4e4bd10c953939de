"""Which server a benchmark measured: its version, and whether it answered like the
kit's test stand-in or like a W&B server, as far as its answers tell (both facts are
what the server says of itself: its serverInfo version and its HTTP Server header)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from wandb_local_kit.core.documents import SERVER_INFO

STANDIN_MARK = "standin"  # the stand-in's version ends -standin; its Server header says so


def identify(url: str, key: str, verify: bool | str = True, timeout: float = 15) -> dict:
    """{"version", "server_header", "kind", "why"}; never raises (the benchmark's figures
    matter more than this label: what could not be asked is "unknown")."""
    from wandb_local_kit.server import client

    version, header, problems = None, None, []
    sess = client.session(verify)
    try:
        resp = sess.get(url.rstrip("/") + "/healthz", timeout=timeout)
        header = resp.headers.get("Server")
    except Exception as err:  # a label, not a verdict: say what failed
        problems.append(f"/healthz: {type(err).__name__}")
    try:
        info = (client.graphql(sess, url, key, SERVER_INFO, timeout=timeout) or {}).get(
            "serverInfo"
        ) or {}
        version = (info.get("latestLocalVersionInfo") or {}).get("versionOnThisInstanceString")
    except Exception as err:  # as above
        problems.append(f"serverInfo: {type(err).__name__}")
    return {"version": version, "server_header": header, **classify(version, header, problems)}


def classify(version: str | None, header: str | None, problems: Sequence[str] = ()) -> dict:
    said = " ".join(filter(None, [version, header])).lower()
    if STANDIN_MARK in said:
        return {
            "kind": "stand-in",
            "why": "answered like the kit's test stand-in (tests/standin), not wandb/local: "
            f"version {version!r}, Server header {header!r}",
        }
    if version and re.fullmatch(r"\d+\.\d+\.\d+\S*", version):
        return {
            "kind": "W&B server",
            "why": f"answered like a W&B server (wandb/local {version}), as far as its "
            "serverInfo and headers tell",
        }
    return {
        "kind": "unknown",
        "why": "could not tell which server this is"
        + (f" ({'; '.join(problems)})" if problems else f" (version {version!r})"),
    }
