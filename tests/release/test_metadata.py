"""Release metadata that must agree before a build: versions, changelog and tested floors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import wagtail_bgcut

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_package_and_pyproject_agree_on_the_version():
    assert PROJECT["version"] == wagtail_bgcut.__version__


def test_changelog_has_the_released_version_and_an_unreleased_section():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert re.search(rf"^## \[{re.escape(PROJECT['version'])}\]", changelog, flags=re.MULTILINE)


def test_floors_file_pins_the_floor_pyproject_declares():
    """.ci/floors.txt is what the Wagtail 7.4 pass installs: it must be the declared floors."""
    floors = dict(
        re.findall(r"^([A-Za-z0-9_.-]+)==([0-9.]+)$", (ROOT / ".ci/floors.txt").read_text(), re.M)
    )
    assert floors, "no pinned floors in .ci/floors.txt"
    declared = {}
    for requirement in PROJECT["dependencies"]:
        match = re.match(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement)
        declared[match.group(1).lower()] = match.group(2)
    for name, pinned in floors.items():
        floor = declared[name.lower()]
        assert pinned.split(".")[: len(floor.split("."))] == floor.split("."), (name, floor, pinned)
    assert set(declared) - {"django", "wagtail"} == {n.lower() for n in floors}
