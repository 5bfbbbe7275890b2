"""The local data store: everything a person makes in the workbench lives in one folder.

The folder is ``$WORKBENCH_DATA`` (default ``workbench_data/`` in the project root)::

    voices/<slug>/   clips (<stem>.wav) with same-stem <stem>.txt transcripts, voice.json, consent.json
    models/<slug>/   model bundles (bundle.json + model.keras), training_log.json, metrics.json
    outputs/         converted audio, each with a provenance sidecar <name>.json (model, source, time)

The sample voices in ``sample_audio/`` and the shipped bundles in ``workbench/pretrained/`` appear beside
the person's own as read-only entries. Names are turned into safe slugs (no path separators, no ``..``,
ASCII only); every file is written atomically (a temporary file renamed into place). All generated
audio is written by ``Store.save_output`` and nowhere else, so a watermark can be applied in one place.
"""

from __future__ import annotations

import csv
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from .audio import AUDIO_EXTENSIONS, load_audio, save_audio
from .consent import (
    CONSENT_FILE,
    ConsentCheckConfig,
    check_consent_clip,
    clip_sha256,
    read_consent,
    write_consent,
)
from .fileio import atomic_write_text, write_json
from .provenance import save_generated
from .store_records import (  # noqa: F401  (re-exported: part of the store's API)
    Clip,
    ModelInfo,
    Output,
    Removal,
    StoreError,
    Voice,
    _now,
    _safe_stem,
    read_json,
    slugify,
)

DATA_ENV = "WORKBENCH_DATA"
ROOT = Path(__file__).resolve().parents[1]
VOICE_FILE = "voice.json"
TRAINING_LOG = "training_log.json"
METRICS_FILE = "metrics.json"
CONSENT_AUDIO = "consent.wav"  # the owner reading the consent statement; never a training clip


# ------------------------------------------------------------------------------------------------ store
class Store:
    """The data store of one workbench installation (see the module docstring for the layout).

    Parameters
    ----------
    root : folder, optional
        Default ``$WORKBENCH_DATA``, else ``workbench_data/`` in the project root. Created on first write.
    sample_dir : folder, optional
        The read-only sample corpus (default ``sample_audio/``); ``None`` entries are skipped when missing.
    pretrained_dir : folder, optional
        The read-only shipped bundles (default ``workbench/pretrained/``).
    """

    def __init__(self, root: str | os.PathLike | None = None, *, sample_dir: str | os.PathLike | None = None,
                 pretrained_dir: str | os.PathLike | None = None):
        self.root = Path(root or os.environ.get(DATA_ENV) or ROOT / "workbench_data").expanduser().resolve()
        self.sample_dir = Path(sample_dir) if sample_dir is not None else ROOT / "sample_audio"
        self.pretrained_dir = Path(pretrained_dir) if pretrained_dir is not None else ROOT / "workbench" / "pretrained"

    @property
    def voices_dir(self) -> Path:
        return self.root / "voices"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def outputs_dir(self) -> Path:
        return self.root / "outputs"

    # ----------------------------------------------------------------------------------------- voices
    def _sample_voices(self) -> dict[str, Path]:
        if not self.sample_dir.is_dir():
            return {}
        return {p.name: p for p in sorted(self.sample_dir.iterdir())
                if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.flac"))}

    def _own_voice_dir(self, slug: str) -> Path:
        if slug != slugify(slug):
            raise StoreError(f"{slug!r} is not a voice slug; pass Voice.slug (e.g. {slugify(slug)!r}).")
        return self.voices_dir / slug

    def _voice_from_dir(self, path: Path, *, read_only: bool) -> Voice:
        info = read_json(path / VOICE_FILE)
        n = sum(1 for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS and p.name != CONSENT_AUDIO)
        return Voice(path.name, str(info.get("name") or path.name), path, read_only, n,
                     read_consent(path) is not None, info)

    def list_voices(self, *, include_samples: bool = True) -> list[Voice]:
        """The person's voices (by name), then the sample voices (read-only)."""
        own = []
        if self.voices_dir.is_dir():
            own = [self._voice_from_dir(p, read_only=False) for p in sorted(self.voices_dir.iterdir())
                   if p.is_dir() and not p.name.startswith(".")]
        samples = [self._voice_from_dir(p, read_only=True) for p in self._sample_voices().values()] if include_samples else []
        return sorted(own, key=lambda v: v.name.lower()) + samples

    def voice(self, slug: str) -> Voice:
        """One voice by slug (own voices shadow nothing: sample slugs are reserved)."""
        samples = self._sample_voices()
        if slug in samples:
            return self._voice_from_dir(samples[slug], read_only=True)
        path = self._own_voice_dir(slug)
        if not path.is_dir():
            raise StoreError(f"No voice {slug!r} in {self.voices_dir}; record or upload clips on the Voices page first.")
        return self._voice_from_dir(path, read_only=False)

    def _writable(self, slug: str) -> Path:
        voice = self.voice(slug)
        if voice.read_only:
            raise StoreError(f"{slug!r} is a shipped sample voice and read-only; create your own voice to change it.")
        return voice.path

    def slug_for(self, name: str) -> str:
        """The slug of the own voice called ``name``; a sample voice's slug, or a renamed voice's former one
        (models and outputs still name it), gets ``-2``, ``-3``, ... appended."""
        slug, taken = slugify(name), set(self._sample_voices()) | set(self._former_slugs())
        base, n = slug, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        return slug

    def create_voice(self, name: str) -> Voice:
        """Create a voice folder for ``name`` (or return the existing own voice of that slug).

        A name whose slug is a sample voice's gets ``-2``, ``-3``, ... so that samples are never shadowed.
        """
        slug = self.slug_for(name)
        path = self.voices_dir / slug
        if not path.is_dir():
            path.mkdir(parents=True)
            write_json(path / VOICE_FILE, {"name": str(name).strip(), "slug": slug, "created": _now()})
        return self._voice_from_dir(path, read_only=False)

    def rename_voice(self, slug: str, new_name: str) -> Voice:
        """Give an own voice a new name (and slug); models trained from it keep their own copies."""
        path = self._writable(slug)
        new_slug = slugify(new_name)
        if new_slug in self._sample_voices() or (new_slug != slug and (self.voices_dir / new_slug).exists()):
            raise StoreError(f"A voice called {new_slug!r} already exists; choose another name.")
        info = read_json(path / VOICE_FILE) | {"name": str(new_name).strip(), "slug": new_slug, "renamed": _now()}
        if new_slug != slug:  # models and outputs made before keep naming the old slug
            info["former_slugs"] = sorted(set(info.get("former_slugs", [])) | {slug})
        write_json(path / VOICE_FILE, info)
        if new_slug != slug:
            os.replace(path, self.voices_dir / new_slug)
        return self.voice(new_slug)

    def _former_slugs(self) -> dict[str, str]:
        """Former slug -> current slug of every renamed own voice."""
        out = {}
        if self.voices_dir.is_dir():
            for d in self.voices_dir.iterdir():
                try:
                    info = read_json(d / VOICE_FILE)
                except (OSError, ValueError):
                    continue
                out.update(dict.fromkeys(info.get("former_slugs", []), d.name))
        return out

    def made_from(self, slug: str) -> tuple[list[ModelInfo], list[Output]]:
        """The person's models trained on a voice (as a source or the target, from ``bundle.json``) and the
        outputs made from it (by one of those models, from one of its clips, or naming it as their target),
        under its current slug or any former one (a rename does not orphan what was made before)."""
        slugs = {slug} | {old for old, cur in self._former_slugs().items() if cur == slug}
        models = [m for m in self.list_models(include_shipped=False)
                  if m.meta.get("target_voice") in slugs or slugs & set(m.meta.get("source_voices") or [])]
        names = {m.slug for m in models}
        outputs = [o for o in self.list_outputs()
                   if str(o.info.get("model", "")) in names
                   or slugs & {o.info.get("target_voice"), o.info.get("source_voice")}
                   or str(o.info.get("source", "")).split("/", 1)[0] in slugs]  # one of its clips converted
        return models, outputs

    def delete_voice(self, slug: str) -> Removal:
        """Delete an own voice and everything made from it; say what was removed.

        Removes the person's models trained on it (with their training checkpoints) and their outputs
        (with provenance sidecars) first, then the voice's folder: clips, transcripts, consent record and
        consent recording. Shipped sample voices and shipped models are read-only and never touched.

        Returns
        -------
        Removal
            What was removed (``Removal.summary()`` says it in one sentence).
        """
        path = self._writable(slug)
        voice = self.voice(slug)
        models, outputs = self.made_from(slug)
        removed: list[Path] = []
        for out in outputs:
            for p in (out.path, out.path.with_suffix(".json")):
                if p.exists():
                    p.unlink()
                    removed.append(p)
        for m in models:
            for p in (m.path, self.root / "checkpoints" / m.slug):
                if p.exists():
                    shutil.rmtree(p)
                    removed.append(p)
        files = sorted(p for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path)
        removed += files + [path]
        return Removal(slug, voice.n_clips, any(p.name == CONSENT_FILE for p in files),
                       tuple(sorted(m.slug for m in models)), tuple(sorted(o.path.name for o in outputs)), tuple(removed))

    # ------------------------------------------------------------------------------------------ clips
    def clips(self, slug: str) -> list[Clip]:
        """The voice's clips sorted by stem, each with its transcript when a ``<stem>.txt`` exists."""
        voice = self.voice(slug)
        out = []
        for p in sorted(voice.path.iterdir()):
            if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".") and p.name != CONSENT_AUDIO:
                txt = p.with_suffix(".txt")
                out.append(Clip(slug, p.stem, p, txt.read_text(encoding="utf-8").strip() if txt.is_file() else ""))
        return out

    def save_clip(self, slug: str, stem: str, y: np.ndarray, sr: int, *, text: str = "") -> Clip:
        """Write one recording as ``<stem>.wav`` (16-bit PCM) with its transcript; replaces a clip of that stem."""
        path = self._writable(slug)
        stem = _safe_stem(stem)
        for old in path.glob(f"{stem}.*"):  # a re-recording replaces the clip, whatever its format
            if old.suffix.lower() in AUDIO_EXTENSIONS:
                old.unlink()
        wav = save_audio(path / f"{stem}.wav", y, sr)
        if text:
            atomic_write_text(path / f"{stem}.txt", text.strip() + "\n")
        return Clip(slug, stem, wav, text.strip())

    def import_clip(self, slug: str, data: bytes, name: str, *, stem: str | None = None, text: str = "",
                    sr: int | None = None) -> Clip:
        """Decode uploaded or recorded bytes (any readable format) and save them as a clip.

        Raises
        ------
        AudioError
            When the bytes are not usable audio (the message says why).
        """
        y, file_sr = load_audio(data, sr=sr, name=name)
        return self.save_clip(slug, stem or Path(name).stem, y, file_sr, text=text)

    def delete_clip(self, slug: str, stem: str) -> None:
        """Delete a clip and its transcript."""
        path = self._writable(slug)
        stem = _safe_stem(stem)
        found = [p for p in path.glob(f"{stem}.*") if p.suffix.lower() in AUDIO_EXTENSIONS + (".txt",)]
        if not found:
            raise StoreError(f"Voice {slug!r} has no clip {stem!r}.")
        for p in found:
            p.unlink()

    # ---------------------------------------------------------------------------------------- consent
    def save_consent(self, slug: str, *, speaker: str, statement: str, date: str, recording: bytes,
                     cfg: ConsentCheckConfig | None = None) -> dict:
        """Store and check the owner's recorded consent as ``consent.json`` (+ ``consent.wav``) beside the voice.

        ``statement`` is the text shown on screen (``consent.consent_statement``, with ``date``); ``recording``
        the owner reading it aloud. The clip is checked (``consent.check_consent_clip``: the statement's words
        by PocketSphinx, the speaker against the voice's own clips by the speaker encoder) and the result,
        with the clip's SHA-256, is stored in the record. Only a record whose check passed makes the voice a
        target (``Voice.has_consent``).

        Returns
        -------
        dict
            The record written; ``record["check"]["passed"]`` says whether the voice may now be a target,
            ``consent.consent_advice(record["check"])`` what to do otherwise.
        """
        path = self._writable(slug)
        if not speaker.strip():
            raise StoreError("Consent needs the speaker's name: type the name of the person whose voice this is.")
        if not recording:
            raise StoreError("Consent needs the statement recorded: press the microphone, read it aloud, then save.")
        y, sr = load_audio(recording, sr=None, name="the consent recording")
        clips = [load_audio(c.path, sr=sr)[0] for c in self.clips(slug)[: (cfg or ConsentCheckConfig()).max_voice_clips]]
        check = check_consent_clip(y, sr, statement, clips, sr, cfg=cfg or ConsentCheckConfig())
        wav = save_audio(path / CONSENT_AUDIO, y, sr)
        return read_json(write_consent(path, {
            "voice": slug, "speaker": speaker.strip(), "consent": True,
            "basis": "statement read aloud by the owner, recorded and checked in the app",
            "statement": statement, "date": date, "recording": wav.name, "sha256": clip_sha256(wav.read_bytes()),
            "check": check, "created": _now(),
        }))

    def consent(self, slug: str) -> dict | None:
        """The voice's consent record, or ``None``."""
        return read_consent(self.voice(slug).path)

    # ----------------------------------------------------------------------------------------- models
    def _model(self, path: Path, *, read_only: bool) -> ModelInfo | None:
        from .models.registry import MODEL_KINDS

        meta = read_json(path / "bundle.json")
        if not meta or meta.get("kind") not in MODEL_KINDS:  # e.g. the speaker encoder: not a conversion model
            return None
        return ModelInfo(path.name, path, str(meta.get("created", "")), read_only, meta,
                         read_json(path / METRICS_FILE), read_json(path / TRAINING_LOG))

    def list_models(self, *, include_shipped: bool = True) -> list[ModelInfo]:
        """Complete bundles, newest first: the person's own, then the shipped ones."""
        found = []
        for folder, read_only in ((self.models_dir, False), (self.pretrained_dir, True)):
            if read_only and not include_shipped:
                continue
            if folder.is_dir():
                models = [self._model(p, read_only=read_only) for p in folder.iterdir()
                          if p.is_dir() and not p.name.startswith(".")]
                found += sorted((m for m in models if m), key=lambda m: m.created, reverse=True)
        return found

    def new_model_dir(self, name: str) -> Path:
        """A fresh, unused ``models/<slug>`` path (``-2``, ``-3`` ... appended when taken), reserved.

        The bundle folder is not created (training writes it whole); its ``checkpoints/<slug>`` folder is,
        with one atomic ``mkdir``, so two people who start a model of the same name at the same moment get
        two folders instead of training into one.
        """
        base = slugify(name)
        slug, n = base, 2
        while True:
            if not any((d / slug).exists() for d in (self.models_dir, self.pretrained_dir)):
                try:
                    (self.root / "checkpoints" / slug).mkdir(parents=True)
                    return self.models_dir / slug
                except FileExistsError:
                    pass
            slug, n = f"{base}-{n}", n + 1

    def write_model_file(self, slug: str, filename: str, data: dict[str, Any]) -> Path:
        """Write ``training_log.json`` or ``metrics.json`` beside an own bundle."""
        if filename not in (TRAINING_LOG, METRICS_FILE):
            raise StoreError(f"Unknown model file {filename!r}; use {TRAINING_LOG} or {METRICS_FILE}.")
        return write_json(self.models_dir / slugify(slug) / filename, data)

    def delete_model(self, slug: str) -> None:
        """Delete an own bundle (shipped ones are read-only)."""
        path = self.models_dir / slugify(slug)
        if not (path / "bundle.json").is_file():
            raise StoreError(f"No model {slug!r} of yours in {self.models_dir}; shipped models cannot be deleted.")
        shutil.rmtree(path)
        shutil.rmtree(self.root / "checkpoints" / path.name, ignore_errors=True)

    # ---------------------------------------------------------------------------------------- outputs
    def save_output(self, y: np.ndarray, sr: int, *, model: str, source: str, extra: dict[str, Any] | None = None) -> Output:
        """Write generated (converted) audio to ``outputs/`` with its provenance sidecar.

        Every piece of generated audio goes through this one function, so that a watermark (or any
        other marking of synthetic speech) can be applied here, once, for the app, notebooks and CLI.

        Returns
        -------
        Output
            ``path`` = ``outputs/<UTC time>-<model>-<source>.wav`` and its sidecar contents.
        """
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{slugify(model)[:24]}-{slugify(Path(source).stem or 'input')[:24]}"
        self.outputs_dir.mkdir(parents=True, exist_ok=True)
        target = str((extra or {}).get("target_voice", ""))
        path = save_generated(self.outputs_dir / f"{name}.wav", y, sr, model=model, source=source, target=target)
        info = {"model": model, "source": source, "created": _now(), "sr": int(sf.info(path).samplerate), "watermarked": True,
                "duration_s": round(len(y) / sr, 3), "synthetic": True, **(extra or {})}
        write_json(path.with_suffix(".json"), info)
        return Output(path, info)

    def list_outputs(self) -> list[Output]:
        """Converted clips, newest first."""
        if not self.outputs_dir.is_dir():
            return []
        files = [p for p in self.outputs_dir.iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")]
        return [Output(p, read_json(p.with_suffix(".json"))) for p in sorted(files, reverse=True)]

    # -------------------------------------------------------------------------------------- sentences
    def sentences(self) -> list[dict[str, str]]:
        """The sample corpus's sentences, one per utterance: ``{"utt_id", "split", "text"}``, in corpus order."""
        manifest = self.sample_dir / "manifest.csv"
        if not manifest.is_file():
            return []
        seen: dict[str, dict[str, str]] = {}
        with open(manifest, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("utt_id") and row["utt_id"] not in seen:
                    seen[row["utt_id"]] = {"utt_id": row["utt_id"], "split": row.get("split", ""), "text": row.get("text", "")}
        return list(seen.values())

    def prompts(self, *, n_train: int = 16, n_test: int = 4) -> list[dict[str, str]]:
        """Sentences to record for a new voice: the first ``n_train`` training and ``n_test`` test sentences.

        Recorded under their corpus ids (``s001.wav``...), they pair with every sample voice, so a model
        can be trained on the training ones and measured on the held-out test ones.
        """
        rows = self.sentences()
        return [r for r in rows if r["split"] != "test"][:n_train] + [r for r in rows if r["split"] == "test"][:n_test]

    def split_files(self, slug: str, split: str) -> list[Path]:
        """Audio files of a voice whose stem belongs to ``split`` (``"train"`` or ``"test"``) of the corpus."""
        ids = {r["utt_id"] for r in self.sentences() if r["split"] == split}
        return [c.path for c in self.clips(slug) if c.stem in ids]
