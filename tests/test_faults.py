"""Faults: SIGKILL a real `workbench train --checkpoint-dir` process at several moments, including while it
writes a checkpoint and while it writes the bundle. The output must be the previous bundle or the new one,
never a broken one; the checkpoint must stay consistent; a rerun resumes from the last checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.bundle import load_model, read_meta

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_audio"
EPOCHS = 6
pytestmark = pytest.mark.slow


def _voices(tmp: Path) -> tuple[Path, Path]:
    src, tgt = tmp / "src", tmp / "tgt"
    for d, voice in ((src, "awb"), (tgt, "slt")):
        d.mkdir()
        for i in range(1, 9):
            os.symlink(SAMPLES / voice / f"s{i:03d}.flac", d / f"s{i:03d}.flac")
    os.symlink(SAMPLES / "slt" / "consent.json", tgt / "consent.json")
    return src, tgt


def _train(tmp: Path, out: Path, ckpt: Path | None, *, kill_when=None, seed: int = 0) -> tuple[int, str]:
    """Run `workbench train`; if ``kill_when()`` turns true, SIGKILL the process at once. Returns (rc, stderr)."""
    src, tgt = tmp / "src", tmp / "tgt"
    args = [sys.executable, "-m", "workbench.cli", "train", "--source", src, "--target", tgt, "--model", "lstm",
            "--epochs", str(EPOCHS), "--seed", str(seed), "--out", out]
    if ckpt is not None:
        args += ["--checkpoint-dir", ckpt]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    with open(tmp / "stderr.txt", "w") as err:
        proc = subprocess.Popen([str(a) for a in args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 900
        while proc.poll() is None and time.monotonic() < deadline:
            if kill_when is not None and kill_when():
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
        rc = proc.wait(timeout=60)
    return rc, (tmp / "stderr.txt").read_text()


def _bundle_state(out: Path) -> str:
    """The bundle's creation stamp after checking that it loads completely (raises if broken)."""
    meta = read_meta(out)
    load_model(out, meta)
    return meta.created


def _checkpoint_consistent(ckpt: Path) -> dict | None:
    """The newest state file, after checking that the model it names exists and loads."""
    import keras

    import workbench.models.mapping  # noqa: F401 - registers MappingModel, which the checkpoints are

    states = {}
    for f in ckpt.glob("*.json"):
        state = json.loads(f.read_text())  # never half-written
        model = keras.models.load_model(ckpt / state["model"], safe_mode=True)
        assert model is not None and len(state["history"]["loss"]) == state["epoch"], state
        states[state["stage"]] = state
    return states.get("refine") or states.get("lstm")


def test_sigkill_leaves_old_or_new_bundle_and_resume_continues(tmp_path):
    _voices(tmp_path)
    out, ckpt = tmp_path / "bundle", tmp_path / "ckpt"
    rc, err = _train(tmp_path, out, None, seed=1)  # the previous bundle
    assert rc == 0, err
    previous = _bundle_state(out)
    time.sleep(1.1)  # creation stamps have 1 s resolution

    def lstm_epoch() -> int:
        try:
            return json.loads((ckpt / "lstm.json").read_text())["epoch"]
        except (OSError, ValueError):
            return 0

    # 1. killed while Keras writes the first checkpoint
    rc, err = _train(tmp_path, out, ckpt, kill_when=lambda: any(ckpt.glob(".lstm.part.keras")))
    assert rc == -signal.SIGKILL, err[-1500:]
    assert _bundle_state(out) == previous
    first = _checkpoint_consistent(ckpt)
    assert first is None or first["epoch"] <= 1

    # 2. killed between checkpoints, two epochs later: the rerun resumed (it did not start over)
    start = lstm_epoch()
    rc, err = _train(tmp_path, out, ckpt, kill_when=lambda: lstm_epoch() >= start + 2)
    assert rc == -signal.SIGKILL, err[-1500:]
    assert _bundle_state(out) == previous
    state = _checkpoint_consistent(ckpt)
    assert state["stage"] == "lstm" and start + 2 <= state["epoch"] < EPOCHS

    # 3. resume to the end: only the remaining epochs run, and the new bundle replaces the old one
    rc, err = _train(tmp_path, out, ckpt)
    assert rc == 0, err
    meta = read_meta(out)
    assert meta.created != previous
    assert len(meta.train_args["history"]["loss"]) == EPOCHS - state["epoch"]
    assert len(meta.train_args["history"]["refine_loss"]) == EPOCHS
    resumed = _bundle_state(out)
    time.sleep(1.1)

    # 4. killed while the bundle is being written (a fresh run, no checkpoints): old or new, never broken
    rc, err = _train(tmp_path, out, None, seed=2, kill_when=lambda: any(tmp_path.glob(".bundle.*.part")))
    assert rc == -signal.SIGKILL, err[-1500:]
    stamp = _bundle_state(out)  # raises if the bundle is missing or does not load completely
    assert stamp == resumed or stamp > resumed  # the previous bundle, or a complete new one
    assert not list(tmp_path.glob(".bundle.old-*"))


def test_evaluate_json_is_written_atomically(tmp_path, monkeypatch, capsys):
    """A crash while ``evaluate --json`` writes leaves the previous file whole and no temporary file behind."""
    from workbench import cli

    src, tgt = tmp_path / "awb", tmp_path / "slt"
    for voice, folder in (("awb", src), ("slt", tgt)):
        folder.mkdir()
        for utt in ("s041", "s042"):
            os.symlink(ROOT / "sample_audio" / voice / f"{utt}.flac", folder / f"{utt}.flac")
    out = tmp_path / "eval.json"
    argv = ["evaluate", "--model", "identity", "--source", str(src), "--target", str(tgt), "--json", str(out),
            "--no-wer", "--no-dnsmos", "--no-speaker"]
    assert cli.main(argv) == 0
    first = out.read_text()
    assert json.loads(first)["results"][0]["model"] == "identity"

    def crash(fd):  # the new file is written but not yet on disk or renamed: the process dies here
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", crash)
    assert cli.main(argv) != 0 and "interrupted" in capsys.readouterr().err
    assert out.read_text() == first and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
