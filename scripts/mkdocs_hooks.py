"""MkDocs hook for the API reference: the docstrings cross-reference in Sphinx's style.

They write ``:class:`CutoutResult``` (as Django and Wagtail do); mkdocstrings renders the code span
but leaves the role's name in front of it. This drops the role so the page reads
"a ``CutoutResult``" rather than "a :class:``CutoutResult``".
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):(?=<code)")


def on_page_content(html: str, **kwargs: object) -> str:
    return _ROLE.sub("", html)
