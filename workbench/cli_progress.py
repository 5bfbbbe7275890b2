"""Terminal progress for the CLI's long commands (training a converter or a speaker encoder)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def progress_bars(bars: dict[str, Any]) -> Iterator[threading.Event]:
    """Yield the event a training loop polls to stop; close the command's ``tqdm`` bars however it ends.

    ``bars`` is the dict the command's progress callback fills (stage -> bar). Ctrl+C sets the event (so a
    checkpoint being written stays consistent) before it propagates.
    """
    stop = threading.Event()
    try:
        yield stop
    except KeyboardInterrupt:
        stop.set()
        raise
    finally:
        for bar in bars.values():
            bar.close()
