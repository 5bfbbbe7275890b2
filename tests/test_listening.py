"""Listening tests: level matching, blind shuffled trials, CSV round trip and 95 % intervals (known answers)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.audio import dbfs
from workbench.errors import ConfigError, DataError
from workbench.listening import (
    REFERENCE,
    ab_trials,
    make_clips,
    mean_ci95,
    mos_trials,
    read_results,
    results_paths,
    save_ab,
    save_mos,
    summarize_mos,
    summarize_preference,
    wilson_ci95,
)


@pytest.fixture
def clips(rng):
    audio = {}
    for k, system in enumerate(("lstm", "f0", REFERENCE)):
        audio[system] = {f"s04{u}": ((0.05 + 0.2 * k) * rng.standard_normal(8000).astype(np.float32), 16_000)
                         for u in range(4)}
    return make_clips(audio)


def test_clips_are_level_matched(clips):
    assert len(clips) == 12
    for c in clips:
        assert dbfs(c.y) == pytest.approx(-23.0, abs=0.01)


def test_mos_trials_are_shuffled_blind_and_repeatable(clips):
    t0, t1 = mos_trials(clips, seed=0), mos_trials(clips, seed=1)
    assert [t.trial for t in t0] == list(range(12))
    assert sorted((t.clip.system, t.clip.utterance) for t in t0) == sorted((c.system, c.utterance) for c in clips)
    assert REFERENCE in {t.clip.system for t in t0}  # the hidden reference is rated like any system
    assert [t.clip.system for t in t0] != [c.system for c in clips]  # not in the input order
    assert [(t.clip.system, t.clip.utterance) for t in t0] == [(t.clip.system, t.clip.utterance)
                                                               for t in mos_trials(clips, seed=0)]
    assert [t.clip.utterance for t in t0] != [t.clip.utterance for t in t1] or \
        [t.clip.system for t in t0] != [t.clip.system for t in t1]


def test_ab_trials_randomise_sides_and_carry_the_reference(clips):
    trials = ab_trials(clips, "lstm", "f0", seed=3)
    assert len(trials) == 4
    assert {t.first.system for t in trials} == {"lstm", "f0"}  # both systems are played first sometimes
    for t in trials:
        assert {t.first.system, t.second.system} == {"lstm", "f0"} and t.first.utterance == t.second.utterance
        assert t.reference is not None and t.reference.utterance == t.first.utterance
    assert all(t.reference is None for t in ab_trials(clips, "lstm", "f0", with_reference=False))
    with pytest.raises(ConfigError, match="two different systems"):
        ab_trials(clips, "lstm", "lstm")
    with pytest.raises(DataError, match="no utterance in common"):
        ab_trials(clips, "lstm", "gan")


def test_known_confidence_intervals():
    m = mean_ci95([1, 2, 3, 4, 5])
    assert (m.mean, m.n) == (3.0, 5)
    assert m.low == pytest.approx(3 - 2.776445 * np.sqrt(2.5) / np.sqrt(5), rel=1e-5)  # t(0.975, 4) = 2.7764
    w = wilson_ci95(8, 10)
    assert w.mean == 0.8 and w.low == pytest.approx(0.4902, abs=1e-4) and w.high == pytest.approx(0.9433, abs=1e-4)
    assert np.isnan(mean_ci95([4]).low) and wilson_ci95(0, 0).n == 0


def test_responses_round_trip_to_summaries(clips, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path))
    paths = results_paths()
    assert paths["mos"] == tmp_path / "listening" / "mos.csv"
    trials = mos_trials(clips)
    score = {"lstm": 4, "f0": 2, REFERENCE: 5}
    save_mos([(t, score[t.clip.system]) for t in trials], "ann", paths["mos"])
    save_mos([(t, score[t.clip.system] - (t.clip.system == "lstm")) for t in trials], "bob", paths["mos"])
    mos = summarize_mos(read_results(paths["mos"]))
    assert mos["lstm"].mean == pytest.approx(3.5) and mos["lstm"].n == 8
    assert mos[REFERENCE].mean == 5.0 and mos["f0"].mean == 2.0
    ab = ab_trials(clips, "lstm", "f0")
    save_ab([(t, "A" if t.first.system == "lstm" else "B") for t in ab], "ann", paths["ab"])  # always lstm
    pref = summarize_preference(read_results(paths["ab"]))
    assert pref[("f0", "lstm")].mean == 0.0 and pref[("f0", "lstm")].n == 4  # share preferring "f0"
    with pytest.raises(ConfigError, match="1..5"):
        save_mos([(trials[0], 7)], "ann", paths["mos"])
