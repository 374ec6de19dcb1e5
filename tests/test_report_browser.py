"""The quick config's report in a headless Chromium, offline: it loads and every figure shows.

Needs Selenium (the dev extra) and a system Chromium with its driver
(``apt-get install -y chromium chromium-driver``); skipped when either is missing. Selenium
never downloads a browser or driver here: both are taken from PATH.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from PIL import Image

from seglab.run.reports import render_report

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
INSTALL = "apt-get install -y chromium chromium-driver; pip install -e '.[dev]'"
#: Browser binaries tried in turn.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Chromium flags: headless, and no way out to the network (the report must open offline).
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # needed when running as root (containers, CI)
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--window-size=1280,1000",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
#: Notebook outputs that must never reach a report: stderr, errors and their tracebacks.
ERROR_OUTPUTS = (
    '[data-mime-type="application/vnd.jupyter.stderr"], .output_stderr, .output_error, '
    ".jp-OutputArea-output.jp-mod-error"
)
IMAGES = """
return Array.from(document.images, (img, i) => {
  const box = img.getBoundingClientRect();
  return {
    index: i, complete: img.complete, naturalWidth: img.naturalWidth, alt: img.alt,
    width: box.width, height: box.height,
    visible: img.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}),
  };
});
"""


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium driven by Selenium, with the network switched off."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip(f"Selenium is not installed; to enable the browser test: {INSTALL}")
    binary = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    missing = [what for what, path in (("chromium", binary), ("chromedriver", driver)) if not path]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not found on PATH; to enable: {INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    try:
        chrome.set_network_conditions(
            offline=True, latency=0, download_throughput=0, upload_throughput=0
        )
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="module")
def quick_report(browser, tmp_path_factory) -> Path:
    """The report of configs/quick.yaml, its data and cache generated inside a temporary folder."""
    folder = tmp_path_factory.mktemp("quick")
    raw = yaml.safe_load((ROOT / "configs" / "quick.yaml").read_text())
    raw["data"]["transactions"] = "data/transactions.parquet"
    raw["data"]["customers"] = "data/customers.parquet"
    raw["cache_dir"] = "cache"
    config = folder / "quick.yaml"
    config.write_text(yaml.safe_dump(raw))
    return render_report(config, out_root=folder / "reports") / "report.html"


def problems(browser, report: Path) -> list[str]:
    """What is wrong with `report` as Chromium shows it; empty when it is fine."""
    found = []
    browser.get(report.resolve().as_uri())
    state = browser.execute_script("return document.readyState")
    if state != "complete" or not browser.title:
        found.append(f"the page did not load (readyState {state!r}, title {browser.title!r})")
    images = browser.execute_script(IMAGES)
    notebook = json.loads((report.parent / "10-report.ipynb").read_text())
    figures = sum(
        "image/png" in output.get("data", {})
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
    )
    if len(images) != figures or figures < 2:
        found.append(f"{len(images)} <img> on the page for {figures} figures in the notebook")
    for img in images:
        if not (img["complete"] and img["naturalWidth"] > 0):
            found.append(f"image {img['index']} is broken (naturalWidth {img['naturalWidth']})")
        elif not (img["visible"] and img["width"] > 0 and img["height"] > 0):
            found.append(f"image {img['index']} is hidden ({img['width']}x{img['height']})")
    for text in browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText)",
        ERROR_OUTPUTS,
    ):
        found.append(f"an error or stderr output is shown: {text.strip()[:300]!r}")
    body = browser.execute_script("return document.body.innerText")
    if "Traceback (most recent call last)" in body:
        found.append("a Python traceback is shown")
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    found += [f"the page fetched {url}" for url in fetched if re.match(r"https?:", url)]
    found += [
        f"browser console: {entry['message']}"
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE"
    ]
    return found


def full_page_png(browser, path: Path) -> tuple[int, int]:
    """Save a screenshot of the whole page (not only the window) to `path`; its CSS size."""
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    width, height = size["width"], size["height"]
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return round(width), round(height)


def test_quick_report_shows_every_figure_offline(browser, quick_report: Path, tmp_path: Path):
    assert problems(browser, quick_report) == []

    screenshot = tmp_path / "report.png"
    width, height = full_page_png(browser, screenshot)
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(screenshot.read_bytes())).convert("RGB")
    assert image.size == (width, height) and height > 2000, image.size
    # Not blank: many colours, and a good share of pixels differ from the background.
    colours = image.getcolors(maxcolors=width * height)
    assert len(colours) > 100, f"{len(colours)} colours in {screenshot}"
    background = max(colours)[1]
    inked = sum(count for count, colour in colours if colour != background)
    assert inked > 0.05 * width * height, f"only {inked} non-background pixels in {screenshot}"


def test_a_broken_figure_or_a_traceback_is_caught(browser, quick_report: Path, tmp_path: Path):
    # The check above must bite: drop one figure's data and show a traceback in a copy.
    shutil.copy(quick_report.parent / "10-report.ipynb", tmp_path)
    html = quick_report.read_text()
    html = re.sub(r'(src="data:image/png;base64,)[^"]*', r"\1", html, count=1)
    traceback = (
        '<div class="jp-RenderedText jp-OutputArea-output" '
        'data-mime-type="application/vnd.jupyter.stderr"><pre>'
        "Traceback (most recent call last):\nValueError: boom</pre></div>"
    )
    html = html.replace("</body>", traceback + "</body>", 1)
    (tmp_path / "report.html").write_text(html)
    found = problems(browser, tmp_path / "report.html")
    assert any(p.startswith("image 0 is broken") for p in found), found
    assert any("ValueError: boom" in p for p in found), found
    assert "a Python traceback is shown" in found
