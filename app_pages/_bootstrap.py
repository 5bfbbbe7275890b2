"""Process-wide workarounds for the Live page's WebRTC stack, applied once by ``app.py`` at start.

Each one changes global state (a third-party module, the garbage collector, import order), so they
live here, together, instead of as side effects of importing a page. ``bootstrap()`` is idempotent
(Streamlit re-runs ``app.py`` on every interaction). What breaks without each:

1. ``import pylibsrtp`` before TensorFlow: aiortc's SRTP library segfaults in ``srtp_init()`` when it is
   first imported after TensorFlow (the Live page crashed the server on its first connection once a
   Keras bundle had been loaded).
2. ``allow_loopback_ice()``: aioice never offers 127.0.0.1 as a host candidate, so on a machine (or a
   network namespace, as in ``tests/test_live_browser.py``) whose only interface is loopback ICE fails
   and the Live page never connects.
3. ``freeze_gc()``: after every script run, fragment runs included, Streamlit calls ``gc.collect(2)`` (and,
   once Keras is imported, ``keras.backend.clear_session()``). With TensorFlow loaded that took ~0.5 s
   with the GIL held per run (365k tracked objects), so meters refreshing 4x/s starved the WebRTC
   threads (the server got ~10 of 50 frames/s). ``gc.freeze`` moves every object alive now out of the
   cycle collector's reach (they are still freed by reference counting); collections then take ~1 ms.
   Call it again after importing or loading something big: the Live page does after importing the WebRTC
   stack (without it the real-browser test stalled and restarted under load), ``_webrtc.load_converter``
   after loading a model.
4. ``import_plotting_stack()``: plotly looks pandas up in ``sys.modules`` and uses it without waiting for
   its import to finish, so when two sessions' first script runs overlap (two tabs, a reload) one thread
   drew a figure while the other was still importing pandas: ``partially initialized module 'pandas' has
   no attribute 'Series'`` (seen once in CI). Importing both here, behind a lock, before any page runs,
   closes that window: a second thread's ``import`` statement waits for the first to finish.
"""

from __future__ import annotations

import gc
import threading


def allow_loopback_ice() -> None:
    """Make aioice offer ``127.0.0.1`` as a host candidate when this machine has no other IPv4 address.

    ``Connection.gather_candidates`` looks ``get_host_addresses`` up in ``aioice.ice`` at call time, so
    replacing it there is enough. Idempotent.
    """
    import aioice.ice

    original = aioice.ice.get_host_addresses
    if getattr(original, "workbench_loopback", False):
        return

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        if use_ipv4 and not any(":" not in a for a in addresses):
            addresses.append("127.0.0.1")
        return addresses

    get_host_addresses.workbench_loopback = True  # type: ignore[attr-defined]
    aioice.ice.get_host_addresses = get_host_addresses


def load_srtp_first() -> None:
    """Import aiortc's SRTP library now, before anything imports TensorFlow (1. above)."""
    import pylibsrtp  # noqa: F401


def freeze_gc() -> None:
    """Collect once, then move every surviving object out of the cycle collector's reach (``gc.freeze``)."""
    gc.collect()
    gc.freeze()


def import_plotting_stack() -> None:
    """Finish importing pandas and plotly before any page draws a figure (4. above)."""
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401


_applied = False
_lock = threading.Lock()


def bootstrap() -> None:
    """Apply the workarounds above (import order first), once per process; later calls do nothing."""
    global _applied
    with _lock:
        if _applied:
            return
        load_srtp_first()
        allow_loopback_ice()
        import_plotting_stack()
        freeze_gc()
        _applied = True
