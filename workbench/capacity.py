"""How many live sessions this machine may convert at once, derived from ``benchmarks/realtime.py``.

The benchmark measures ``max_streams``: how many streams one process keeps below real time (RTF < 1, no
late chunks past 2 %) with nothing else running. The app must also leave room for what people do
beside listening (a training run takes a core; page reruns and plots take CPU too), so the live limit is
that measurement times ``headroom`` (default 0.5), rounded down, at least 1. On the 2-core development
machine the benchmark measures 4-6 streams, hence 2-3 live sessions, and the real-browser test keeps
converting with one person training beside one live stream.

Where the limit comes from, in order: the ``$WORKBENCH_LIVE_MAX_SESSIONS`` override; the last benchmark
result saved for *this* machine in the data store (``benchmarks/realtime.json``, written by
``benchmarks/realtime.py --save``, which ``make bench`` passes); else ``LiveConfig.max_sessions``.
A result measured on another machine (other CPU model or core count) is ignored.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .fileio import write_json

CAPACITY_FILE = Path("benchmarks") / "realtime.json"
MAX_SESSIONS_ENV = "WORKBENCH_LIVE_MAX_SESSIONS"


def machine() -> dict:
    """CPU model, core counts, Python and OS of this machine (what a benchmark result is valid for)."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": model, "cores": os.cpu_count(), "usable_cores": usable, "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}",
            "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


@dataclass(frozen=True)
class SessionLimit:
    """The live-session limit and where it came from (shown on the Live page)."""

    max_sessions: int
    source: str  # "override", "benchmark" or "default"
    detail: str


def save_capacity(result: dict, data_root: str | os.PathLike) -> Path:
    """Store a ``benchmarks/realtime.py`` result (needs ``max_streams`` and ``machine``) in the data store."""
    if not isinstance(result.get("max_streams"), int) or "machine" not in result:
        raise ConfigError("A capacity result needs 'max_streams' (int) and 'machine' (benchmarks/realtime.py writes both).")
    path = Path(data_root) / CAPACITY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, result)
    return path


def session_limit(data_root: str | os.PathLike, *, default: int, headroom: float = 0.5,
                  env: dict | None = None, this_machine: dict | None = None) -> SessionLimit:
    """The number of live sessions to allow at once (see the module docstring for the rule).

    Parameters
    ----------
    data_root : folder
        The data store (``Store.root``).
    default : int
        The limit when nothing was measured (``LiveConfig.max_sessions``).
    headroom : float
        Share of the measured ``max_streams`` given to live sessions, in (0, 1].
    env, this_machine : optional
        The environment and ``machine()`` (injected by tests).
    """
    if not 0.0 < headroom <= 1.0:
        raise ConfigError(f"headroom={headroom} must be in (0, 1].")
    env = os.environ if env is None else env
    override = str(env.get(MAX_SESSIONS_ENV, "")).strip()
    if override:
        if not override.isdigit() or int(override) < 1:
            raise ConfigError(f"${MAX_SESSIONS_ENV}={override!r} must be a whole number >= 1; unset it to use the "
                              "benchmark's measurement.")
        return SessionLimit(int(override), "override", f"set by ${MAX_SESSIONS_ENV}")
    path = Path(data_root) / CAPACITY_FILE
    try:
        result = json.loads(path.read_text())
        streams, measured_on = int(result["max_streams"]), result["machine"]
    except (OSError, ValueError, KeyError, TypeError):
        return SessionLimit(default, "default", "not measured on this machine yet (run `make bench`)")
    here = this_machine or machine()
    if (measured_on.get("cpu"), measured_on.get("usable_cores")) != (here["cpu"], here["usable_cores"]):
        return SessionLimit(default, "default", "the saved benchmark was measured on another machine (run `make bench`)")
    limit = max(1, int(streams * headroom))
    return SessionLimit(limit, "benchmark",
                        f"benchmarks/realtime.py measured {streams} real-time streams on this machine; "
                        f"{limit} are offered, leaving room for training and the pages")


__all__ = ["CAPACITY_FILE", "MAX_SESSIONS_ENV", "SessionLimit", "machine", "save_capacity", "session_limit"]
