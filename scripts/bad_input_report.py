"""Print every bad-input case of ``tests/test_bad_input.py`` with the message the CLI gives for it.

The test table pins each message by a pattern; this runs the same cases through ``workbench convert``
(audio files, output paths, model bundles) and ``workbench say`` (texts) and prints a Markdown table of
what a person actually reads, for the reliability issue's closing note and the README.

Usage::

    .venv/bin/python scripts/bad_input_report.py > bad_input.md
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import test_bad_input as table  # noqa: E402  (the one table of cases; this script only runs it)

from workbench import cli  # noqa: E402


def run(argv: list) -> tuple[int, str]:
    """``workbench ARGV`` in this process; returns the exit code and its last stderr line (or stdout's)."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("always")
        rc = cli.main([str(a) for a in argv])
    lines = err.getvalue().strip().splitlines() or out.getvalue().strip().splitlines() or [""]
    return rc, lines[-1]


def rows() -> list[tuple[str, str, str]]:
    """``(what, case, outcome and message)`` for every case of the table."""
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        def case_dir(maker=table.write(table.tone()), name: str = "input.wav") -> tuple[Path, Path]:
            """A fresh folder for one case, and its input file made by ``maker``."""
            d = Path(tmp) / f"c{len(found)}"
            d.mkdir()
            return d, table._make(d, maker, name)

        for case, maker, _ in table.AUDIO_CASES:
            d, src = case_dir(maker)
            rc, msg = run(["convert", "--model", "identity", src, d / "out.wav"])
            found.append(("input audio", case, msg if rc or msg.startswith("warning") else f"converts ({msg})"))
        for case, name, _ in table.OUTPUT_CASES:
            d, src = case_dir()
            found.append(("output path", case, run(["convert", "--model", "identity", src, d / name])[1]))
        for case, damage, _ in table.BUNDLE_CASES:
            d, src = case_dir()
            bundle = table._bundle(d)
            damage(bundle)
            found.append(("model bundle", case, run(["convert", "--model", bundle, src, d / "out.wav"])[1]))
        d, src = case_dir()
        found.append(("model bundle", "a missing bundle path", run(["convert", "--model", d / "nope", src, d / "o.wav"])[1]))
        for case, name in table.NAMES.items():
            d, src = case_dir(name=name)
            rc, msg = run(["convert", "--model", "identity", src, d / "sub" / ".." / f"out {name.replace('/', '_')}"])
            found.append(("file name", case, msg if rc else f"converts ({msg})"))
        found += _app_rows(Path(tmp))
        say = ROOT / "workbench" / "pretrained" / "say-slt"
        for case, text, _ in table.TEXT_CASES:
            found.append(("text to say", case, run(["say", "--model", say, text, Path(tmp) / "said.wav"])[1]))
    return found


def _app_rows(tmp: Path) -> list[tuple[str, str, str]]:
    """The app's upload path (``Store.import_clip``) and user-chosen names in the data store."""
    from workbench.errors import WorkbenchError
    from workbench.store import Store

    store = Store(tmp / "data", sample_dir=tmp / "none")
    voice = store.create_voice("me")
    try:
        store.import_clip(voice.slug, table.wav_bytes()[:44] + bytes(51_000_000), "big.wav")
        upload = "accepted"
    except WorkbenchError as err:
        upload = f"error: {err}"
    named = store.create_voice("../../etc/passwd")
    return [("app upload", "an upload over the size limit", upload),
            ("app name", "a voice named '../../etc/passwd'", f"stored as '{named.slug}' inside the data store "
                                                             f"({named.path.relative_to(store.root)})")]


def main() -> int:
    print("| input | case | what the CLI prints |\n|---|---|---|")
    for what, case, msg in rows():
        msg = re.sub(r"/tmp/tmp\w+/", "<tmp>/", msg)  # the temporary folder's name changes every run
        print(f"| {what} | {case} | `{msg.replace('|', '/')[:220]}` |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
