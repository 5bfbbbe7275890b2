"""The sample corpus's manifest and its splits as folders that ``train_conversion`` and ``evaluate_converters`` take.

``sample_audio/manifest.csv`` lists one row per file (voice, utt_id, split, gender, engine, text). Training
and evaluation functions take folders paired by file stem, so a split (or the first few sentences of one)
is linked into a folder of its own.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

from .errors import DataError

MANIFEST = "manifest.csv"
AUDIO_SUFFIX = ".flac"


def read_manifest(corpus_dir: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of ``corpus_dir/manifest.csv`` as dicts, in file order.

    Raises
    ------
    DataError
        When the folder has no manifest.
    """
    path = Path(corpus_dir) / MANIFEST
    if not path.is_file():
        raise DataError(f"No {MANIFEST} in {str(corpus_dir)!r}; pass the sample corpus folder (sample_audio/).")
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def link_split(
    corpus_dir: str | os.PathLike,
    voice: str,
    split: str,
    out_dir: str | os.PathLike,
    *,
    limit: int | None = None,
) -> Path:
    """A folder ``out_dir/split/voice`` of links to one voice's files of one split (plus its consent record).

    Parameters
    ----------
    corpus_dir : folder
        Holds ``manifest.csv`` and one sub-folder of audio per voice.
    voice, split : str
        E.g. ``"awb"`` and ``"train"`` or ``"test"``.
    out_dir : folder
        Where the split folder is made (e.g. a temporary directory).
    limit : int, optional
        Keep only the first ``limit`` sentences of the split (manifest order), for quick runs.

    Returns
    -------
    Path
        The new folder; it holds ``min(limit, n)`` audio files named as in the corpus.

    Raises
    ------
    DataError
        When the voice has no file in that split.
    """
    corpus = Path(corpus_dir).resolve()
    rows = [r for r in read_manifest(corpus) if r["voice"] == voice and r["split"] == split]
    if not rows:
        raise DataError(f"The manifest lists no {split!r} files for voice {voice!r}; check the names in {MANIFEST}.")
    if limit is not None:
        rows = rows[: max(1, int(limit))]
    folder = Path(out_dir) / split / voice
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    names = [f"{r['utt_id']}{AUDIO_SUFFIX}" for r in rows]
    consent = corpus / voice / "consent.json"
    if consent.is_file():
        names.append(consent.name)
    for name in names:
        src = corpus / voice / name
        if not src.is_file():
            raise DataError(f"{src} is listed in {MANIFEST} but missing; regenerate the corpus with `make samples`.")
        os.symlink(src, folder / name)
    return folder
