"""Safe defaults: loopback-only app config, no unsafe deserialisation, and no network use at run time.

``no_network`` blocks every socket connection and name lookup that is not loopback (and records the
attempt), then the main flows run in this process: convert, detect, evaluate, train, and the app's pages.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import tomllib
import warnings

import pylibsrtp  # noqa: F401  (must load before TensorFlow: importing it after TF segfaults; see the report)
import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from workbench import cli

SAMPLES = ROOT / "sample_audio"


# ----------------------------------------------------------------------------------- static checks
def test_streamlit_config_is_local_private_and_limited():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"].get("enableXsrfProtection", True) is True
    assert 1 <= cfg["server"]["maxUploadSize"] <= 200


UNSAFE = re.compile(r"allow_pickle\s*=\s*True|\bpickle\.loads?\(|\bimport pickle\b|safe_mode\s*=\s*False|"
                    r"\bdill\b|\bjoblib\.load\(|torch\.load\(|\beval\(|yaml\.load\(")


def test_no_unsafe_deserialisation_anywhere():
    files = [*ROOT.glob("workbench/**/*.py"), *ROOT.glob("app_pages/*.py"), ROOT / "app.py", *ROOT.glob("scripts/*.py"),
             *ROOT.glob("benchmarks/*.py")]
    hits = [f"{f.relative_to(ROOT)}:{i}: {line.strip()}" for f in files
            for i, line in enumerate(f.read_text().splitlines(), 1) if UNSAFE.search(line)]
    assert not hits, hits
    loads = [f"{f.relative_to(ROOT)}:{i}" for f in files for i, line in enumerate(f.read_text().splitlines(), 1)
             if "load_model(" in line and "keras.models.load_model" in line and "safe_mode=True" not in line]
    assert not loads, f"keras.models.load_model without safe_mode=True: {loads}"


# ------------------------------------------------------------------------------------ no network
def _is_loopback(host) -> bool:
    if host is None or host in ("localhost", "localhost.localdomain", "", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def no_network(monkeypatch):
    """Refuse every non-loopback connect/sendto/getaddrinfo; yield the list of refused attempts."""
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_sendto, real_getaddrinfo = socket.socket.sendto, socket.getaddrinfo

    def allowed(sock, address) -> bool:
        return sock.family not in (socket.AF_INET, socket.AF_INET6) or _is_loopback(address[0])

    def connect(self, address):
        if not allowed(self, address):
            attempts.append(f"connect {address}")
            raise OSError(f"network access blocked by the test: {address}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if not allowed(self, address):
            attempts.append(f"connect_ex {address}")
            return 111  # ECONNREFUSED
        return real_connect_ex(self, address)

    def sendto(self, data, *args):
        address = args[-1]
        if not allowed(self, address):
            attempts.append(f"sendto {address}")
            raise OSError(f"network access blocked by the test: {address}")
        return real_sendto(self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            attempts.append(f"getaddrinfo {host}")
            raise socket.gaierror(f"name lookup blocked by the test: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    yield attempts


def test_the_blocker_blocks(no_network):
    with socket.socket() as sock, pytest.raises(OSError, match="blocked"):
        sock.connect(("93.184.216.34", 80))
    with pytest.raises(OSError, match="blocked"):
        socket.create_connection(("example.org", 443), timeout=2)
    assert no_network == ["connect ('93.184.216.34', 80)", "getaddrinfo example.org"]
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    socket.create_connection(server.getsockname(), timeout=2).close()  # loopback stays open
    server.close()


def run_cli(argv, capsys, monkeypatch):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out


def test_convert_detect_evaluate_offline(no_network, tmp_path, capsys, monkeypatch):
    bundle = ROOT / "workbench" / "pretrained" / "awb-to-slt"
    out = tmp_path / "gen.wav"
    run_cli(["convert", "--model", bundle, SAMPLES / "awb" / "s041.flac", out], capsys, monkeypatch)
    assert run_cli(["detect", out], capsys, monkeypatch).startswith("watermark detected")
    src, tgt = tmp_path / "src", tmp_path / "tgt"
    for d, voice in ((src, "awb"), (tgt, "slt")):
        d.mkdir()
        for utt in ("s041", "s042"):
            os.symlink(SAMPLES / voice / f"{utt}.flac", d / f"{utt}.flac")
    text = run_cli(["evaluate", "--model", bundle, "--source", src, "--target", tgt], capsys, monkeypatch)
    assert "MCD" in text
    assert no_network == []


@pytest.mark.slow
def test_train_offline(no_network, tmp_path, capsys, monkeypatch):
    src, tgt = tmp_path / "src", tmp_path / "tgt"
    for d, voice in ((src, "awb"), (tgt, "slt")):
        d.mkdir()
        for i in range(1, 7):
            os.symlink(SAMPLES / voice / f"s{i:03d}.flac", d / f"s{i:03d}.flac")
    run_cli(["train", "--source", src, "--target", tgt, "--model", "lstm", "--epochs", "1", "--out", tmp_path / "b",
             "--i-have-consent"], capsys, monkeypatch)
    assert (tmp_path / "b" / "bundle.json").is_file() and no_network == []


def test_app_pages_offline(no_network, monkeypatch, tmp_path):
    import streamlit_webrtc.component

    from app_pages import _webrtc

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    monkeypatch.setenv(_webrtc.MODEL_ENV, str(ROOT / "workbench" / "pretrained" / "awb-to-slt"))
    for page in ("app.py", "app_pages/explore.py", "app_pages/live.py"):  # home only renders inside app.py
        at = AppTest.from_file(str(ROOT / page), default_timeout=90).run()
        assert not at.exception, (page, at.exception)
    assert no_network == []
