"""``pitch.F0Transform``: one F0 rule for offline and streaming conversion."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.config import F0TransformConfig
from workbench.data import F0Stats
from workbench.pitch import F0Transform

SOURCE, TARGET = F0Stats(float(np.log(150.0)), 0.1), F0Stats(float(np.log(200.0)), 0.1)


def stream(tr: F0Transform, f0: np.ndarray, chunk: int) -> np.ndarray:
    state, out = tr.initial_state(), []
    for i in range(0, len(f0), chunk):
        y, state = tr.apply(f0[i:i + chunk], state)
        out.append(y)
    return np.concatenate(out)


def test_fixed_transform_is_the_same_offline_and_streaming():
    tr = F0Transform(SOURCE, TARGET)
    f0 = np.where(np.arange(300) % 7 < 5, 150.0 * np.exp(0.1 * np.sin(np.arange(300) / 9)), 0.0)
    offline = tr.apply_utterance(f0)
    np.testing.assert_allclose(stream(tr, f0, 13), offline)
    assert np.all(offline[f0 == 0] == 0)
    assert np.exp(np.mean(np.log(offline[f0 > 0]))) == pytest.approx(200.0, rel=0.01)


def test_adaptive_running_mean_converges_to_the_utterance_mean():
    tr = F0Transform(SOURCE, TARGET, adaptive=True, cfg=F0TransformConfig(prior_frames=50))
    f0 = np.full(5000, 90.0)  # a speaker far below the training speakers' 150 Hz
    offline = tr.apply_utterance(f0)
    assert offline == pytest.approx(np.full(5000, 200.0))  # offline: the utterance's own mean
    live = stream(tr, f0, 4)
    assert live[0] < 150.0  # starts from the training mean: 90 Hz is still heard as low
    assert live[-1] == pytest.approx(offline[-1], rel=0.01)  # ... and converges to the offline answer
    assert np.all(np.diff(live) >= -1e-9)  # monotonically, as the prior's weight fades


def test_ratio_baseline_and_short_utterances():
    assert F0Transform(ratio=2.0).apply_utterance(np.array([100.0, 0.0]))[0] == 200.0
    tr = F0Transform(SOURCE, TARGET, adaptive=True)
    short = np.full(5, 90.0)  # too few voiced frames for an utterance mean: the training mean is used
    np.testing.assert_allclose(tr.apply_utterance(short), F0Transform(SOURCE, TARGET).apply_utterance(short))


def test_adaptive_stream_does_not_depend_on_chunking():
    """A many-to-one stream's running source mean advances frame by frame, so chunking does not change the F0
    (it did: the whole chunk's frames entered the mean before any of them was transformed)."""
    from workbench.data import F0Stats
    from workbench.pitch import F0Transform

    tr = F0Transform(F0Stats(np.log(120.0), 0.2), F0Stats(np.log(190.0), 0.15), adaptive=True)
    rng = np.random.default_rng(0)
    f0 = np.where(rng.random(400) < 0.6, rng.uniform(90, 160, 400), 0.0)
    whole, _ = tr.apply(f0, tr.initial_state())
    for size in (1, 3, 7, 50):
        state, parts = tr.initial_state(), []
        for i in range(0, f0.size, size):
            out, state = tr.apply(f0[i:i + size], state)
            parts.append(out)
        np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-12)
    assert np.all(whole[f0 == 0] == 0) and np.all(whole[f0 > 0] > 0)
