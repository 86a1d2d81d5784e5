"""The report site in a real browser: headless Chromium opens it from disk with no network.

It builds the site from a small fixture, follows every link of the index, and checks that each page
loads, that no image is broken, that formulas are typeset by the local MathJax (no raw ``$...$``
left), that nothing was requested from the network, and that the leaderboard has one row per model and fits
a laptop screen. Screenshots of the index and of the leaderboard are saved beside the fixture
(``site_index.png``, ``site_leaderboard.png``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from _site_fixture import FORMULA, MODELS, make_reports

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
LAPTOP = {"width": 1366, "height": 768}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
RAW_MATH = re.compile(r"\$[^$\s][^$]{0,200}\$")
PROSE = "() => Array.from(document.querySelectorAll('.jp-RenderedMarkdown')).map(e => e.innerText).join('\\n')"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists() or shutil.which("chromium") is None,
                                reason="no Chromium at /usr/bin/chromium (make setup installs Debian's chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from recsys_study.site import build_site

    root = tmp_path_factory.mktemp("site")
    return build_site(make_reports(root))


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements.lock: make setup")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def _open(browser, url: str):
    page = browser.new_page()
    remote, failed = [], []
    page.on("request", lambda r: remote.append(r.url) if urlparse(r.url).scheme in ("http", "https") else None)
    page.on("requestfailed", lambda r: failed.append(r.url))
    response = page.goto(url)
    page.wait_for_load_state("load")
    return page, response, remote, failed


def _broken_images(page) -> list[str]:
    return page.evaluate("""() => Array.from(document.images)
        .filter(img => !img.complete || img.naturalWidth === 0).map(img => img.src.slice(0, 80))""")


def _links(page) -> list[str]:
    return page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href.split('#')[0])")


def _crawl(browser, index: Path, shot: Path) -> tuple[set[str], int]:
    """Open ``index`` and every page and file reachable from it inside the site; check each page.

    Returns the URLs seen and how many notebook pages had their formulas typeset.
    """
    page, _, remote, failed = _open(browser, index.as_uri())
    page.screenshot(path=str(shot), full_page=True)
    assert _broken_images(page) == []
    page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0", timeout=20000)
    assert not RAW_MATH.search(page.evaluate("() => document.body.innerText"))  # the questions' formulas
    todo, seen = _links(page), {index.as_uri()}
    page.close()
    typeset = 0
    while todo:  # every page reachable from the index, and every file they link to
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        path = Path(unquote(urlparse(url).path))
        assert path.exists(), f"dead link {url}"
        if path.suffix != ".html":
            continue
        page, response, remote, failed = _open(browser, url)
        assert response is None or response.ok, url
        if "/notebooks/" in url and page.query_selector("script[src*='MathJax.js']"):
            page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0",
                                   timeout=30000)
            text = page.evaluate(PROSE)  # markdown cells and Markdown outputs: code and text outputs keep their $
            assert not RAW_MATH.search(text), f"{url}: raw formula {RAW_MATH.search(text).group(0)!r}"
            typeset += len(page.query_selector_all(".MathJax, .MathJax_Display")) > 0
        assert _broken_images(page) == [], url
        assert remote == [], f"{url} asked the network for {remote}"
        assert [f for f in failed if not f.startswith("about:")] == [], url
        if path.is_relative_to(index.parent) and "/api/" not in url:
            todo += _links(page)
        page.close()
    return seen, typeset


def test_every_page_from_the_index_loads_offline_with_images_and_typeset_formulas(site, browser):
    seen, typeset = _crawl(browser, site, site.parent.parent.parent / "site_index.png")
    page, *_ = _open(browser, site.as_uri())
    assert len(page.query_selector_all(".card img")) == 1  # the study's key figure
    page.close()
    kinds = {Path(urlparse(u).path).suffix for u in seen}
    assert {".html", ".ipynb", ".csv"} <= kinds, sorted(seen)  # pages, notebooks, MLflow artifacts
    assert typeset == 1
    names = {Path(urlparse(u).path).name for u in seen}
    assert {"leaderboard.html", "benchmarks.html", "index.html"} <= names
    notebook = next(u for u in seen if "/notebooks/" in u)
    page, *_ = _open(browser, notebook)
    page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0", timeout=20000)
    assert FORMULA not in page.evaluate("() => document.body.innerText")
    assert len(page.query_selector_all(".MathJax, .MathJax_Display")) >= 2  # inline + display
    page.close()


def test_the_project_site_when_built_loads_offline_too(browser, tmp_path):
    index = ROOT / "reports" / "site" / "index.html"
    if not index.exists():
        pytest.skip("no reports/site/index.html here (make run builds it)")
    manifests = list((ROOT / "reports" / "runs").glob("*/results.json"))
    seen, _ = _crawl(browser, index, tmp_path / "project_site_index.png")
    assert bool(manifests) <= any("/notebooks/" in u for u in seen)  # studies that ran are on the site


def test_leaderboard_has_one_row_per_model(site, browser):
    page, *_ = _open(browser, (site.parent / "leaderboard.html").as_uri())
    rows = page.evaluate("() => Array.from(document.querySelectorAll('#leaderboard tr.model td:first-child'))"
                         ".map(td => td.innerText)")
    assert sorted(rows) == sorted(MODELS)
    page.close()


def test_leaderboard_leads_with_its_figure_above_the_fold_and_its_table_fits_a_laptop_screen(site, browser):
    page = browser.new_page(viewport=LAPTOP)
    page.goto((site.parent / "leaderboard.html").as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(site.parent.parent.parent / "site_leaderboard.png"))
    figure = page.evaluate("""() => { const img = document.getElementById('leaderboard-figure');
        const r = img.getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, natural: img.naturalWidth}; }""")
    assert figure["natural"] > 0 and figure["top"] >= 0 and figure["bottom"] <= LAPTOP["height"], figure
    assert figure["right"] - figure["left"] > LAPTOP["width"] / 2, figure  # seen at a glance, not a thumbnail
    fits = page.evaluate("""() => { const t = document.getElementById('leaderboard').getBoundingClientRect();
        return {table: t.right, body: document.body.getBoundingClientRect().right,
                scroll: document.documentElement.scrollWidth, width: document.documentElement.clientWidth}; }""")
    assert fits["table"] <= fits["body"] + 1 and fits["scroll"] <= fits["width"], fits  # no horizontal overflow
    assert page.evaluate("() => document.querySelector('details').open") is False  # the other metrics, one click away
    page.close()
