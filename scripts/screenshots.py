"""Regenerate the README's screenshot gallery (``docs/screenshots/``) and time the first render of pages.

Usage::

    .venv/bin/python scripts/screenshots.py              # screenshots of every page -> docs/screenshots/*.png
    .venv/bin/python scripts/screenshots.py --train      # the same, after training a 2-epoch model (as in README)
    .venv/bin/python scripts/screenshots.py --timing     # only measure the first render of Home and Explore

It starts the app on a free loopback port with an empty, temporary ``WORKBENCH_DATA`` and drives the
system Chromium (headless, Playwright; nothing is downloaded). On Voices it types a name so the recorder
shows; on Clone it converts a sample sentence with the newest shipped model so the players show.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
PAGES = ["", "voices", "explore", "preprocess", "train", "clone", "live"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "WORKBENCH_DATA": str(data), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the app did not start within 60 s")


def settle(page, timeout_s: float = 90.0, quiet_s: float = 1.5) -> None:
    """Wait until no script run has been in progress for ``quiet_s``."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    deadline, quiet = time.time() + timeout_s, None
    while time.time() < deadline:
        if page.locator('[data-testid="stStatusWidget"]').count():
            quiet = None
        elif quiet is None:
            quiet = time.time()
        elif time.time() - quiet > quiet_s:
            return
        time.sleep(0.1)


def first_render_s(page, url: str, ready: str, count: int = 1) -> float:
    """Seconds from navigation until ``count`` elements matching ``ready`` are visible."""
    t0 = time.perf_counter()
    page.goto(url)
    deadline = time.time() + 120
    while page.locator(ready).count() < count and time.time() < deadline:
        time.sleep(0.05)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--timing", action="store_true", help="only time the first render of Home and Explore")
    ap.add_argument("--train", action="store_true",
                    help="train awb -> slt for 2 epochs on the Train page first (minutes), so Train and Clone show a model")
    ap.add_argument("--dwell", type=float, default=0.0,
                    help="seconds to stay on Home before opening Explore (a reader; Home warms librosa up meanwhile)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="wb-shots-") as tmp:
        proc, url = start_app(Path(tmp) / "data")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
                                                  "--use-fake-device-for-media-stream"])
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                # a fresh server: the first visit of each page is its first render (nothing cached yet)
                home = first_render_s(page, url + "/", '[data-testid="stGraphVizChart"] svg')
                time.sleep(args.dwell)
                # as a person does: click "Explore" in the sidebar (no page reload)
                t0 = time.perf_counter()
                page.locator('[data-testid="stSidebarNav"] a', has_text="Explore").first.click()
                page.locator('[data-testid="stPlotlyChart"]').nth(1).wait_for(timeout=120_000)
                explore = time.perf_counter() - t0
                again = first_render_s(page, url + "/explore", '[data-testid="stPlotlyChart"]', count=2)
                print(f"first render (headless Chromium, fresh server): Home {home:.1f} s (page load), Explore "
                      f"{explore:.1f} s (sidebar click{f' after {args.dwell:g} s on Home' if args.dwell else ''}, nothing "
                      f"cached); Explore reloaded in the browser, features cached: {again:.1f} s")
                if args.timing:
                    return 0
                args.out.mkdir(parents=True, exist_ok=True)
                for name in PAGES:
                    page.goto(f"{url}/{name}")
                    settle(page)
                    if name == "voices":
                        page.get_by_label(re.compile("voice name", re.I)).first.fill("Ada")
                        page.keyboard.press("Enter")
                        settle(page)
                    if name == "train" and args.train:
                        epochs = page.get_by_label(re.compile("^epochs", re.I)).first
                        epochs.fill("2")
                        epochs.press("Enter")
                        settle(page)
                        page.get_by_role("button", name=re.compile("start training", re.I)).first.click()
                        page.get_by_text("identity").first.wait_for(timeout=1_200_000)  # the held-out metrics table
                        settle(page)
                    if name == "clone":
                        page.get_by_role("button", name=re.compile("^convert", re.I)).first.click()
                        page.locator('[data-testid="stPlotlyChart"]').nth(2).wait_for(timeout=120_000)
                        settle(page)
                    time.sleep(3.0)  # widgets and charts finish drawing in the browser
                    page.screenshot(path=str(args.out / f"{name or 'home'}.png"), full_page=True)
                    print(f"wrote {args.out / (name or 'home')}.png")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
