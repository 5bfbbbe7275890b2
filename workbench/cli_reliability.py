"""``workbench detect FILE``: tell whether an audio file carries the workbench's watermark.

Prints exactly one line, starting with ``watermark detected`` or ``no watermark``, then the
confidence, the score and, when the file has one, its provenance record.
"""

from __future__ import annotations

import argparse


def cmd_detect(args: argparse.Namespace) -> int:
    from .audio import load_audio
    from .provenance import read_provenance
    from .watermark import detect_watermark

    y, sr = load_audio(args.file, sr=None, validate=False)
    result = detect_watermark(y, sr)
    line = result.summary()
    record = read_provenance(args.file)
    if record is not None:
        line += (f"; provenance: model {record.get('model')!r}, source {record.get('source')!r}, "
                 f"target {record.get('target')!r}, created {record.get('created')}")
    print(line)
    return 0


def register(sub) -> None:
    """Add the reliability subcommands (``detect``) to the ``workbench`` parser's subparsers."""
    d = sub.add_parser("detect", help="check an audio file for the workbench's watermark")
    d.add_argument("file", help="audio file (wav, flac, ogg, mp3)")
    d.set_defaults(func=cmd_detect)
