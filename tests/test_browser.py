"""The report site in a real browser: headless Chromium opens it from disk with no network.

It builds the site from a small fixture, follows every link of the index, and checks that each page
loads, that no image is broken, that formulas are typeset by the local MathJax (no raw ``$...$``
left), that nothing was requested from the network, and that the leaderboard has one row per model.
A screenshot of the index is saved beside the fixture (``site_index.png``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from _site_fixture import FORMULA, MODELS, make_reports

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
RAW_MATH = re.compile(r"\$[^$\s][^$]{0,200}\$")

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


def test_every_page_from_the_index_loads_offline_with_images_and_typeset_formulas(site, browser):
    page, _, remote, failed = _open(browser, site.as_uri())
    page.screenshot(path=str(site.parent.parent.parent / "site_index.png"), full_page=True)
    assert _broken_images(page) == []
    assert len(page.query_selector_all(".card img")) == 1  # the study's key figure
    page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0", timeout=20000)
    assert not RAW_MATH.search(page.evaluate("() => document.body.innerText"))  # the question's $b_u$
    todo, seen = _links(page), {site.as_uri()}
    page.close()
    typeset = 0
    while todo:  # every page reachable from the index, and every file they link to
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        path = Path(urlparse(url).path)
        assert path.exists(), f"dead link {url}"
        if path.suffix != ".html":
            continue
        page, response, remote, failed = _open(browser, url)
        assert response is None or response.ok, url
        if "/notebooks/" in url:  # MathJax typesets asynchronously
            page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0"
                                   " && document.querySelectorAll('.MathJax, .MathJax_Display').length > 0",
                                   timeout=20000)
            text = page.evaluate("() => document.body.innerText")
            assert not RAW_MATH.search(text), RAW_MATH.search(text).group(0)
            assert FORMULA not in text
            assert len(page.query_selector_all(".MathJax, .MathJax_Display")) >= 2  # inline + display
            typeset += 1
        assert _broken_images(page) == [], url
        assert remote == [], f"{url} asked the network for {remote}"
        assert [f for f in failed if not f.startswith("about:")] == [], url
        if path.is_relative_to(site.parent):
            todo += _links(page)
        page.close()
    kinds = {Path(urlparse(u).path).suffix for u in seen}
    assert {".html", ".ipynb", ".csv"} <= kinds, sorted(seen)  # pages, notebooks, MLflow artifacts
    assert typeset == 1
    names = {Path(urlparse(u).path).name for u in seen}
    assert {"leaderboard.html", "benchmarks.html", "index.html"} <= names


def test_leaderboard_has_one_row_per_model(site, browser):
    page, *_ = _open(browser, (site.parent / "leaderboard.html").as_uri())
    rows = page.evaluate("() => Array.from(document.querySelectorAll('#leaderboard tr.model td:first-child'))"
                         ".map(td => td.innerText)")
    assert sorted(rows) == sorted(MODELS)
    page.close()
