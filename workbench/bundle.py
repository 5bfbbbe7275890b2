"""Model bundles: a folder with the trained model and a versioned ``bundle.json``.

``bundle.json`` holds everything needed to use the model: the feature config, normalisation and F0
statistics, the voices, the training arguments, metrics and the creation time. Saving is atomic (a
complete temporary folder is renamed into place), and loading checks the schema and refuses corrupt or
incompatible bundles with a ``BundleError`` that says what to do.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import FeatureConfig
from .data import F0Stats, NormStats
from .errors import BundleError, ConfigError
from .models import registry
from .postfilter import GvStats

SCHEMA_VERSION = 1
BUNDLE_FILE = "bundle.json"


@dataclass
class BundleMeta:
    """The contents of ``bundle.json``."""

    kind: str
    feature_cfg: FeatureConfig
    output_norm: NormStats
    source_f0: F0Stats
    target_f0: F0Stats
    input_norm: NormStats | None = None
    model_cfg: dict[str, Any] | None = None
    lookahead_frames: int = 0
    use_f0_input: bool = True
    phonetic_input: bool = False
    phonetic_encoder: str = ""  # fingerprint of the encoder whose posteriors the model was trained on
    f0_mode: str = "global"
    source_voices: list[str] = field(default_factory=list)
    target_voice: str = ""
    train_args: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    gv: GvStats | None = None
    created: str = ""
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "created": self.created or datetime.now(UTC).isoformat(timespec="seconds"),
            "source_voices": self.source_voices,
            "target_voice": self.target_voice,
            "feature_cfg": self.feature_cfg.to_dict(),
            "model_cfg": self.model_cfg,
            "lookahead_frames": self.lookahead_frames,
            "use_f0_input": self.use_f0_input,
            "phonetic_input": self.phonetic_input,
            "phonetic_encoder": self.phonetic_encoder,
            "f0_mode": self.f0_mode,
            "input_norm": self.input_norm.to_dict() if self.input_norm else None,
            "output_norm": self.output_norm.to_dict(),
            "f0": {"source": self.source_f0.to_dict(), "target": self.target_f0.to_dict()},
            "train_args": self.train_args,
            "metrics": self.metrics,
            **({"gv": self.gv.to_dict()} if self.gv is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BundleMeta:
        return cls(
            kind=d["kind"],
            # bundles from before envelope_f0 were analysed with WORLD's unvoiced window
            feature_cfg=FeatureConfig.from_dict({"envelope_f0": "world", **d["feature_cfg"]}),
            output_norm=NormStats.from_dict(d["output_norm"]),
            source_f0=F0Stats(**d["f0"]["source"]),
            target_f0=F0Stats(**d["f0"]["target"]),
            input_norm=NormStats.from_dict(d["input_norm"]) if d.get("input_norm") else None,
            model_cfg=d.get("model_cfg"),
            lookahead_frames=int(d.get("lookahead_frames", 0)),
            use_f0_input=bool(d.get("use_f0_input", True)),
            phonetic_input=bool(d.get("phonetic_input", False)),  # bundles from before the encoder: without
            phonetic_encoder=str(d.get("phonetic_encoder", "")),
            f0_mode=d.get("f0_mode", "global"),
            source_voices=list(d.get("source_voices", [])),
            target_voice=d.get("target_voice", ""),
            train_args=d.get("train_args", {}),
            metrics=d.get("metrics", {}),
            gv=GvStats.from_dict(d["gv"]) if d.get("gv") else None,
            created=d.get("created", ""),
            schema_version=int(d["schema_version"]),
        )


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux ``renameat2(RENAME_EXCHANGE)``; False where unsupported."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _recover(out: Path) -> None:
    """Finish a replacement that a crash interrupted (fallback path only): restore or drop ``.old`` copies."""
    olds = sorted(out.parent.glob(f".{out.name}.old-*"))
    if olds and not out.exists() and (olds[-1] / BUNDLE_FILE).is_file():
        os.replace(olds.pop(), out)  # killed between the two renames: the previous bundle comes back
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)


def save_bundle(out_dir: str | os.PathLike, meta: BundleMeta, model: Any) -> Path:
    """Write a bundle atomically; an existing bundle at ``out_dir`` is replaced only once the new one is complete.

    The new bundle is written to a temporary folder beside ``out_dir`` and swapped in with one atomic
    ``renameat2(RENAME_EXCHANGE)`` (Linux), so a process killed at any moment leaves the previous bundle
    or the new one, never neither. Elsewhere the swap is two renames, and ``read_meta`` restores the
    previous bundle if a crash fell between them. ``model`` is what the kind's mapper class saves
    (``FrameMapper.save_model``): a Keras model (``lstm``/``gan``, written as ``.keras`` plus NumPy weights)
    or a ``JointGMM`` (``gmm``).
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    _recover(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        registry.mapper_class(meta.kind).save_model(model, tmp)
        with open(tmp / BUNDLE_FILE, "w") as fh:
            fh.write(json.dumps(meta.to_dict(), indent=2))
            fh.flush()
            os.fsync(fh.fileno())
        if not out.exists():
            os.replace(tmp, out)
        elif _exchange(tmp, out):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous bundle
        else:
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def read_meta(path: str | os.PathLike) -> BundleMeta:
    """Read and check ``bundle.json`` of the bundle at ``path``."""
    path = Path(path)
    if not path.is_dir() and any(path.parent.glob(f".{path.name}.old-*")):
        _recover(path)
    if not path.is_dir():
        raise BundleError(
            f"No model bundle at {str(path)!r}; train one with `workbench train ...` or pick a shipped model."
        )
    meta_file = path / BUNDLE_FILE
    if not meta_file.is_file():
        raise BundleError(f"{str(path)!r} has no {BUNDLE_FILE}; it is not a model bundle (or it is incomplete).")
    try:
        raw = json.loads(meta_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BundleError(f"{meta_file} is corrupt ({err}); retrain or restore the bundle.") from err
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if version != SCHEMA_VERSION:
        raise BundleError(
            f"{path.name}: bundle schema version {version!r} is not supported (this workbench reads version "
            f"{SCHEMA_VERSION}); retrain the model with this version."
        )
    try:
        meta = BundleMeta.from_dict(raw)
    except ConfigError as err:
        raise BundleError(f"{path.name}: its feature config is invalid ({err}); retrain the model.") from err
    except (KeyError, TypeError, ValueError) as err:
        raise BundleError(f"{path.name}: bundle.json lacks or garbles a field ({err}); retrain the model.") from err
    if meta.kind not in registry.MODEL_KINDS:
        raise BundleError(f"{path.name}: unknown model kind {meta.kind!r}; expected one of {registry.MODEL_KINDS}.")
    if len(meta.output_norm.mean) != meta.feature_cfg.mcep_order:
        raise BundleError(
            f"{path.name}: its statistics have {len(meta.output_norm.mean)} mel-cepstral coefficients but its feature "
            f"config asks for mcep_order={meta.feature_cfg.mcep_order}; the bundle mixes incompatible feature "
            "configs — retrain the model."
        )
    return meta


def load_model(path: str | os.PathLike, meta: BundleMeta) -> Any:
    """Load the bundle's model with its kind's mapper class (NumPy arrays; Keras only for old bundles)."""
    return registry.mapper_class(meta.kind).load_model(Path(path), meta)


def load_keras_model(path: str | os.PathLike, meta: BundleMeta) -> Any:
    """The bundle's ``model.keras`` (``lstm``/``gan``), for training on or inspecting it; imports TensorFlow."""
    from .models.lstm import load_keras

    return load_keras(Path(path), meta)
