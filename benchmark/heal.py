"""A run directory is healed, never trusted: what a crash or a disk fault left unreadable is moved aside
(``<name>.corrupt-<time>``) and rebuilt, and every heal is one ``healed`` line of the run's
``attempts.jsonl`` (``benchmark.status`` shows them).

``attempts.jsonl`` holds one JSON line per event of a run (``submitted``, ``started``, ``finished``,
``failed``, ``checkpointed``, ``healed``); see ``benchmark.launch``.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path

ATTEMPTS_FILE = "attempts.jsonl"

# heals of files outside any run directory (shared caches), waiting to be logged in the run that met them
_unlogged: list[dict] = []


def record(path: Path, event: str, **info) -> None:
    """Append one event to the run's attempts.jsonl (single small line: an atomic append)."""
    line = json.dumps({"event": event, "time": datetime.now().isoformat(timespec="seconds"), **info}) + "\n"
    Path(path).mkdir(parents=True, exist_ok=True)
    with open(Path(path) / ATTEMPTS_FILE, "a") as f:
        f.write(line)


def read_attempts(path: Path) -> list[dict]:
    p = Path(path) / ATTEMPTS_FILE
    try:
        text = p.read_text(errors="replace")
    except OSError:  # missing, or not a file
        return []
    out = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a crash mid-write
            continue
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            out.append(event)
    return out


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 200 characters."""
    msg = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {msg}"[:200]


def move_aside(path: Path, reason: str, *, run: Path | None = None) -> Path | None:
    """Rename the unreadable ``path`` to ``<path>.corrupt-<time>``, say so in one line on stderr and log a
    ``healed`` event in ``run`` (or keep it for the run that next calls ``log_unlogged``)."""
    path = Path(path)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:  # another process moved it first
        aside = None
    except OSError:  # cannot rename (read-only folder): drop it if possible
        try:
            path.unlink()
        except OSError:
            pass
        aside = None
    heal = {"what": path.name, "file": str(path), "reason": reason,
            "moved_to": aside.name if aside else None}
    print(f"warning: healed {path}: {reason}; " + (f"moved to {aside.name}" if aside else "removed")
          + ", rebuilt from scratch", file=sys.stderr)
    if run is not None:
        record(run, "healed", **heal)
    else:
        _unlogged.append(heal)
    return aside


def note_heal(run: Path, what: str, reason: str) -> None:
    """A heal that moved nothing (e.g. a metrics file rewritten from the checkpoint), logged in ``run``."""
    print(f"warning: healed {Path(run) / what}: {reason}", file=sys.stderr)
    record(run, "healed", what=what, file=str(Path(run) / what), reason=reason, moved_to=None)


def log_unlogged(run: Path) -> None:
    """Log in ``run`` the cache heals this process made since the last call."""
    while _unlogged:
        record(run, "healed", **_unlogged.pop(0))


def heals(path: Path) -> list[dict]:
    return [a for a in read_attempts(path) if a["event"] == "healed"]
