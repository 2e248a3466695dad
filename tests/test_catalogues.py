"""Every user-facing string is translated: Spanish and English catalogues are complete.

The check regenerates the catalogues from the current sources in a scratch copy (so a new
string that nobody ran makemessages for is caught too) and fails on any empty or fuzzy
entry, naming them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib  # type: ignore[import-untyped]
import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ["governance", "assemblies", "rotation", "production", "programmes", "economy"]
SKIP = {
    ".venv",
    ".git",
    "staticfiles",
    "media",
    "node_modules",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "bench",
    "tests",
}


def _regenerate(tmp: Path) -> list[Path]:
    shutil.copytree(
        ROOT,
        tmp,
        ignore=lambda d, names: [n for n in names if n in SKIP or n.endswith((".sqlite3", ".mo"))],
    )
    manage = str(tmp / "manage.py")
    base = [
        sys.executable,
        manage,
        "makemessages",
        "-l",
        "es",
        "-l",
        "en",
        "--no-obsolete",
        "--no-location",
    ]
    root_ignores = [f"--ignore={a}/*" for a in APPS] + ["--ignore=tests/*", "--ignore=bench/*"]
    subprocess.run(base + root_ignores, cwd=tmp, check=True, capture_output=True)
    for app in APPS:
        if (tmp / app / "locale").is_dir():
            subprocess.run(base, cwd=tmp / app, check=True, capture_output=True)
    return sorted(tmp.glob("**/locale/*/LC_MESSAGES/django.po"))


@pytest.fixture(scope="module")
def catalogues(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _regenerate(tmp_path_factory.mktemp("catalogues") / "src")


def test_spanish_and_english_catalogues_exist_for_every_app_with_strings(catalogues):
    langs = {(p.parts[-5], p.parts[-3]) for p in catalogues}
    for app in ["root", *APPS]:
        where = "src" if app == "root" else app
        assert (where, "es") in langs, f"no Spanish catalogue for {app}"
        assert (where, "en") in langs, f"no English catalogue for {app}"


def test_every_message_is_translated(catalogues):
    missing = []
    for path in catalogues:
        for entry in polib.pofile(str(path)):
            if entry.obsolete:
                continue
            if entry.msgid_plural:
                empty = not all(entry.msgstr_plural.values())
            else:
                empty = not entry.msgstr
            if empty or "fuzzy" in entry.flags:
                missing.append(f"{path.parts[-5]}/{path.parts[-3]}: {entry.msgid[:70]!r}")
    assert not missing, f"{len(missing)} untranslated messages:\n" + "\n".join(missing[:60])
