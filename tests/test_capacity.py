"""The live-session limit follows what ``benchmarks/realtime.py`` measured on this machine."""

import json
import subprocess
import sys

import pytest

from workbench.capacity import CAPACITY_FILE, MAX_SESSIONS_ENV, machine, save_capacity, session_limit
from workbench.errors import ConfigError

HERE = machine()


def test_no_measurement_falls_back_to_the_default(tmp_path):
    lim = session_limit(tmp_path, default=2, env={})
    assert (lim.max_sessions, lim.source) == (2, "default") and "make bench" in lim.detail


@pytest.mark.parametrize("streams,limit", [(1, 1), (2, 1), (4, 2), (5, 2), (6, 3), (12, 6)])
def test_the_limit_is_half_the_measured_streams(tmp_path, streams, limit):
    save_capacity({"max_streams": streams, "machine": HERE}, tmp_path)
    lim = session_limit(tmp_path, default=2, env={})
    assert (lim.max_sessions, lim.source) == (limit, "benchmark")
    assert f"measured {streams} real-time streams" in lim.detail


def test_a_measurement_from_another_machine_is_ignored(tmp_path):
    save_capacity({"max_streams": 12, "machine": {**HERE, "usable_cores": HERE["usable_cores"] + 8}}, tmp_path)
    lim = session_limit(tmp_path, default=2, env={})
    assert (lim.max_sessions, lim.source) == (2, "default") and "another machine" in lim.detail


def test_the_environment_overrides_and_is_checked(tmp_path):
    save_capacity({"max_streams": 6, "machine": HERE}, tmp_path)
    assert session_limit(tmp_path, default=2, env={MAX_SESSIONS_ENV: "5"}).max_sessions == 5
    with pytest.raises(ConfigError, match=MAX_SESSIONS_ENV):
        session_limit(tmp_path, default=2, env={MAX_SESSIONS_ENV: "lots"})


def test_a_damaged_file_falls_back_to_the_default(tmp_path):
    (tmp_path / CAPACITY_FILE).parent.mkdir(parents=True)
    (tmp_path / CAPACITY_FILE).write_text("{not json")
    assert session_limit(tmp_path, default=3, env={}).source == "default"
    with pytest.raises(ConfigError, match="max_streams"):
        save_capacity({"machine": HERE}, tmp_path)


@pytest.mark.slow
def test_the_benchmark_saves_what_the_app_reads(tmp_path):
    """A real (short) benchmark run with --save writes the file the Live page's limit comes from."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {"WORKBENCH_DATA": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "benchmarks/realtime.py", "--model", "f0", "--seconds", "1", "--repeat", "1",
                    "--max-n", "2", "--stream-seconds", "1", "--save"], cwd=root, env=env, check=True,
                   capture_output=True, timeout=600)
    saved = json.loads((tmp_path / CAPACITY_FILE).read_text())
    lim = session_limit(tmp_path, default=99, env={})
    assert lim.source == "benchmark" and lim.max_sessions == max(1, saved["max_streams"] // 2)
