"""The README stays a front page (what it is, the two commands, the layout, links) and every link in
it and in docs/ leads somewhere."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_is_a_front_page():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert len(readme.encode()) <= 8 * 1024
    assert "make demo" in readme and "make test" in readme and "## Layout" in readme


def test_every_relative_link_resolves():
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text("utf-8")):
            if not target.startswith(("http://", "https://", "mailto:")) and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken
    linked = set(re.findall(r"\]\(docs/([^)#]+)\)", (ROOT / "README.md").read_text("utf-8")))
    assert linked == {p.name for p in PAGES[1:]}, "every page of docs/ is linked from the README"
