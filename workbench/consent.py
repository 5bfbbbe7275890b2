"""Consent records: a voice becomes a conversion target only with a record that its owner agreed.

A record is ``consent.json`` in the voice's folder: ``{"voice": ..., "speaker": ..., "consent": true,
"basis": ..., "created": ...}``. The sample voices ship one; the app writes one when a person records
their own voice and ticks the consent box.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from .errors import ConsentError

CONSENT_FILE = "consent.json"


def read_consent(folder: str | os.PathLike) -> dict | None:
    """The consent record of a voice folder, or ``None`` when it has none (or an unreadable one)."""
    path = Path(folder) / CONSENT_FILE
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) and record.get("consent") is True else None


def check_consent(folder: str | os.PathLike, *, confirmed: bool = False) -> dict:
    """Return the folder's consent record, or raise ``ConsentError`` when there is none.

    ``confirmed=True`` (the CLI's ``--i-have-consent``) writes a record stating that the user confirmed
    consent, so the decision is kept beside the voice.
    """
    record = read_consent(folder)
    if record is not None:
        return record
    if not confirmed:
        raise ConsentError(
            f"The target voice in {str(folder)!r} has no consent record ({CONSENT_FILE}). Only clone a voice "
            "whose owner agreed: pass --i-have-consent to confirm they did (a record is written), or add "
            f"{CONSENT_FILE}."
        )
    record = {
        "voice": Path(folder).name,
        "consent": True,
        "basis": "confirmed by the user with --i-have-consent",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        (Path(folder) / CONSENT_FILE).write_text(json.dumps(record, indent=2) + "\n")
    except OSError:
        pass  # a read-only folder: the confirmation still holds for this run
    return record
