"""scripts/train_defaults.py rewrites only its own sections of the pretrained README."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import train_defaults  # noqa: E402


def test_replace_section_keeps_every_other_section():
    readme = (ROOT / "workbench" / "pretrained" / "README.md").read_text()
    new = train_defaults.replace_section(readme, "any-to-slt", "## any-to-slt\n\nNEW TABLE\n")
    assert "NEW TABLE" in new
    for keep in ("## awb-to-slt", "## slt-to-awb", "## speaker-encoder", "## say-slt", "# Shipped default bundles"):
        assert new.count(keep) == 1, keep
    assert new.index("## any-to-slt") < new.index("NEW TABLE") < new.index("## speaker-encoder")
    # a second run replaces the section again instead of adding one
    again = train_defaults.replace_section(new, "any-to-slt", "## any-to-slt\n\nNEWER\n")
    assert "NEW TABLE" not in again and again.count("## any-to-slt") == 1
    # a bundle with no section yet is appended
    assert train_defaults.replace_section(readme, "fresh", "## fresh\n\nx\n").endswith("## fresh\n\nx\n")
