"""Check built pages in a real headless browser: each renders, and every image on it loaded.

For each page, Chromium (headless) takes a screenshot of the page as built, and loads a copy
of the page (in the same folder, so every relative link resolves the same way) with a small
script appended that, once the page has loaded, writes each ``<img>``'s ``naturalWidth`` into
the document. ``--dump-dom`` prints the document after that script ran, so an image that did
not load (naturalWidth 0) is a failure, as is a page without images or without its heading.

Run (after ``make -C docs html``)::

    python docs/scripts/browser_check.py [--html docs/_build/html] [--out docs/_build/screenshots]

Needs Chromium (Debian: ``apt-get install -y chromium``). Prints one line per page and the
screenshots' paths; exit status 1 if a check failed.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent

#: (page, a text its main heading must contain, least number of images that must load)
PAGES = [
    ("index.html", "scratchlin", 1),
    ("api/generated/scratchlin.LinearClassifier.html", "LinearClassifier", 0),
    ("auto_examples/train_mnist.html", "Train, evaluate", 3),
    ("auto_examples/compare_with_sklearn.html", "LogisticRegression", 1),
    ("auto_examples/seed_walkthrough.html", "The seed notebook", 0),
]

REPORT_SCRIPT = """
<script>
window.addEventListener("load", function () {
  var images = Array.prototype.map.call(document.images, function (img) {
    return {src: img.getAttribute("src"), width: img.naturalWidth, complete: img.complete};
  });
  var h1 = document.querySelector("h1");
  var report = document.createElement("pre");
  report.id = "scratchlin-browser-check";
  report.textContent = JSON.stringify({images: images, h1: h1 ? h1.textContent : null});
  document.body.appendChild(report);
});
</script>
"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("browser check: no Chromium found (apt-get install -y chromium)")


def run_browser(*arguments: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="scratchlin-chromium-")
    try:
        return subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--hide-scrollbars",
             "--virtual-time-budget=10000", *arguments],
            capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def image_report(page: Path) -> dict:
    """The page's images and heading as the browser saw them after loading."""
    probe = page.with_name(f"_browser_check_{page.name}")
    probe.write_text(page.read_text().replace("</body>", REPORT_SCRIPT + "</body>"))
    try:
        result = run_browser("--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    match = re.search(r'<pre id="scratchlin-browser-check"[^>]*>(.*?)</pre>', result.stdout, re.S)
    if not match:
        raise RuntimeError(f"{page}: the browser did not finish loading the page:\n{result.stderr[-2000:]}")
    text = match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return json.loads(text)


def screenshot(page: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    run_browser(f"--screenshot={target}", "--window-size=1280,2000", page.as_uri())
    if not target.is_file() or target.stat().st_size < 10_000:
        raise RuntimeError(f"{page}: no screenshot written to {target}")
    return target


def check_page(html: Path, relative: str, heading: str, least_images: int, out: Path) -> list:
    """Failures of one page (empty when it passed)."""
    page = html / relative
    if not page.is_file():
        return [f"{relative}: not built"]
    report = image_report(page)
    failures = []
    if not report["h1"] or heading not in report["h1"]:
        failures.append(f"{relative}: heading {report['h1']!r} does not contain {heading!r}")
    broken = [image["src"] for image in report["images"] if image["width"] == 0]
    if broken:
        failures.append(f"{relative}: images that did not load: {broken}")
    loaded = len(report["images"]) - len(broken)
    if loaded < least_images:
        failures.append(f"{relative}: {loaded} images loaded, expected at least {least_images}")
    if relative.startswith("auto_examples/"):
        notebook = re.search(r'href="([^"]+\.ipynb)"', page.read_text())
        if not notebook or not (page.parent / notebook.group(1)).is_file():
            failures.append(f"{relative}: no downloadable notebook")
    shot = screenshot(page, out / (relative.replace("/", "_").removesuffix(".html") + ".png"))
    print(f"{'ok' if not failures else 'FAILED'}  {relative}: heading {report['h1']!r}, "
          f"{loaded} images loaded, {len(broken)} broken; screenshot {shot}")
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Check built pages in headless Chromium.")
    parser.add_argument("--html", type=Path, default=DOCS / "_build" / "html",
                        help="the built site (default: docs/_build/html)")
    parser.add_argument("--out", type=Path, default=DOCS / "_build" / "screenshots",
                        help="folder for the screenshots (default: docs/_build/screenshots)")
    args = parser.parse_args(argv)
    failures = []
    for relative, heading, least_images in PAGES:
        failures += check_page(args.html.resolve(), relative, heading, least_images, args.out.resolve())
    for failure in failures:
        print(f"browser check: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
