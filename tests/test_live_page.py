"""The Live page without a browser: AppTest smoke tests and the page-side helpers in ``app_pages/_webrtc.py``.

The WebRTC round trip itself is tested in a real browser by ``test_live_browser.py``.
"""

from __future__ import annotations

import threading
from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import ROOT, synth_speech
from streamlit.testing.v1 import AppTest

from app_pages import _state, _webrtc

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
    monkeypatch.delenv(_webrtc.LOG_ENV, raising=False)

    def make(engine: str | None = None) -> AppTest:
        at = AppTest.from_file(LIVE, default_timeout=60)
        if engine:
            at.session_state[_state.LIVE_ENGINE] = engine
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
    assert isinstance(at.session_state[_state.LIVE_SESSION], _webrtc.LiveSession)


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


# --------------------------------------------------------------------------------------- LiveSession
def webrtc_frames(y: np.ndarray, *, pts0: int = 0) -> list[av.AudioFrame]:
    """``y`` at 48 kHz as WebRTC delivers it: packed s16 stereo frames of 960 samples."""
    frames = []
    for i in range(0, len(y) - 959, 960):
        s = np.round(y[i:i + 960] * 32767).astype(np.int16)
        f = av.AudioFrame.from_ndarray(np.repeat(s, 2)[None, :], format="s16", layout="stereo")
        f.sample_rate, f.pts, f.time_base = 48_000, pts0 + i, Fraction(1, 48_000)
        frames.append(f)
    return frames


def samples(frames: list[av.AudioFrame]) -> np.ndarray:
    return np.concatenate([f.to_ndarray().reshape(-1, 2)[:, 0] for f in frames]).astype(np.float64) / 32767


@pytest.fixture
def speech48() -> np.ndarray:
    return synth_speech(48_000, duration_s=0.6, f0_hz=120.0)


def test_each_session_streams_through_its_own_converter(speech48):
    """Two sessions, called from two threads at once, never hear each other's converter."""
    dry, anon = _webrtc.LiveSession(), _webrtc.LiveSession()
    dry.use(_webrtc.EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    anon.use(_webrtc.EngineSpec("anonymize"), mcadams=0.6, bypass=False)
    frames = webrtc_frames(speech48)
    out: dict[str, list] = {"dry": [], "anon": []}

    def run(name, session):
        for f in frames:
            out[name] += session.process([f])

    threads = [threading.Thread(target=run, args=a) for a in (("dry", dry), ("anon", anon))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(samples(out["dry"]), samples(frames))  # passthrough: bit-exact
    assert not np.allclose(samples(out["anon"]), samples(frames), atol=0.05)
    assert dry.stream.snapshot().n_chunks == anon.stream.snapshot().n_chunks == len(frames)
    assert [f.pts for f in out["anon"]] == [f.pts for f in frames]


def test_counters_log_and_lost_frames(speech48, tmp_path, monkeypatch):
    log = tmp_path / "live.log"
    monkeypatch.setenv(_webrtc.LOG_ENV, str(log))
    live = _webrtc.LiveSession()
    live.use(_webrtc.EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    frames = webrtc_frames(speech48)
    live.process(frames[:3])  # three frames queued behind a slow chunk: two were late
    live.process(frames[5:])  # frames 3 and 4 never arrived
    counts = live.counters()
    assert counts["frames"] == len(frames) - 2 and counts["late"] == 2 + len(frames) - 6
    assert counts["dropped"] == 2
    rows = np.loadtxt(log)
    assert rows.shape == (len(frames) - 2, 3)
    np.testing.assert_allclose(rows[:, 1], rows[:, 2], atol=1e-4)  # input RMS == output RMS (passthrough)


def test_recording_is_saved_when_the_stream_ends(speech48, tmp_path, monkeypatch):
    monkeypatch.setattr(_webrtc, "RECORDINGS_DIR", tmp_path / "rec")
    live = _webrtc.LiveSession()
    live.use(_webrtc.EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    live.record = True
    live.process(webrtc_frames(speech48))
    live.on_ended()
    names = sorted(p.name.split("-")[-1] for p in (tmp_path / "rec").iterdir())
    assert names == ["input.wav", "output.wav"]
    assert live.save_recording() is None  # nothing new since


def test_a_stalled_stream_is_restarted_then_given_up(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(_webrtc.time, "monotonic", lambda: now[0])
    live = _webrtc.LiveSession()
    assert live.desired_playing_state is None  # the person's Start/Stop buttons
    assert not live.watch_stall(True)  # just connected
    now[0] += _webrtc.STALL_S + 0.1
    assert live.watch_stall(True)  # connected, no frame for STALL_S: restart
    assert live.desired_playing_state is False and live.n_restarts == 1
    assert live.advance_restart(playing=False, signalling=False) and live.desired_playing_state is False
    assert not live.advance_restart(playing=False, signalling=False)  # settling
    now[0] += _webrtc.SETTLE_S
    assert live.advance_restart(playing=False, signalling=False) and live.desired_playing_state is True
    assert live.advance_restart(playing=True, signalling=False) and live.desired_playing_state is None
    assert live.n_restarts == 1 and not live.gave_up
    now[0] += _webrtc.STALL_S + 0.1
    assert not live.watch_stall(True)  # restarted: the stall clock starts again


def test_a_stuck_restart_is_retried_then_given_up(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(_webrtc.time, "monotonic", lambda: now[0])
    live = _webrtc.LiveSession()
    live.watch_stall(True)
    now[0] += _webrtc.STALL_S + 0.1
    assert live.watch_stall(True) and live.restart_phase == "stop"
    for n in range(2, _webrtc.MAX_RESTARTS + 1):  # the browser never stops: retried after a timeout
        assert not live.watch_stall(True)
        now[0] += _webrtc.RESTART_TIMEOUT_S
        assert live.watch_stall(True) and live.n_restarts == n
    now[0] += _webrtc.RESTART_TIMEOUT_S
    assert live.watch_stall(True)
    assert live.gave_up and live.restart_phase is None and live.desired_playing_state is None


def test_frames_reset_the_restart_count(speech48, monkeypatch):
    live = _webrtc.LiveSession()
    live.use(_webrtc.EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    live.restarts_in_row, live.gave_up = _webrtc.MAX_RESTARTS, True
    live.process(webrtc_frames(speech48)[:1])
    assert live.restarts_in_row == 0 and not live.gave_up
    assert not live.is_stalled(True)


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
    _webrtc.allow_loopback_ice()
    patched = aioice.ice.get_host_addresses
    _webrtc.allow_loopback_ice()  # idempotent: not wrapped twice
    assert aioice.ice.get_host_addresses is patched
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == expected
