"""The translation catalogs under wagtail_bgcut/locale/ are complete and compiled.

The extraction is done again here, exactly as ``make messages`` does it (``makemessages`` on a copy
of the package), and compared with the committed catalogs through GNU gettext's own ``msgcmp``
with fuzzy matching off: a user-facing string added or changed without refreshing the catalog (and
translating it) fails, and so does a committed ``.mo`` that is older than its ``.po``. gettext's
tools (xgettext, msgfmt, msgcmp) are needed, as for Django's ``makemessages``; without them the
tests skip, except under ``CI=true``.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "wagtail_bgcut"
LOCALE = PACKAGE / "locale"
TRANSLATIONS = ["fr"]
TOOLS = ("xgettext", "msgfmt", "msgcmp", "msgmerge")

_missing = [tool for tool in TOOLS if shutil.which(tool) is None]
if _missing and os.environ.get("CI") == "true":
    raise RuntimeError(
        f"GNU gettext tools missing under CI=true: {_missing} (apt-get install gettext)"
    )
pytestmark = pytest.mark.skipif(
    bool(_missing), reason=f"GNU gettext tools missing: {_missing} (apt-get install gettext)"
)


def _run(args: list, cwd: Path | None = None) -> subprocess.CompletedProcess:
    # makemessages needs no project: without the suite's settings it reads only the given folder.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def fresh_template(tmp_path_factory) -> Path:
    """The catalog template extracted now from a copy of the package's code and templates."""
    copy = tmp_path_factory.mktemp("extract") / "wagtail_bgcut"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    (copy / "locale").mkdir()
    done = _run(
        [sys.executable, "-m", "django", "makemessages", "-l", "en", "--keep-pot", "--no-obsolete"],
        cwd=copy,
    )
    assert done.returncode == 0, done.stderr
    return copy / "locale" / "django.pot"


def _msgcmp(definitions: Path, reference: Path, *, untranslated_count: bool) -> str:
    """Problems msgcmp reports: entries of ``reference`` that ``definitions`` lacks, by msgid."""
    flags = ["-N"] + (["--use-untranslated"] if untranslated_count else [])
    done = _run(["msgcmp", *flags, definitions, reference])
    if done.returncode == 0:
        return ""
    lines = reference.read_text().splitlines()
    found = []
    for number in re.findall(
        rf"{re.escape(str(reference))}:(\d+): this message is used", done.stderr
    ):
        # msgcmp points into the entry; show its msgid (which may span several lines).
        start = int(number) - 1
        while start > 0 and not lines[start].startswith("msgid "):
            start -= 1
        end = start + 1
        while end < len(lines) and lines[end].startswith('"'):
            end += 1
        found.append("\n".join(lines[start:end]))
    return "\n".join(found) or done.stderr


def test_fresh_extraction_finds_the_strings_users_see(fresh_template):
    # Guards the guard: if the extraction found nothing, every comparison below would pass.
    text = fresh_template.read_text()
    for msgid in ("Remove background", "No failed cut-outs.", "Missing, invalid or expired"):
        assert msgid in text


def test_source_catalog_holds_every_user_facing_string(fresh_template):
    problems = _msgcmp(LOCALE / "en/LC_MESSAGES/django.po", fresh_template, untranslated_count=True)
    assert not problems, f"run `make messages`; strings missing from the catalog:\n{problems}"


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_translation_covers_every_string_and_nothing_stale(language, fresh_template):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    missing = _msgcmp(po, fresh_template, untranslated_count=False)
    assert not missing, f"untranslated or missing in {po}:\n{missing}"
    stale = _msgcmp(fresh_template, po, untranslated_count=True)
    assert not stale, f"{po} has strings the code no longer uses (run `make messages`):\n{stale}"


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_translation_has_no_fuzzy_entries_and_matching_placeholders(language, tmp_path):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    done = _run(["msgfmt", "--check", "--statistics", "-o", tmp_path / "x.mo", po])
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"\d+ translated messages\.\n", done.stderr), done.stderr


@pytest.mark.parametrize("language", ["en", *TRANSLATIONS])
def test_compiled_catalog_matches_its_source(language, tmp_path):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    compiled = tmp_path / "django.mo"
    assert _run(["msgfmt", "-o", compiled, po]).returncode == 0
    with compiled.open("rb") as fresh, (po.with_suffix(".mo")).open("rb") as committed:
        expected = gettext.GNUTranslations(fresh)._catalog
        shipped = gettext.GNUTranslations(committed)._catalog
    assert shipped == expected, f"{po.with_suffix('.mo')} is stale: run `make messages`"
