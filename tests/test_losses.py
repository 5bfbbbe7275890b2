"""Tests of the training losses in ``workbench.losses``."""

from __future__ import annotations

import numpy as np
import pytest


def test_trajectory_loss_penalises_smeared_transitions_that_plain_mse_cannot_tell_apart():
    """A step target; one prediction is offset by a constant (right shape), the other is smeared in time with
    the same squared error per sequence. Plain MSE scores them equal; the delta term prefers the sharp one."""
    from workbench.losses import mapping_loss

    t = np.arange(40)
    step = np.where(t < 20, -1.0, 1.0)
    y = np.stack([step, step], axis=-1)[None].astype(np.float32)  # (1, 40, 2)
    smeared = np.tanh((t - 19.5) / 4.0)
    smeared = np.stack([smeared, smeared], axis=-1)[None].astype(np.float32)
    offset = y + np.float32(np.sqrt(np.mean((smeared - y) ** 2)))  # same per-sequence MSE, no smearing
    w = np.ones((1, 40), np.float32)
    plain, traj = mapping_loss(), mapping_loss(delta_weight=1.0)
    assert float(plain(y, offset, w)) == pytest.approx(float(plain(y, smeared, w)), rel=1e-4)
    assert float(traj(y, offset, w)) < float(traj(y, smeared, w))
    assert float(traj(y, y, w)) == pytest.approx(0.0, abs=1e-7)


def test_trajectory_loss_ignores_the_jump_from_padding():
    """Frames after an all-zero row (padding, the lookahead's leading frames) add no difference term."""
    from workbench.losses import mapping_loss

    y = np.ones((1, 10, 3), np.float32)
    y[:, :4] = 0.0  # leading rows without a target
    pred = y.copy()
    pred[:, :4] = 5.0  # anything where the weight is 0
    w = (y[..., 0] != 0).astype(np.float32)
    assert float(mapping_loss(delta_weight=1.0)(y, pred, w)) == pytest.approx(0.0, abs=1e-7)
