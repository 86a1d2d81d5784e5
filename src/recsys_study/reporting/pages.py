"""Pages from the Jinja2 templates of ``templates/`` (every value autoescaped), and Markdown as HTML."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup

from recsys_study.reporting.files import atomic_write
from recsys_study.reporting.layout import MATHJAX
from recsys_study.reporting.render import MATHJAX_CONFIG

TEMPLATES = Path(__file__).parent / "templates"


def markdown_html(text: str, *, inline: bool = False) -> Markup:
    """Return CommonMark ``text`` (tables too) as HTML; raw HTML in it is escaped, not passed on."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return Markup(md.renderInline(text) if inline else md.render(text))


def relative(target: Path, page: Path) -> str:
    """Return the URL of ``target`` relative to the folder of ``page`` (both on disk)."""
    return quote(Path(os.path.relpath(target, page.parent)).as_posix())


@lru_cache(maxsize=1)
def environment():
    """Return the Jinja2 environment of the report templates: autoescaped, strict about undefined names."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["markdown"] = markdown_html
    env.filters["inline_markdown"] = lambda text: markdown_html(text, inline=True)
    return env


def render_page(template: str, **context) -> str:
    """Return the text of ``templates/<template>`` filled with ``context``."""
    return environment().get_template(template).render(**context)


# the site's pages in its navigation bar, by their path inside the site
NAV = (("index.html", "Studies"), ("leaderboard.html", "Leaderboard"), ("benchmarks.html", "Benchmarks"),
       ("mlflow/index.html", "MLflow runs"), ("api/recsys_study.html", "API reference"))


@dataclass
class SitePages:
    """Writes the pages of one site: each with the navigation bar of the pages in ``present`` (``NAV`` paths)."""

    root: Path
    present: set[str] = field(default_factory=set)

    def write(self, template: str, page: Path, title: str, *, math: bool = False, **context) -> Path:
        """Write ``page`` from ``template`` with ``context``; ``math``: formulas typeset by the local MathJax."""
        nav = [(relative(self.root / href, page), text) for href, text in NAV if href in self.present]
        mathjax = f"{relative(self.root / MATHJAX / 'MathJax.js', page)}?config={MATHJAX_CONFIG}" if math else ""
        text = render_page(template, title=title, nav=nav, mathjax=mathjax,
                           rel=lambda target: relative(Path(target), page), **context)
        return atomic_write(page, text)
