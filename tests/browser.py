"""A real browser for the HTML reports: Debian's headless Chromium driven through its
chromedriver with Selenium, every network request it makes logged (Chrome's
performance log: the DevTools Protocol's Network events).

Needs the Debian packages `chromium` and `chromium-driver` (KIT_CHROMIUM /
KIT_CHROMEDRIVER name other binaries) and `selenium` (the `test` extra). Without them
the tests skip with a how-to, except when KIT_REQUIRE_DOCKER=1 (CI), where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.require import unavailable

CHROMIUM = os.environ.get("KIT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KIT_CHROMEDRIVER", "/usr/bin/chromedriver")
HOW_TO = "apt-get install chromium chromium-driver; pip install 'wandb-local-kit[test]'"
# Headless in a container as root; nothing in the background that would make requests of
# its own (updates, sync, field trials) and so blur "the page fetched nothing".
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
]
REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
DOCS_HEIGHT_PX = 1400


@dataclass
class Page:
    """What the browser saw: the requests it made, and the page to query."""

    driver: object
    requests: list[str] = field(default_factory=list)

    def js(self, script: str):
        return self.driver.execute_script(script)

    def images(self) -> list[dict]:
        """Every <img>: its size as the browser read it, and whether its picture decoded
        to the last row. A size alone comes from the header of a broken file, and Chrome
        shows a cut-off PNG as far as it goes; the report's pictures are all opaque, so
        a transparent last row means the picture did not decode whole."""
        return self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "const imgs = Array.from(document.images);"
            "Promise.allSettled(imgs.map(i => i.decode())).then(rs => done(imgs.map("
            "(i, n) => { let whole = false;"
            " if (rs[n].status === 'fulfilled' && i.naturalWidth > 0) {"
            "  const c = document.createElement('canvas');"
            "  c.width = i.naturalWidth; c.height = i.naturalHeight;"
            "  const g = c.getContext('2d'); g.drawImage(i, 0, 0);"
            "  const row = g.getImageData(0, c.height - 1, c.width, 1).data;"
            "  whole = true;"
            "  for (let k = 3; k < row.length; k += 4) if (row[k] !== 255) whole = false;"
            " }"
            " return {alt: i.alt, complete: i.complete, width: i.naturalWidth,"
            "         decoded: whole}; })))"
        )

    def cards(self) -> dict[str, dict]:
        """Each check's section: its status and its text."""
        rows = self.js(
            "return Array.from(document.querySelectorAll('section.card')).map(s => "
            "({check: s.dataset.check, status: s.dataset.status, text: s.innerText}))"
        )
        return {r["check"]: r for r in rows}

    def screenshot(self, path: Path) -> Path:
        """The whole page (the window grown to its height), as PNG."""
        height = min(int(self.js("return document.documentElement.scrollHeight")), 12000)
        self.driver.set_window_size(1280, max(900, height))
        self.driver.save_screenshot(str(path))
        return path


def _require() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if missing:
        message = f"no browser for the report test ({', '.join(missing)} missing): {HOW_TO}"
        unavailable(message)


@contextmanager
def chromium(profile_dir: Path):
    """A fresh headless Chromium (its own --user-data-dir) with network logging on."""
    _require()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # Both binaries are given: Selenium Manager has nothing to look up or download.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def open_report(driver, path: Path) -> Page:
    """Loads the file and waits until it and every image in it are done; returns the
    page with every URL the browser requested meanwhile."""
    from selenium.webdriver.support.ui import WebDriverWait

    # Start from a blank page and drop what the browser did before (its new-tab page
    # loads chrome:// resources); from here on every request is this page's.
    driver.get("about:blank")
    driver.get_log("performance")
    driver.get(Path(path).resolve().as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && "
            "Array.from(document.images).every(i => i.complete)"
        )
    )
    page = Page(driver)
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            page.requests.append(message["params"]["request"]["url"])
    return page


def remote(urls: list[str]) -> list[str]:
    """The requests that left the page: anything but the file itself and data: URIs
    (shortened for messages)."""
    return [u[:120] for u in urls if not (u.startswith("file:") or u.startswith("data:"))]


def keep_screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    """Saves the screenshot with the test's output (KIT_TEST_OUTPUT, else the test's tmp
    dir); with KIT_UPDATE_DOCS=1 also as docs/<name> (a picture of docs/smoke.md)."""
    out = Path(os.environ.get("KIT_TEST_OUTPUT") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    shot = page.screenshot(out / name)
    _to_docs(shot, name)
    return shot


def _to_docs(shot: Path, name: str) -> None:
    """With KIT_UPDATE_DOCS=1, the top of a screenshot (what a docs page can show) as
    docs/<name>."""
    if os.environ.get("KIT_UPDATE_DOCS") != "1":
        return
    from PIL import Image

    DOCS.mkdir(exist_ok=True)
    with Image.open(shot) as full:
        top = full.crop((0, 0, full.width, min(full.height, DOCS_HEIGHT_PX)))
        top.save(DOCS / name, optimize=True)


def assert_self_contained(page) -> None:
    assert page.requests, "the browser logged no request at all: network logging is broken"
    assert remote(page.requests) == [], (
        f"the page fetched from the network: {remote(page.requests)}"
    )
    images = page.images()
    assert images, "no pictures on the page"
    undecoded = [i["alt"] for i in images if not (i["complete"] and i["width"] and i["decoded"])]
    assert undecoded == [], f"images the browser could not decode: {undecoded}"


def keep_element_screenshot(page: Page, css: str, tmp_path: Path, name: str) -> Path:
    """One section of the page (a check's card, found by `css`) as PNG, kept as
    keep_screenshot keeps the whole page; with KIT_UPDATE_DOCS=1 also as docs/<name>,
    cut to DOCS_HEIGHT_PX."""
    from selenium.webdriver.common.by import By

    out = Path(os.environ.get("KIT_TEST_OUTPUT") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    shot = out / name
    page.driver.find_element(By.CSS_SELECTOR, css).screenshot(str(shot))
    _to_docs(shot, name)
    return shot
