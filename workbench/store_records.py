"""The data store's names and records: safe slugs for user-chosen names, and the small frozen records
(``Voice``, ``Clip``, ``ModelInfo``, ``Output``, ``Removal``) that ``store.Store`` hands to pages and the CLI.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import WorkbenchError

MAX_SLUG = 48


class StoreError(WorkbenchError, ValueError):
    """A store operation that cannot be done: unknown or read-only voice, bad name, missing file."""


# ------------------------------------------------------------------------------------------- helpers
def slugify(name: str) -> str:
    """A safe folder name for a user-given name.

    Accents are folded to ASCII (``"Zoë Ŝmith"`` -> ``"zoe-smith"``); anything else that is not a letter
    or digit becomes ``-``. A name with no ASCII letters or digits at all (e.g. ``"李雷"``) gets
    ``voice-`` plus a short hash of the name, so different names stay different.

    Raises
    ------
    StoreError
        When ``name`` is empty or only whitespace.
    """
    text = str(name).strip()
    if not text:
        raise StoreError("A name is needed: type one (letters, digits, spaces), e.g. 'my voice'.")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:MAX_SLUG].strip("-")
    if not slug:
        slug = "voice-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return slug


def _safe_stem(stem: str) -> str:
    """A clip stem (file name without extension): letters, digits, ``-`` and ``_`` only."""
    out = re.sub(r"[^A-Za-z0-9_-]+", "-", unicodedata.normalize("NFKD", str(stem)).encode("ascii", "ignore")
                 .decode("ascii")).strip("-_")[:MAX_SLUG]
    if not out:
        raise StoreError(f"Clip name {stem!r} has no usable characters; use letters, digits, '-' or '_'.")
    return out


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or ``{}`` when it is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Clip:
    """One recording of a voice: ``path`` (audio) and its transcript ``text`` (``""`` when unknown)."""

    voice: str
    stem: str
    path: Path
    text: str = ""


@dataclass(frozen=True)
class Voice:
    """A voice: the person's own (``read_only=False``) or a shipped sample voice."""

    slug: str
    name: str
    path: Path
    read_only: bool
    n_clips: int
    has_consent: bool
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        """How pickers show the voice: ``"flowtester (yours, 3 clips)"`` or ``"awb (sample)"``."""
        kind = "sample" if self.read_only else f"yours, {self.n_clips} clip{'s' * (self.n_clips != 1)}"
        return f"{self.name} ({kind})"


@dataclass(frozen=True)
class ModelInfo:
    """A trained bundle: its folder, ``bundle.json`` contents, metrics and training log."""

    slug: str
    path: Path
    created: str
    read_only: bool
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    metrics: dict[str, Any] = field(default_factory=dict, compare=False)
    log: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        """``"awb-to-slt · LSTM awb → slt · 2026-12-01 21:03"`` (``shipped`` for read-only bundles)."""
        src = ", ".join(self.meta.get("source_voices") or []) or "?"
        when = "shipped" if self.read_only else self.created[:16].replace("T", " ")
        return f"{self.slug} · {str(self.meta.get('kind', '?')).upper()} {src} → {self.meta.get('target_voice') or '?'} · {when}"


@dataclass(frozen=True)
class Output:
    """A converted clip in ``outputs/`` and its provenance sidecar."""

    path: Path
    info: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Removal:
    """What ``Store.delete_voice`` removed: counts, names and every path (files and folders)."""

    voice: str
    clips: int
    consent: bool
    models: tuple[str, ...]
    outputs: tuple[str, ...]
    paths: tuple[Path, ...]

    def summary(self) -> str:
        """One sentence: ``"Deleted voice 'me': 4 clips, its consent record, 1 model (me-to-awb) and 2 outputs."``"""
        parts = [f"{self.clips} clip{'s' * (self.clips != 1)}"]
        if self.consent:
            parts.append("its consent record")
        parts.append(f"{len(self.models)} model{'s' * (len(self.models) != 1)}"
                     + (f" ({', '.join(self.models)})" if self.models else ""))
        parts.append(f"{len(self.outputs)} output{'s' * (len(self.outputs) != 1)} made with them")
        return f"Deleted voice {self.voice!r}: " + ", ".join(parts[:-1]) + " and " + parts[-1] + "."
