"""`POST /mgmt/tm/util/bash` on the simulated BIG-IP: reading certificate files.

The only command understood is the one certificate readers send (Keyfactor's
F5 orchestrator, research/f5.md §2.4):

    {"command": "run",
     "utilCmdArgs": "-c 'cat /config/filestore/files_d/<P>_d/certificate_d/:<P>:<name>_* | base64'"}

with or without `| base64` (`-w0` allowed), with any number of paths and shell
globs, matched against the device's filestore.  A path that matches nothing
gives cat's error text, as a shell would.  `commandResult` is absent when the
command printed nothing.  Anything else is refused with 400: the simulator does
not run a shell.
"""

from __future__ import annotations

import base64
import fnmatch
import shlex
from collections.abc import Mapping
from typing import Any

FILESTORE = "/config/filestore/"


class BashRefused(ValueError):
    """Not a `cat` of filestore paths (answered with 400)."""


def run_bash(body: Any, filestore: Mapping[str, str]) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("command") != "run":
        raise BashRefused('expected {"command": "run", "utilCmdArgs": "-c \'...\'"}')
    args = body.get("utilCmdArgs")
    if not isinstance(args, str):
        raise BashRefused("utilCmdArgs must be a string")
    try:
        words = shlex.split(args)
    except ValueError as err:
        raise BashRefused(f"cannot parse utilCmdArgs: {err}") from None
    if len(words) != 2 or words[0] != "-c":
        raise BashRefused("only -c '<command>' is supported")
    stages = [s.strip() for s in words[1].split("|")]
    encode = False
    wrap = True
    if len(stages) == 2 and shlex.split(stages[1]) in (["base64"], ["base64", "-w0"]):
        encode = True
        wrap = stages[1] == "base64"
    elif len(stages) != 1:
        raise BashRefused("only `cat <files>` optionally piped to base64 is supported")
    cat = shlex.split(stages[0])
    if len(cat) < 2 or cat[0] != "cat" or not all(p.startswith(FILESTORE) for p in cat[1:]):
        raise BashRefused(f"only cat of files under {FILESTORE} is supported")
    out = ""
    errors = ""
    for pattern in cat[1:]:
        matches = sorted(p for p in filestore if fnmatch.fnmatchcase(p, pattern))
        if not matches:
            errors += f"cat: {pattern}: No such file or directory\n"
        out += "".join(filestore[m] for m in matches)
    if encode:
        raw = out.encode()
        out = base64.encodebytes(raw).decode() if wrap else base64.b64encode(raw).decode()
        if raw and not wrap:
            out += "\n"
    result: dict[str, Any] = {
        "kind": "tm:util:bash:runstate",
        "command": "run",
        "utilCmdArgs": args,
    }
    if errors + out:
        result["commandResult"] = errors + out
    return result
