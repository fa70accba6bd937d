"""The documentation site's structure, checked without MkDocs (``make test-docs`` builds it).

``mkdocs build --strict`` already refuses a page missing from the navigation; these tests say
which page in the ordinary suite, and keep the settings reference in step with ``conf.DEFAULTS``.
"""

from __future__ import annotations

import re
from pathlib import Path

from wagtail_bgcut.conf import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _nav_pages() -> set[str]:
    config = (ROOT / "mkdocs.yml").read_text()
    nav = config[config.index("\nnav:") :]
    return set(re.findall(r":\s*([\w/.-]+\.md)\s*$", nav, flags=re.MULTILINE))


def test_every_docs_page_is_in_the_navigation():
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages - _nav_pages() == set(), "add these pages to `nav` in mkdocs.yml"
    assert _nav_pages() - pages == set(), "mkdocs.yml's nav names pages that do not exist"


def test_settings_reference_lists_every_setting_and_only_real_ones():
    text = (DOCS / "settings.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", text, flags=re.MULTILINE))
    assert set(DEFAULTS) - documented == set(), "settings missing from docs/settings.md"
    assert documented - set(DEFAULTS) == set(), (
        "docs/settings.md documents settings that do not exist"
    )


def test_every_screenshot_is_shown_on_a_page():
    shown = "".join(p.read_text() for p in DOCS.rglob("*.md"))
    unused = [p.name for p in (DOCS / "images").glob("*.png") if f"images/{p.name}" not in shown]
    assert not unused, f"screenshots no page shows: {unused}"


def test_readme_works_on_the_package_index():
    """PyPI renders README.md away from the repository: relative links and images would break."""
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert targets
    relative = [t for t in targets if not t.startswith(("https://", "http://127.0.0.1"))]
    assert not relative, f"README links that break on the package index: {relative}"
    first_block = readme.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def test_no_raw_html_tags_in_the_docs_prose():
    """A placeholder such as <title> outside backticks is HTML to the browser: a stray <title>
    swallowed the rest of the admin page (every screenshot after it) in the built site."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
        text = re.sub(r"`[^`]*`", "", text)
        tags = re.findall(r"<(?!https?://)[a-zA-Z][^>\s]*(?:\s[^>]*)?>", text)
        found += [f"{page.name}: {tag}" for tag in tags]
    assert not found, f"write these in backticks: {found}"
