"""``workbench.live``: a Live session's pipeline, counters, recording, trace and stall recovery, without Streamlit.

Settings, the model loader and the clock are injected; nothing here patches a module global.
"""

from __future__ import annotations

import gc
import threading
import weakref
from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile as sf
from conftest import synth_speech

from workbench.config import LiveConfig
from workbench.live import EngineSpec, LiveBusyError, LiveRegistry, LiveSession, write_trace
from workbench.provenance import read_provenance
from workbench.watermark import detect_watermark


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


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
    dry, anon = LiveSession(), LiveSession()
    dry.use(EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    anon.use(EngineSpec("anonymize"), mcadams=0.6, bypass=False)
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


def test_counters_trace_and_lost_frames(speech48, tmp_path):
    live = LiveSession(LiveConfig(trace_frames=100))
    live.use(EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    frames = webrtc_frames(speech48)
    live.process(frames[:3])  # three frames queued behind a slow chunk: two were late
    live.process(frames[5:])  # frames 3 and 4 never arrived
    counts = live.counters()
    assert counts["frames"] == len(frames) - 2 and counts["late"] == 2 + len(frames) - 6
    assert counts["dropped"] == 2
    write_trace(live.drain_trace(), tmp_path / "live.log")
    assert live.drain_trace() == []  # drained
    rows = np.loadtxt(tmp_path / "live.log")
    assert rows.shape == (len(frames) - 2, 3)
    np.testing.assert_allclose(rows[:, 1], rows[:, 2], atol=1e-4)  # input RMS == output RMS (passthrough)
    assert rows[:, 1].max() > 0.1
    untraced = LiveSession()
    untraced.use(EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    untraced.process(frames)
    assert untraced.drain_trace() == []  # tracing is off unless configured


def test_recording_is_saved_when_the_stream_ends(speech48, tmp_path):
    live = LiveSession(recordings_dir=tmp_path / "rec")
    live.use(EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    live.record = True
    live.process(webrtc_frames(speech48))
    live.on_ended()
    names = sorted(p.name.split("-")[-1] for p in (tmp_path / "rec").iterdir())
    assert names == ["input.wav", "output.wav"]
    assert live.save_recording() is None  # nothing new since
    out = next((tmp_path / "rec").glob("*-output.wav"))
    tag = read_provenance(out)  # the generated half is tagged and marked, the person's own input is not
    assert tag["model"] == "passthrough" and tag["source"] == "live microphone"
    y, sr = sf.read(out, dtype="float32")
    assert detect_watermark(y, sr).detected
    assert read_provenance(next((tmp_path / "rec").glob("*-input.wav"))) is None


def test_a_stalled_stream_is_restarted_then_given_up():
    now, cfg = Clock(), LiveConfig()
    live = LiveSession(cfg, clock=now)
    assert live.desired_playing_state is None  # the person's Start/Stop buttons
    assert not live.watch_stall(True)  # just connected
    now.t += cfg.stall_s + 0.1
    assert live.watch_stall(True)  # connected, no frame for STALL_S: restart
    assert live.desired_playing_state is False and live.n_restarts == 1
    assert live.advance_restart(playing=False, signalling=False) and live.desired_playing_state is False
    assert not live.advance_restart(playing=False, signalling=False)  # settling
    now.t += cfg.settle_s
    assert live.advance_restart(playing=False, signalling=False) and live.desired_playing_state is True
    assert live.advance_restart(playing=True, signalling=False) and live.desired_playing_state is None
    assert live.n_restarts == 1 and not live.gave_up
    now.t += cfg.stall_s + 0.1
    assert not live.watch_stall(True)  # restarted: the stall clock starts again


def test_a_stuck_restart_is_retried_then_given_up():
    now, cfg = Clock(), LiveConfig(max_restarts=2)
    live = LiveSession(cfg, clock=now)
    live.watch_stall(True)
    now.t += cfg.stall_s + 0.1
    assert live.watch_stall(True) and live.restart_phase == "stop"
    for n in range(2, cfg.max_restarts + 1):  # the browser never stops: retried after a timeout
        assert not live.watch_stall(True)
        now.t += cfg.restart_timeout_s
        assert live.watch_stall(True) and live.n_restarts == n
    now.t += cfg.restart_timeout_s
    assert live.watch_stall(True)
    assert live.gave_up and live.restart_phase is None and live.desired_playing_state is None


def test_frames_reset_the_restart_count(speech48):
    live, cfg = LiveSession(), LiveConfig()
    live.use(EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    live.restarts_in_row, live.gave_up = cfg.max_restarts, True
    live.process(webrtc_frames(speech48)[:1])
    assert live.restarts_in_row == 0 and not live.gave_up
    assert not live.is_stalled(True)




def test_model_engine_uses_the_injected_loader(speech48):
    from workbench.inference import VoiceConverter

    asked = []

    def load(path):
        asked.append(path)
        return VoiceConverter.load("f0", pitch_ratio=2.0)

    live = LiveSession(load_converter=load)
    stream = live.use(EngineSpec("model", model="some/bundle"), mcadams=0.8, bypass=False)
    assert asked == ["some/bundle"] and stream.latency_ms > 0
    assert live.use(EngineSpec("model", model="some/bundle"), mcadams=0.8, bypass=True) is stream  # same spec
    assert asked == ["some/bundle"] and stream.bypass


def test_live_config_is_validated():
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="stall_s"):
        LiveConfig(stall_s=0)
    with pytest.raises(ConfigError, match="trace_frames"):
        LiveConfig(trace_frames=-1)


class StepClock:
    """A clock that moves ``step`` seconds on every reading: each batch of frames "computes" for ``step``."""

    def __init__(self, step: float, t: float = 100.0):
        self.step, self.t = step, t

    def __call__(self) -> float:
        self.t += self.step
        return self.t - self.step


def test_sessions_past_the_limit_are_refused_politely(speech48):
    clock = Clock()
    registry = LiveRegistry(2, idle_release_s=30.0, clock=clock)
    sessions = [LiveSession(registry=registry, clock=clock) for _ in range(3)]
    frames = webrtc_frames(speech48)
    for s in sessions:
        s.use(EngineSpec("passthrough"), mcadams=0.8, bypass=False)
        out = s.process(frames[:2])
    assert registry.active() == 2 and [s.refused is None for s in sessions] == [True, True, False]
    assert "Sorry, this machine is already converting 2 live streams" in sessions[2].refused
    assert "try again" in sessions[2].refused and not registry.has_room_for(sessions[2])
    assert np.abs(samples(out)).max() == 0.0  # the newcomer hears silence, the others keep their stream
    with pytest.raises(LiveBusyError):
        registry.admit(sessions[2])
    sessions[0].on_ended()  # one person presses Stop: the slot is free again
    sessions[2].process(frames[2:4])
    assert sessions[2].refused is None and registry.active() == 2
    np.testing.assert_array_equal(samples(sessions[2].process(frames[4:6])), samples(frames[4:6]))
    clock.t += 31.0  # a browser that vanished without "ended" gives its slot back after idle_release_s
    assert registry.active() == 0


def test_a_disconnect_or_reload_leaves_no_threads_and_no_converters(speech48):
    """The audio thread ends with the connection; closing or dropping the session frees its converter."""
    registry = LiveRegistry(1)
    frames = webrtc_frames(speech48)
    threads_before = threading.active_count()
    refs = []
    for _ in range(3):  # three connections one after another: a reload each time
        live = LiveSession(registry=registry)
        refs.append(weakref.ref(live.use(EngineSpec("anonymize"), mcadams=0.8, bypass=False)))
        audio = threading.Thread(target=lambda s=live: [s.process([f]) for f in frames])  # the audio thread
        audio.start()
        audio.join(60)
        assert not audio.is_alive() and registry.active() == 1 and live.refused is None  # a new connection works
        if len(refs) == 2:
            live.close()  # a disconnect the page saw
            assert live.stream is None and registry.active() == 0
        del live, audio  # a reload: Streamlit drops the old session state
        gc.collect()
    assert registry.active() == 0 and all(r() is None for r in refs)  # no converter outlives its session
    assert threading.active_count() == threads_before


def test_machine_too_busy_is_detected_from_compute_time_per_chunk(speech48):
    """With an injected clock: 30 ms of compute per 20 ms frame, sustained for the window, is "too busy"."""
    frames = webrtc_frames(np.tile(speech48, 6))  # 3.6 s of 20 ms frames
    cfg = LiveConfig(busy_window_s=2.0, busy_rtf=1.0)
    slow, fast = LiveSession(cfg, clock=StepClock(0.030)), LiveSession(cfg, clock=StepClock(0.012))
    for s in (slow, fast):
        s.use(EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    busy_after = None
    for i, f in enumerate(frames):
        slow.process([f])
        fast.process([f])
        if slow.busy and busy_after is None:
            busy_after = i + 1
        assert not fast.busy
    assert busy_after == 100  # not before a full window (2 s = 100 frames): one slow chunk is no alarm
    assert slow.load == pytest.approx(1.5) and fast.load == pytest.approx(0.6)
    assert slow.counters()["busy"] and not fast.counters()["busy"]
    slow._clock.step = 0.010  # the training run finished: the window refills with fast chunks
    for f in frames[:40]:
        slow.process([f])
    assert slow.busy  # 0.8 s of fast chunks: (1.2 s * 1.5 + 0.8 s * 0.5) / 2 s = 1.1, still too busy
    for f in frames[40:60]:
        slow.process([f])
    assert not slow.busy and slow.load == pytest.approx(0.9)  # (0.8 * 1.5 + 1.2 * 0.5) / 2


@pytest.mark.slow  # ~30 s: a training run and 6 s of real-time streaming
def test_classroom_one_trains_while_another_is_live(tmp_path):
    """One person trains (a real TrainingJob) while another streams 20 ms chunks in real time.

    Frames are paced by the wall clock; when a chunk's compute runs late, the frames due meanwhile queue
    up and arrive together in the next call (as aiortc delivers them). Wall-time numbers on a shared
    machine vary, so the test asserts relations: every frame is converted, the job trained meanwhile, and
    the session's late count and busy verdict are exactly what its own measurements say.
    """
    import csv
    import os
    import time

    from conftest import ROOT

    from workbench.config import TrainConfig
    from workbench.jobs import TrainingJob
    from workbench.store import Store

    corpus = tmp_path / "corpus"
    rows = [r for r in csv.DictReader(open(ROOT / "sample_audio" / "manifest.csv"))
            if r["voice"] in ("awb", "slt") and r["split"] == "train" and int(r["utt_id"][1:]) <= 20]
    for r in rows:
        (corpus / r["voice"]).mkdir(parents=True, exist_ok=True)
        os.symlink(ROOT / "sample_audio" / r["voice"] / f"{r['utt_id']}.flac", corpus / r["voice"] / f"{r['utt_id']}.flac")
    os.symlink(ROOT / "sample_audio" / "slt" / "consent.json", corpus / "slt" / "consent.json")
    with open(corpus / "manifest.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    store = Store(tmp_path / "data", sample_dir=corpus, pretrained_dir=tmp_path / "none")
    job = TrainingJob(store, sources=["awb"], target="slt", name="class", evaluate=False,
                      cfg=TrainConfig(epochs=50, patience=50, realign_rounds=0, n_jobs=1, seq_frames=100)).start()
    try:
        time.sleep(2.0)  # let it get going (analysis of the clips)
        live = LiveSession(LiveConfig(busy_window_s=2.0))
        live.use(EngineSpec("anonymize"), mcadams=0.8, bypass=False)  # WORLD analysis + synthesis: real work
        frames = webrtc_frames(np.tile(synth_speech(48_000, duration_s=1.0, f0_hz=120.0), 6))
        t0, i, calls, out = time.monotonic(), 0, [], []
        while i < len(frames):
            due = int((time.monotonic() - t0) / 0.020) + 1  # frames the microphone has sent by now
            batch = frames[i:max(due, i + 1)]
            c0 = time.monotonic()
            out += live.process(batch)
            calls.append((len(batch), time.monotonic() - c0))
            i += len(batch)
            time.sleep(max(0.0, t0 + i * 0.020 - time.monotonic()))
        job_state = job.state
    finally:
        job.stop()
        job.join(120)
    counts = live.counters()
    late_chunks = sum(1 for n, c in calls if c > 0.020 * n)
    print(f"classroom: {len(frames)} frames in {len(calls)} calls, {counts['late']} late frames, "
          f"{late_chunks} calls slower than real time, load {counts['load']:.2f}, busy {counts['busy']}")
    assert len(out) == len(frames) and np.isfinite(samples(out)).all()  # it kept converting
    assert job_state == "running" and job.state in ("stopped", "done")  # the other person trained meanwhile
    assert counts["frames"] == len(frames) and counts["late"] == sum(n - 1 for n, _ in calls)
    window, audio, compute = [], 0.0, 0.0  # the busy verdict recomputed from the measured calls
    for n, c in calls:
        window.append((n * 0.020, c))
        audio, compute = audio + n * 0.020, compute + c
        while len(window) > 1 and audio - window[0][0] >= 2.0:
            a, b = window.pop(0)
            audio, compute = audio - a, compute - b
    assert counts["load"] == pytest.approx(compute / audio, rel=0.25)  # process() times a little less than us
    assert counts["busy"] == (counts["load"] > 1.0)  # the page's warning follows the measured load
# ------------------------------------------------------------------------------ the rolling buffer (recent)
def test_recent_holds_exactly_what_was_pushed(speech48):
    live = LiveSession(LiveConfig(recent_s=5.0))
    assert live.recent().input.size == 0 and live.recent().end_s == 0.0  # before the first frame
    live.use(EngineSpec("pitch", semitones=5.0), mcadams=0.8, bypass=False)
    frames = webrtc_frames(speech48)
    out = live.process(frames)
    recent = live.recent()
    np.testing.assert_allclose(recent.input, samples(frames), atol=1 / 32767)  # s16 frames -> float32
    np.testing.assert_allclose(recent.output, samples(out), atol=2 / 32767)  # what the browser got (s16)
    assert recent.sr == 48_000 and recent.end_s == pytest.approx(len(frames) * 960 / 48_000)
    assert recent.start_s == pytest.approx(0.0)
    last = live.recent(0.1)  # the newest 0.1 s only
    assert last.input.size == 4800 and last.start_s == pytest.approx(recent.end_s - 0.1)
    np.testing.assert_array_equal(last.input, recent.input[-4800:])


def test_recent_is_bounded_and_keeps_the_newest_samples():
    live = LiveSession(LiveConfig(recent_s=0.5))  # 24 000 samples at 48 kHz
    ramp = (np.arange(48_000 * 2) % 30_000 - 15_000) / 32767  # 2 s of distinct values
    frames = webrtc_frames(ramp)
    for i in range(0, len(frames), 7):  # uneven batches wrap the ring at odd places
        live.process(frames[i:i + 7])
    recent = live.recent()
    assert recent.input.size == 24_000 and live._recent.nbytes == 2 * 24_000 * 4  # fixed memory
    np.testing.assert_allclose(recent.input, samples(frames)[-24_000:], atol=1 / 32767)
    np.testing.assert_array_equal(recent.output, recent.input)  # no converter: output is the input
    assert recent.end_s == pytest.approx(2.0)
    assert LiveSession(LiveConfig(recent_s=0.0)).recent().input.size == 0  # 0 keeps nothing
    with pytest.raises(Exception, match="recent_s"):
        LiveConfig(recent_s=-1.0)


def test_recent_snapshot_is_consistent_while_the_audio_thread_pushes():
    """Snapshots taken during pushes from another thread: input and output always end on the same sample."""
    live = LiveSession(LiveConfig(recent_s=0.2))
    live.use(EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    ramp = (np.arange(48_000 * 3) % 20_000 - 10_000) / 32767
    frames = webrtc_frames(ramp)
    stop, bad = threading.Event(), []

    def push():
        for f in frames:
            live.process([f])
        stop.set()

    t = threading.Thread(target=push)
    t.start()
    while not stop.is_set():
        r = live.recent()
        n = int(round(r.end_s * 48_000))
        if r.input.size and (not np.array_equal(r.input, r.output)
                             or not np.allclose(r.input, samples(frames)[n - r.input.size:n], atol=1 / 32767)):
            bad.append(r.end_s)
    t.join()
    assert not bad
    assert live.recent().end_s == pytest.approx(3.0)


def test_analyse_recent_finds_the_pitch_of_both_sides(speech48):
    from workbench.live import analyse_recent

    live = LiveSession()
    live.use(EngineSpec("pitch", semitones=12.0), mcadams=0.8, bypass=False)
    live.process(webrtc_frames(np.tile(speech48, 3)))
    view = analyse_recent(live.recent())
    n = int(1.8 / 0.01) + 1  # 1.8 s at a 10 ms hop
    assert view.input_db.shape == view.output_db.shape == (n, 257) and view.input_f0.shape == (n,)
    f_in = np.median(view.input_f0[view.input_f0 > 0])
    f_out = np.median(view.output_f0[view.output_f0 > 0])
    assert f_in == pytest.approx(120.0, rel=0.05)  # synth_speech at 120 Hz
    assert f_out == pytest.approx(240.0, rel=0.08)  # an octave up
    empty = analyse_recent(LiveSession().recent())
    assert empty.input_db.shape == (0, 257) and empty.input_f0.size == 0
