"""Background training: a job object that trains in a thread and reports progress through a queue.

The Train page keeps one ``TrainingJob`` per browser session and polls it (``poll()``) a few times a
second from a fragment, so the page never freezes; a notebook can do the same. The job:

1. checks the target voice's consent record (``ConsentError`` with the fix otherwise),
2. links (or, with a ``PreprocessConfig``, cleans and writes) the training-split clips of the voices into
   a scratch folder, pairing by sentence id,
3. runs ``training.train_conversion`` with ``on_progress`` and ``stop_event``, checkpointing every epoch,
4. writes ``training_log.json`` beside the bundle and measures it on the held-out test sentences
   (MCD of the model against the identity and F0 baselines) into ``metrics.json``.

``stop()`` ends training after the current batch (a bundle is still saved when an epoch finished);
``resume()`` starts again from the last checkpoint.
"""

from __future__ import annotations

import math
import os
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .config import FeatureConfig, TrainConfig
from .consent import read_consent
from .errors import ConsentError, DataError, TrainingStopped, WorkbenchError
from .preprocess import PreprocessConfig
from .store import METRICS_FILE, TRAINING_LOG, Store

STATES = ("ready", "running", "stopping", "stopped", "done", "failed")
TRAIN_STAGES = ("lstm", "refine", "gan")


@dataclass(frozen=True)
class JobEvent:
    """One report from the worker: a training ``Progress`` or a stage message."""

    stage: str
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0
    message: str = ""


class TrainingJob:
    """Train ``sources`` -> ``target`` into ``store.models_dir/<name>`` in a background thread.

    Parameters
    ----------
    store : Store
    sources : list of str
        Voice slugs (own or sample) whose training-split clips are the input side.
    target : str
        Voice slug of the target; it must have a consent record.
    name : str
        Model name; a fresh ``models/<slug>`` folder is chosen (``-2``... when taken).
    cfg, feature_cfg : TrainConfig, FeatureConfig
    preprocess : PreprocessConfig, optional
        Clean every clip with these steps before training (``None``: use the clips as they are).
    evaluate : bool
        Measure the bundle on the held-out test sentences when training ends.
    """

    def __init__(self, store: Store, *, sources: list[str], target: str, name: str, cfg: TrainConfig = TrainConfig(),
                 feature_cfg: FeatureConfig = FeatureConfig(), preprocess: PreprocessConfig | None = None,
                 evaluate: bool = True):
        if not sources:
            raise DataError("Choose at least one source voice.")
        if target in sources:
            raise DataError(f"Source and target are both {target!r}; choose two different voices.")
        self.store, self.sources, self.target = store, list(sources), target
        self.out_dir = store.new_model_dir(name)
        self.checkpoint_dir = store.root / "checkpoints" / self.out_dir.name
        self.cfg = replace(cfg, checkpoint_dir=str(self.checkpoint_dir))
        self.feature_cfg, self.preprocess, self.evaluate = feature_cfg, preprocess, evaluate
        self.events: queue.Queue[JobEvent] = queue.Queue()
        self.state, self.error, self.metrics = "ready", "", {}
        self.history: dict[str, list[float]] = {}
        self.last: JobEvent | None = None
        self._epoch_logs: dict[tuple[str, int], dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.started_at = 0.0
        self.finished_at = 0.0

    # ---------------------------------------------------------------------------------------- control
    def check(self) -> None:
        """Raise now (not in the thread) when the voices cannot be used: unknown voice, no consent."""
        for slug in self.sources + [self.target]:
            self.store.voice(slug)
        target = self.store.voice(self.target)
        if read_consent(target.path) is None:
            raise ConsentError(
                f"{target.name!r} has no consent record, so it cannot be a target. If it is your voice, open "
                "Voices, select it, read the consent statement aloud and tick the confirmation; to clone "
                "someone else, they must do that themselves."
            )

    def start(self) -> TrainingJob:
        """Check the voices and start (or, after a stop, resume) training in a daemon thread."""
        if self.is_active:
            return self
        self.check()
        self._stop.clear()
        self.state, self.error = "running", ""
        self.started_at, self.finished_at = time.time(), 0.0
        self._thread = threading.Thread(target=self._run, name=f"train-{self.out_dir.name}", daemon=True)
        self._thread.start()
        return self

    def resume(self) -> TrainingJob:
        """Continue a stopped or failed job from its last checkpoint (same model folder)."""
        return self.start()

    def stop(self) -> None:
        """Ask the worker to stop after the current batch; ``state`` becomes ``stopped`` when it has."""
        if self.is_active:
            self._stop.set()
            self.state = "stopping"

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker thread (tests and notebooks)."""
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def is_active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---------------------------------------------------------------------------------------- reading
    def poll(self) -> list[JobEvent]:
        """Take the events reported since the last call and update ``history`` and ``last``."""
        new = []
        while True:
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                break
            new.append(ev)
            self.last = ev
            if ev.stage in TRAIN_STAGES and ev.epoch and ev.steps and ev.step == ev.steps:
                self._epoch_logs[(ev.stage, ev.epoch)] = {**self._epoch_logs.get((ev.stage, ev.epoch), {}), **ev.logs}
        self.history = self._history()
        return new

    def _history(self) -> dict[str, list[float]]:
        """Per-epoch curves: ``loss``/``val_loss`` and the other stages' with their prefix (``refine_loss``...)."""
        out: dict[str, list[float]] = {}
        for (stage, _), logs in sorted(self._epoch_logs.items(), key=lambda kv: (TRAIN_STAGES.index(kv[0][0]), kv[0][1])):
            prefix = "" if stage == "lstm" else f"{stage}_"
            for key, value in logs.items():
                name = f"val_{prefix}{key[4:]}" if key.startswith("val_") else f"{prefix}{key}"
                out.setdefault(name, []).append(value)
        return out

    def fraction(self) -> float:
        """Progress of the current stage in [0, 1] (epochs and batches)."""
        ev = self.last
        if self.state == "done":
            return 1.0
        if ev is None or not ev.epochs:
            return 0.0
        done = (ev.epoch - 1 + (ev.step / ev.steps if ev.steps else 0.0)) / ev.epochs if ev.epoch else 0.0
        return min(1.0, max(0.0, done))

    def eta_s(self) -> float:
        """Seconds left in the current training stage, from its pace so far (NaN before the first batch)."""
        ev, frac = self.last, self.fraction()
        if ev is None or ev.stage not in TRAIN_STAGES or frac <= 0.0:
            return math.nan
        return ev.elapsed_s * (1.0 - frac) / frac

    def status(self) -> str:
        """A one-line description of where the job is, for a progress bar's text."""
        ev = self.last
        if self.state in ("done", "failed", "stopped"):
            return {"done": f"Finished: {self.out_dir.name}", "failed": f"Failed: {self.error}",
                    "stopped": "Stopped; resume continues from the last checkpoint."}[self.state]
        if ev is None:
            return "Starting…"
        if ev.message:
            return ev.message
        if ev.stage in TRAIN_STAGES:
            eta = self.eta_s()
            return (f"{ev.stage.upper()} epoch {ev.epoch}/{ev.epochs}, batch {ev.step}/{ev.steps}"
                    + (f" — about {eta:.0f} s left in this stage" if math.isfinite(eta) else ""))
        return f"{ev.stage}…"

    # ----------------------------------------------------------------------------------------- worker
    def _report(self, stage: str, message: str) -> None:
        self.events.put(JobEvent(stage, message=message))

    def _on_progress(self, p: Any) -> None:
        self.events.put(JobEvent(p.stage, p.epoch, p.epochs, p.step, p.steps, dict(p.logs), p.elapsed_s))

    def _link_split(self, slug: str, split: str, dest: Path) -> Path:
        """A folder with the voice's clips of one split: symlinks, or cleaned copies with ``preprocess``."""
        from .audio import load_audio, save_audio
        from .preprocess import preprocess

        folder = dest / split / slug
        folder.mkdir(parents=True, exist_ok=True)
        for path in self.store.split_files(slug, split):
            if self.preprocess is None or self.preprocess.is_identity:
                os.symlink(path.resolve(), folder / path.name)
            else:
                y, sr = load_audio(path, sr=None)
                save_audio(folder / f"{path.stem}.wav", preprocess(y, sr, cfg=self.preprocess), sr)
        return folder

    def _run(self) -> None:
        from .training import train_conversion

        scratch = Path(tempfile.mkdtemp(prefix="wb-train-"))
        try:
            self._report("prepare", "Collecting the training sentences" + (" and cleaning them…" if self.preprocess else "…"))
            src_dirs = [self._link_split(s, "train", scratch) for s in self.sources]
            tgt_dir = self._link_split(self.target, "train", scratch)
            self._report("analysis", "Analysing the recordings (WORLD features, alignment)…")
            result = train_conversion(src_dirs, tgt_dir, self.out_dir, cfg=self.cfg, feature_cfg=self.feature_cfg,
                                      on_progress=self._on_progress, stop_event=self._stop)
            self.store.write_model_file(self.out_dir.name, TRAINING_LOG, {
                "sources": self.sources, "target": self.target, "history": result.history,
                "train_config": self.cfg.to_dict(), "feature_config": self.feature_cfg.to_dict(),
                "preprocess": self.preprocess.to_dict() if self.preprocess else None,
                "train_frames": result.n_train_frames, "val_frames": result.n_val_frames,
                "elapsed_s": round(result.elapsed_s, 1), "stopped": result.stopped,
            })
            if self.evaluate and not self._stop.is_set():
                self._report("evaluation", "Measuring the model on held-out sentences (MCD vs identity and F0 baselines)…")
                try:
                    self.metrics = self._evaluate(scratch)
                except WorkbenchError as err:  # the bundle is fine; say why it was not measured
                    self.metrics = {"note": f"not measured: {err}"}
                self.store.write_model_file(self.out_dir.name, METRICS_FILE, self.metrics)
            if result.stopped or self._stop.is_set():
                self.state = "stopped"
            else:
                self.state = "done"
                shutil.rmtree(self.checkpoint_dir, ignore_errors=True)
        except TrainingStopped:
            self.state = "stopped"
        except WorkbenchError as err:
            self.state, self.error = "failed", str(err)
        except Exception as err:  # noqa: BLE001 - the thread must report, never die silently
            self.state, self.error = "failed", f"{type(err).__name__}: {err}"
        finally:
            self.finished_at = time.time()
            shutil.rmtree(scratch, ignore_errors=True)

    def _evaluate(self, scratch: Path) -> dict[str, Any]:
        """MCD etc. of the bundle and the two baselines on the test sentences both sides recorded."""
        from .evaluation import evaluate_converters
        from .inference import VoiceConverter

        tgt = self._link_split(self.target, "test", scratch)
        src = self._link_split(self.sources[0], "test", scratch)
        common = {p.stem for p in src.iterdir()} & {p.stem for p in tgt.iterdir()}
        if not common:
            return {"note": "no held-out test sentences recorded by both voices; record the test prompts to measure"}
        conv = VoiceConverter.load(self.out_dir)
        rows = evaluate_converters([conv, VoiceConverter.load("identity"), VoiceConverter.f0_baseline(conv.meta)], src, tgt)
        rows[0]["model"] = self.out_dir.name
        return {"test_source": self.sources[0], "test_target": self.target, "utterances": len(common), "results": rows}
