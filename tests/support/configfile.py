"""Writing the config file a reloading daemon watches: YAML from a dict (or text as it is),
with a modification time one second past the last one, so a rewrite is seen as a change
even within the file system's timestamp granularity."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


def write_config(path: Path, doc: dict[str, Any] | str) -> Path:
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc)
    path.write_text(text)
    stat = path.stat()  # a new mtime even within the file system's timestamp granularity
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    return path
