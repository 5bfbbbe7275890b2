"""Consent records: a voice becomes a conversion target only with a record that its owner agreed.

A record is ``consent.json`` in the voice's folder: ``{"voice": ..., "speaker": ..., "consent": true,
"basis": ..., "created": ...}``. The sample voices ship one (synthetic TTS voices, basis: their licence).
A person's own voice gets one when they read the prompted statement (``consent_statement``, with the date
in words) aloud on the Voices page. That clip is *checked*, not only stored (``check_consent_clip``):

* **the words**: PocketSphinx transcribes it and the share of the statement's words found in order in the
  transcript (``word_match_rate``) must reach ``ConsentCheckConfig.min_word_match``;
* **the speaker**: the shipped speaker encoder's cosine between the clip and the centroid of the voice's
  other recordings must reach the encoder's EER operating point (``operating_point.threshold`` in its
  ``bundle.json``, measured by ``scripts/encoder_threshold.py``).

Both results, the clip's SHA-256 and the statement are stored in the record; a record whose check failed
does not make the voice a target (``read_consent`` returns ``None``). Records are written atomically.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from .errors import ConfigError, ConsentError
from .fileio import atomic_write_text

CONSENT_FILE = "consent.json"
_ONES = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
            "nine": "ninth", "twelve": "twelfth"}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


@dataclass(frozen=True)
class ConsentCheckConfig:
    """Thresholds of the consent-clip check.

    Parameters
    ----------
    min_word_match : float
        Share of the statement's words PocketSphinx must find, in order, in [0, 1]. Measured here: flite
        voices reading the statement score 0.77 (slt) to 1.0 (awb); reading another sentence scores < 0.2.
    min_similarity : float or None
        Cosine to the voice's centroid a same-speaker clip reaches; ``None`` takes the speaker encoder's EER
        operating point from its ``bundle.json``.
    max_voice_clips : int
        Recordings of the voice used for its centroid (the first ones by name).
    """

    min_word_match: float = 0.6
    min_similarity: float | None = None
    max_voice_clips: int = 8

    def __post_init__(self) -> None:
        if not 0.0 < self.min_word_match <= 1.0:
            raise ConfigError(f"min_word_match={self.min_word_match} must be in (0, 1]; 0.6 is the default.")
        if self.min_similarity is not None and not -1.0 < self.min_similarity < 1.0:
            raise ConfigError(f"min_similarity={self.min_similarity} must be a cosine in (-1, 1), or None.")
        if self.max_voice_clips < 1:
            raise ConfigError(f"max_voice_clips={self.max_voice_clips} must be at least 1.")


def _number_words(n: int) -> str:
    """``0 < n < 100`` in words: 26 -> ``"twenty six"``."""
    return _ONES[n] if n < 20 else (_TENS[n // 10] + (" " + _ONES[n % 10] if n % 10 else ""))


def date_in_words(day: date) -> str:
    """A date as it is read aloud: ``date(2026, 12, 1)`` -> ``"the first of December, two thousand twenty six"``."""
    words = _number_words(day.day).split()
    last = words[-1]
    words[-1] = _ORDINAL.get(last, last[:-1] + "ieth" if last.endswith("y") else last + "th")
    year = day.year
    year_words = ("two thousand" + (" " + _number_words(year - 2000) if year > 2000 else "")
                  if 2000 <= year < 2100 else f"{_number_words(year // 100)} {_number_words(year % 100)}")
    return f"the {' '.join(words)} of {_MONTHS[day.month - 1]}, {year_words}"


def consent_statement(day: date) -> str:
    """The statement a voice's owner reads aloud, with ``day`` in words (so a recogniser can check it)."""
    return ("I agree that my voice may be used to train voice conversion models on this computer, and that I can "
            f"withdraw by deleting it. Today is {date_in_words(day)}.")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def word_match_rate(expected: str, heard: str) -> float:
    """Share of ``expected``'s words found in ``heard`` in the same order (longest matching blocks), in [0, 1]."""
    want, got = _words(expected), _words(heard)
    if not want:
        return 0.0
    blocks = difflib.SequenceMatcher(a=want, b=got, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks) / len(want)


def _speaker_threshold(cfg: ConsentCheckConfig) -> float:
    if cfg.min_similarity is not None:
        return cfg.min_similarity
    from .speaker import DEFAULT_ENCODER

    meta = json.loads((DEFAULT_ENCODER / "bundle.json").read_text())
    return float(meta["operating_point"]["threshold"])


def check_consent_clip(y: np.ndarray, sr: int, statement: str, voice_clips: Sequence[np.ndarray], voice_sr: int,
                       *, cfg: ConsentCheckConfig = ConsentCheckConfig()) -> dict:
    """Check a consent recording: were the statement's words said, and by the voice's speaker?

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
        The recording of the statement; ``sr`` its rate in Hz.
    statement : str
        The text that was prompted.
    voice_clips : sequence of np.ndarray
        The voice's other recordings (mono float32 at ``voice_sr`` Hz); at most ``cfg.max_voice_clips`` are used.

    Returns
    -------
    dict
        ``{"passed", "words": {"match_rate", "threshold", "heard", "passed"},
        "speaker": {"cosine", "threshold", "clips", "passed"}}``; ``speaker.cosine`` is ``None`` (and the
        check fails) when the voice has no other recordings yet.
    """
    from .speaker import cosine_similarity, load_speaker_encoder, voice_centroid
    from .speech.asr import transcribe

    heard = transcribe(y, sr).text
    rate = word_match_rate(statement, heard)
    words = {"match_rate": round(rate, 3), "threshold": cfg.min_word_match, "heard": heard,
             "passed": rate >= cfg.min_word_match}
    threshold = _speaker_threshold(cfg)
    clips = list(voice_clips)[: cfg.max_voice_clips]
    cos = None
    if clips:
        enc = load_speaker_encoder()
        cos = cosine_similarity(enc.embed(y, sr), voice_centroid(enc, clips, voice_sr))
    speaker = {"cosine": None if cos is None else round(cos, 4), "threshold": threshold, "clips": len(clips),
               "passed": cos is not None and cos >= threshold}
    return {"passed": words["passed"] and speaker["passed"], "words": words, "speaker": speaker}


def consent_advice(check: dict) -> list[str]:
    """What to tell the person about a check result, one sentence per failed part (empty when it passed)."""
    out = []
    w, s = check["words"], check["speaker"]
    if not w["passed"]:
        out.append(f"The recogniser found {w['match_rate']:.0%} of the statement's words (needs "
                   f"{w['threshold']:.0%}); it heard: “{w['heard']}”. Read the whole statement clearly, close to "
                   "the microphone, in a quiet room, and record it again.")
    if s["cosine"] is None:
        out.append("The voice has no recordings to compare the statement with: record some prompted sentences "
                   "first, then record the consent statement.")
    elif not s["passed"]:
        out.append(f"The statement does not sound like this voice's recordings (similarity {s['cosine']:.2f}, "
                   f"needs {s['threshold']:.2f}). The owner of the voice must read it themselves, with the same "
                   "microphone as the recordings.")
    return out


def clip_sha256(data: bytes) -> str:
    """Hex SHA-256 of a clip's file bytes (stored in the record, so the clip can be verified later)."""
    return hashlib.sha256(data).hexdigest()


def write_consent(folder: str | os.PathLike, record: dict) -> Path:
    """Write ``consent.json`` atomically (a temporary file beside it, flushed, then renamed into place)."""
    path = Path(folder) / CONSENT_FILE
    atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path


def read_consent(folder: str | os.PathLike) -> dict | None:
    """The consent record of a voice folder, or ``None`` when it has none, an unreadable one, or one whose
    recorded clip failed its check."""
    path = Path(folder) / CONSENT_FILE
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or record.get("consent") is not True:
        return None
    check = record.get("check")
    return None if isinstance(check, dict) and check.get("passed") is not True else record


def check_consent(folder: str | os.PathLike, *, confirmed: bool = False) -> dict:
    """Return the folder's consent record, or raise ``ConsentError`` when there is none.

    ``confirmed=True`` (the CLI's ``--i-have-consent``) returns a record stating that the user confirmed
    consent (``"basis": "confirmed by the user with --i-have-consent"``); the CLI stores it in the bundle it
    makes (``record_in_bundle``) and tries to keep it beside the voice too.
    """
    record = read_consent(folder)
    if record is not None:
        return record
    if not confirmed:
        raise ConsentError(
            f"The target voice in {str(folder)!r} has no checked consent record ({CONSENT_FILE}). Only clone a "
            "voice whose owner agreed: have them record the consent statement on the Voices page, or pass "
            "--i-have-consent to confirm they did (it is recorded in the model bundle)."
        )
    record = {
        "voice": Path(folder).name,
        "consent": True,
        "basis": "confirmed by the user with --i-have-consent",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        write_consent(folder, record)
    except OSError:
        pass  # a read-only folder: the confirmation still holds for this run and goes into the bundle
    return record


def record_in_bundle(bundle_dir: str | os.PathLike, record: dict) -> None:
    """Add the target's consent record to a bundle's ``bundle.json`` (key ``"consent"``), atomically."""
    path = Path(bundle_dir) / "bundle.json"
    meta = json.loads(path.read_text())
    meta["consent"] = record
    atomic_write_text(path, json.dumps(meta, indent=2), mode=0o644)
