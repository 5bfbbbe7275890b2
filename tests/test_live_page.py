"""The Live page without a browser: AppTest smoke tests, ``_webrtc.py`` and the ``_bootstrap.py`` workarounds.

The session logic is tested in ``test_live.py``; the WebRTC round trip in a real browser by
``test_live_browser.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from app_pages import _bootstrap, _state, _webrtc
from workbench.live import LiveSession

LIVE = str(ROOT / "app_pages" / "live.py")


@pytest.fixture
def live_page(monkeypatch, tmp_path):
    """An AppTest of the Live page, with no model bundle at all (the preferred one is a missing path).

    streamlit-webrtc looks its session up in the Streamlit runtime, which AppTest replaces with a mock;
    its own "no session" answer (None) is what it gets here.
    """
    import streamlit_webrtc.component

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    monkeypatch.setenv(_webrtc.MODEL_ENV, str(tmp_path / "no-such-bundle"))
    monkeypatch.setattr(_webrtc, "PRETRAINED_DIR", tmp_path)  # and no other bundle either
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path / "store"))  # nor one of the person's own

    def make(engine: str | None = None, session: LiveSession | None = None) -> AppTest:
        at = AppTest.from_file(LIVE, default_timeout=60)
        if engine:
            at.session_state[_state.LIVE_ENGINE] = engine
        if session is not None:
            at.session_state[_state.LIVE_SESSION] = session
        return at.run()

    return make


def test_missing_model_is_an_error_message_not_a_crash(live_page, tmp_path):
    at = live_page()
    assert not at.exception, at.exception
    assert at.radio(key=_state.LIVE_ENGINE).value == "model"  # a model is preselected
    assert "no-such-bundle" in at.warning[0].value  # the preselected model is missing...
    assert "no-such-bundle" in at.error[0].value  # ...and there is no other one
    at.radio(key=_state.LIVE_ENGINE).set_value("passthrough").run()  # the baselines still work
    assert not at.exception and not at.error and not at.warning


@pytest.mark.parametrize("engine", ["passthrough", "pitch", "anonymize"])
def test_baselines_render_with_meters(live_page, engine):
    at = live_page(engine)
    assert not at.exception, at.exception
    assert not at.error
    labels = [m.label for m in at.metric]
    assert labels == ["Input level", "Input F0", "Converter latency", "Chunk time", "Real-time factor",
                      "Late / dropped"]
    live = at.session_state[_state.LIVE_SESSION]
    from workbench.store import Store

    # recordings stay in this app's data store ($WORKBENCH_DATA), never in the repository
    assert isinstance(live, LiveSession) and live.recordings_dir == Store().root / "recordings"
    assert live.cfg.trace_frames == 0  # no --live-trace argument: nothing is traced


def test_mcadams_changes_live_and_pitch_rebuilds(live_page):
    at = live_page("anonymize")
    live = at.session_state[_state.LIVE_SESSION]
    stream = live.stream
    assert at.slider(key=_state.LIVE_MCADAMS).value == pytest.approx(0.8)
    at.slider(key=_state.LIVE_MCADAMS).set_value(0.6).run()
    assert live.stream is stream and stream.mcadams == pytest.approx(0.6)  # same converter, new alpha
    at.toggle(key=_state.LIVE_BYPASS).set_value(True).run()
    assert live.stream is stream and stream.bypass
    at.radio(key=_state.LIVE_ENGINE).set_value("pitch").run()
    pitch = live.stream
    at.slider(key=_state.LIVE_SEMITONES).set_value(7).run()
    assert not at.exception and live.stream is not pitch and live.stream is not stream


def test_a_busy_machine_and_a_full_house_are_said_politely(live_page, monkeypatch):
    from test_live import StepClock, speech48, webrtc_frames  # noqa: F401 - the same frames as the session tests

    from workbench.config import LiveConfig
    from workbench.live import EngineSpec

    # the machine is too busy: 30 ms of compute per 20 ms frame for a whole window
    busy = LiveSession(LiveConfig(), clock=StepClock(0.030))
    busy.use(EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    from conftest import synth_speech

    for f in webrtc_frames(synth_speech(48_000, duration_s=2.4)):
        busy.process([f])
    at = AppTest.from_file(LIVE, default_timeout=60)
    at.session_state[_state.LIVE_ENGINE] = "passthrough"
    at.session_state[_state.LIVE_SESSION] = busy
    at.run()
    assert not at.exception and any("too busy to convert in real time" in w.value for w in at.warning)
    # every stream slot is taken by other people: this page says so instead of starting a stream
    registry = _webrtc.registry()
    others = [LiveSession() for _ in range(registry.max_sessions)]
    for o in others:
        registry.admit(o)
    try:
        at = live_page("passthrough")
        assert not at.exception and any("already converting live" in i.value for i in at.info)
        assert not at.metric  # no meters, no stream
    finally:
        for o in others:
            registry.release(o)
    assert not live_page("passthrough").info
def test_scrolling_view_draws_what_the_session_heard(live_page):
    """A session that already streamed 1.2 s of speech (pitch +12): the view shows both sides and their F0."""
    from conftest import synth_speech
    from test_live import webrtc_frames
    from test_plots import decode

    from workbench.live import EngineSpec

    live = _webrtc.new_session()
    live.use(EngineSpec("pitch", semitones=12.0), mcadams=0.8, bypass=False)
    live.process(webrtc_frames(synth_speech(48_000, duration_s=1.2, f0_hz=120.0)))
    at = live_page("pitch", session=live)
    assert not at.exception, at.exception
    assert at.session_state[_state.LIVE_SESSION] is live  # the page used the session in state
    scroll = [c for c in at.get("plotly_chart") if "Converted (output)" in c.proto.spec]
    assert len(scroll) == 1
    fig = json.loads(scroll[0].proto.spec)
    names = [t["type"] for t in fig["data"]]
    assert names == ["heatmap", "scatter", "heatmap", "scatter"]
    f0_in, f0_out = (np.asarray(decode(fig["data"][i]["y"]), float) for i in (1, 3))
    assert np.nanmedian(f0_in) == pytest.approx(120.0, rel=0.05)
    assert np.nanmedian(f0_out) == pytest.approx(240.0, rel=0.08)  # the class sees the octave
    assert fig["layout"]["xaxis"]["range"] == pytest.approx([0.0, 5.0])  # 1.2 s: the view fills from the left
    end, _ = at.session_state[_state.LIVE_SCROLL]
    assert end == pytest.approx(live.recent().end_s)


def test_idle_session_shows_the_empty_view_with_a_hint(live_page):
    at = live_page("passthrough")
    assert not at.exception, at.exception
    assert any("scroll by here" in c.value for c in at.caption)


def test_own_bundles_from_the_store_are_offered(monkeypatch, tmp_path):
    """The person's conversion bundles join the list (newest first, after the preferred one); encoders never."""
    import shutil

    from workbench.store import Store

    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path / "store"))
    monkeypatch.delenv(_webrtc.MODEL_ENV, raising=False)
    store = Store()
    shutil.copytree(_webrtc.PRETRAINED_DIR / "slt-to-awb", store.models_dir / "mine")
    shutil.copytree(_webrtc.PRETRAINED_DIR / "speaker-encoder", store.models_dir / "my-encoder")
    choices = _webrtc.model_choices()
    assert list(choices)[:2] == ["any-to-slt", "mine (yours)"]
    assert choices["mine (yours)"] == store.models_dir / "mine"
    assert not any("encoder" in name for name in choices) and "slt-to-awb" in choices


# ------------------------------------------------------------------------------------------------ ICE
class _IP:
    def __init__(self, ip):
        self.ip = ip


class _Adapter:
    def __init__(self, *ips):
        self.ips = [_IP(ip) for ip in ips]


@pytest.mark.parametrize("adapters,expected", [
    ([_Adapter("127.0.0.1", ("::1", 0, 0))], ["127.0.0.1"]),  # loopback only: offer it
    ([_Adapter("127.0.0.1"), _Adapter("192.0.2.7")], ["192.0.2.7"]),  # a real address: unchanged
])
def test_loopback_host_candidate_only_when_nothing_else(monkeypatch, adapters, expected):
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", aioice.ice.get_host_addresses)  # restored after
    monkeypatch.setattr(aioice.ice.ifaddr, "get_adapters", lambda: adapters)
    _bootstrap.allow_loopback_ice()
    patched = aioice.ice.get_host_addresses
    _bootstrap.allow_loopback_ice()  # idempotent: not wrapped twice
    assert aioice.ice.get_host_addresses is patched
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == expected


def test_trace_path_comes_from_the_command_line(monkeypatch, tmp_path):
    monkeypatch.setattr("sys.argv", ["app.py"])
    assert _webrtc.trace_path() is None
    monkeypatch.setattr("sys.argv", ["app.py", "--live-trace", str(tmp_path / "t.log")])
    assert _webrtc.trace_path() == tmp_path / "t.log"
    assert _webrtc.new_session().cfg.trace_frames > 0
