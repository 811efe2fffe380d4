"""Helpers of the reading-station tests: what they need, the server in a process, a headless Chromium.

Missing pieces skip the tests with a reason naming them, unless DEEPMIR_REQUIRE_BROWSER=1
(set by .ci/run), which turns the skip into a failure: in CI the browser tests must run.
"""

from __future__ import annotations

import io
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

REQUIRE_VARIABLE = "DEEPMIR_REQUIRE_BROWSER"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1600,1000")
URL_PATTERN = re.compile(r"open (http://\S+)")


def need(available: bool, what: str) -> None:
    """Skip (or, with DEEPMIR_REQUIRE_BROWSER=1, fail) naming `what` when it is not available."""
    if available:
        return
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{what} is missing and {REQUIRE_VARIABLE}=1 requires it")
    pytest.skip(f"{what} is missing")


def importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def need_web_extra() -> None:
    need(importable("trame_slicer") and importable("slicer"), "the web extra (pip install 'DeepMIRLib[web]': trame-slicer)")


def chromium_paths() -> tuple[str | None, str | None]:
    return shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")


def need_browser() -> None:
    need_web_extra()
    browser, driver = chromium_paths()
    need(browser is not None, "Chromium (Debian package chromium)")
    need(driver is not None, "ChromeDriver (Debian package chromium-driver)")
    need(importable("selenium"), "selenium (pip install selenium)")


class ReviewServer:
    """`deepmir review` in its own process group; `url` is what it printed."""

    def __init__(self, source, datastore, *extra: str, timeout: float = 240.0):
        command = [sys.executable, "-m", "DeepMIRLib.cli", "review", str(source), "--datastore", str(datastore), "--port", "0", *extra]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: queue.Queue = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_for_url(timeout)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1.0)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            found = URL_PATTERN.search(line)
            if found:
                return found.group(1)
        self.stop()
        raise AssertionError("deepmir review printed no URL:\n" + "".join(self.output[-40:]))

    @property
    def port(self) -> int:
        return int(re.search(r":(\d+)/", self.url).group(1))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def chromium_driver(profile_dir):
    """A headless Debian Chromium driven through the Debian ChromeDriver (nothing downloaded).

    Its profile goes in `profile_dir` (a test's tmp_path), so that nothing is left in /tmp.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    return webdriver.Chrome(service=Service(driver), options=options)


class Page:
    """The reading station's page in the browser: trame state, elements, waits (no fixed sleeps)."""

    def __init__(self, driver, timeout: float = 120.0):
        self.driver = driver
        self.timeout = timeout

    def state(self, name: str):
        return self.driver.execute_script(
            "const t = window.trame; return t && t.state ? t.state.get(arguments[0]) : undefined;", name)

    def wait(self, condition, what: str, timeout: float | None = None, poll: float = 0.2):
        """Poll `condition()` until it is truthy; fail naming `what` (and the page's error) if it never is."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            try:
                value = condition()
            except Exception:  # noqa: BLE001 - the page is still loading (no element, no state, stale element)
                value = None
            if isinstance(value, np.ndarray) or value:
                return value
            time.sleep(poll)
        raise AssertionError(f"timed out waiting for {what}; page error: {self.state('error')!r}, message: {self.state('message')!r}")

    def element(self, element_id: str):
        from selenium.webdriver.common.by import By

        return self.wait(lambda: self.driver.find_element(By.ID, element_id), f"element #{element_id}")

    def click(self, element_id: str) -> None:
        element = self.element(element_id)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        self.wait(lambda: element.is_enabled() and element.is_displayed(), f"#{element_id} enabled")
        element.click()

    def press(self, key: str) -> None:
        """Press one key where the focus is (a character, or a name such as 'ESCAPE' or 'DELETE')."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        ActionChains(self.driver).send_keys(getattr(Keys, key) if len(key) > 1 else key).perform()

    def view_image(self, tag: str):
        """The <img> a view's frames are drawn in (found through the view's label)."""
        script = "const label = document.getElementById(arguments[0]); return label ? label.parentElement.querySelector('img') : null;"
        return self.wait(lambda: self.driver.execute_script(script, f"view-label-{tag}"), f"the image of view {tag}")

    def view_pixels(self, tag: str) -> np.ndarray:
        """The view as the browser shows it, RGB (rows, columns, 3)."""
        from PIL import Image

        return np.asarray(Image.open(io.BytesIO(self.view_image(tag).screenshot_as_png)).convert("RGB"))


def centre_box(pixels: np.ndarray, half: int) -> np.ndarray:
    rows, columns = pixels.shape[:2]
    return pixels[rows // 2 - half: rows // 2 + half + 1, columns // 2 - half: columns // 2 + half + 1]


def colour_fraction(pixels: np.ndarray, colour: str) -> float:
    """Share of pixels whose hue is the segment colour: 'red' (microbleed) or 'green' (iron
    deposit) clearly above the other two channels, as the 2-D fill shows over grey."""
    r, g, b = (pixels[..., k].astype(int) for k in range(3))
    if colour == "red":
        match = (r > 120) & (r - g > 80) & (r - b > 80)
    else:
        match = (g > 120) & (g - r > 80) & (g - b > 80)
    return float(match.mean())


def is_blank(pixels: np.ndarray) -> bool:
    """True while a view shows nothing but its background."""
    return float(pixels.std()) < 2.0


def save_png(pixels_or_png, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(pixels_or_png, bytes):
        path.write_bytes(pixels_or_png)
    else:
        from PIL import Image

        Image.fromarray(pixels_or_png).save(path)
    return path
