"""The whole workflow in a real browser: record a prompt with Chromium's fake microphone, train, convert.

Runs the app on a loopback port with an empty data store and drives /usr/bin/chromium with Playwright
(nothing is downloaded). Slow: the training step takes one to three minutes on a laptop CPU.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import soundfile as sf
from conftest import ROOT

from scripts.screenshots import settle  # one definition of "the page has stopped rerunning"

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs /usr/bin/chromium")]


@pytest.fixture
def app(tmp_path):
    """The app on 127.0.0.1 with WORKBENCH_DATA in tmp_path; yields (url, data folder)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "data"
    env = {**os.environ, "WORKBENCH_DATA": str(data), "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    log = open(tmp_path / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(180):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        yield url, data
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
    assert "Traceback" not in (tmp_path / "app.log").read_text()


def wait_for(predicate, timeout_s):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_record_train_convert_in_chromium(app, tmp_path):
    from playwright.sync_api import sync_playwright

    url, data = app
    y, sr = sf.read(ROOT / "sample_audio" / "awb" / "s001.flac", dtype="float32")
    mic = tmp_path / "mic.wav"  # what the fake microphone plays: a sentence, then silence
    sf.write(mic, np.concatenate([y, np.zeros(sr // 2, np.float32)]), sr, subtype="PCM_16")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, ignore_default_args=["--mute-audio"],
            args=["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={mic}"])
        page = browser.new_context(permissions=["microphone"], viewport={"width": 1400, "height": 1000}).new_page()
        exceptions = lambda: page.locator('[data-testid="stException"]').count()  # noqa: E731

        # 1. record the first prompt: name + Enter shows the recorder, no other click
        page.goto(url + "/voices")
        settle(page)
        page.get_by_label(re.compile("voice name", re.I)).first.fill("browser tester")
        page.keyboard.press("Enter")
        recorder = page.locator('[data-testid="stAudioInput"]').first
        recorder.wait_for(timeout=30_000)
        assert page.get_by_text("1 / 20").count()
        recorder.get_by_role("button", name=re.compile("record", re.I)).click()
        time.sleep(3.5)
        recorder.get_by_role("button", name=re.compile("stop", re.I)).click()
        settle(page)
        page.get_by_role("button", name=re.compile("save recording", re.I)).first.click()
        clip = data / "voices" / "browser-tester" / "s001.wav"
        assert wait_for(clip.is_file, 30) and sf.info(clip).duration >= 1.0
        settle(page)
        assert page.get_by_text("2 / 20").count() and not exceptions()

        # 2. train awb -> slt (the defaults) for one epoch; the loss chart shows, the bundle appears
        page.goto(url + "/train")
        settle(page)
        epochs = page.get_by_label(re.compile("^epochs", re.I)).first
        epochs.fill("1")
        epochs.press("Enter")
        settle(page)
        page.get_by_role("button", name=re.compile("start training", re.I)).first.click()
        assert page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000) is None
        assert wait_for(lambda: list((data / "models").glob("*/bundle.json")), 900)  # minutes on a busy 2-core machine
        assert not exceptions()

        # 3. convert with the newest model (the one just trained)
        page.goto(url + "/clone")
        settle(page)
        picker = page.locator('[data-testid="stSelectbox"]').first
        shown = "e => e.innerText + ' ' + Array.from(e.querySelectorAll('input')).map(i => i.value).join(' ')"
        assert wait_for(lambda: "awb-to-slt-2" in picker.evaluate(shown), 60), picker.evaluate(shown)  # late when busy
        n_audio = page.locator("audio").count()
        page.get_by_role("button", name=re.compile("^convert", re.I)).first.click()
        assert wait_for(lambda: list((data / "outputs").glob("*.wav")) and page.locator("audio").count() > n_audio, 180)
        assert not exceptions()
        browser.close()
