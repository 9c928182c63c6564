"""The pictures in README.md and docs/*.md exist, and each one of docs/img is still made by
a `screenshot(page, "name")` call in the tests `make screenshots` runs (read from the
Makefile), so making them again cannot silently leave one stale or missing; together
they stay under 1.5 MB."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Pictures made some other way: the real window under Xvfb (tests/test_desktop.py's check).
NOT_FROM_THE_BROWSER = {"window"}


def referenced():
    """{(document, picture path)} for every image the docs show."""
    out = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", doc.read_text("utf-8")):
            out.add((doc, (doc.parent / target).resolve()))
    return out


def shot_tests():
    """The test files the Makefile's screenshots target runs."""
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert re.search(r"^screenshots:", makefile, re.M), "the Makefile has no screenshots target"
    files = re.search(r"^SHOT_TESTS\s*:?=\s*(.+)$", makefile, re.M).group(1).split()
    recipe = makefile[makefile.index("\nscreenshots:"):].split("\n\n")[0]
    assert "LARDER_SCREENSHOTS=docs/img" in recipe and "$(SHOT_TESTS)" in recipe, recipe
    return [ROOT / name for name in files]


def test_every_picture_the_docs_show_exists():
    pictures = referenced()
    assert any(doc.name == "README.md" for doc, _ in pictures)
    missing = [f"{doc.relative_to(ROOT)}: {path}" for doc, path in pictures if not path.is_file()]
    assert not missing, missing
    for _, path in pictures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def test_each_browser_picture_is_made_by_the_screenshot_tests():
    made = set()
    for path in shot_tests():
        # screenshot(page, "name", ...) or test_screenshots' shot(desk, path, "name")
        made |= set(re.findall(r'(?:screenshot\(\s*page|shot\(\s*desk,\s*[^,]+),\s*"([\w-]+)"',
                               path.read_text("utf-8")))
    shown = {path.stem for _, path in referenced()
             if path.parent == ROOT / "docs" / "img"} - NOT_FROM_THE_BROWSER
    assert shown, "the docs show no picture of docs/img"
    assert not shown - made, f"shown but made by no test `make screenshots` runs: {shown - made}"
    on_disk = {p.stem for p in (ROOT / "docs" / "img").glob("*.png")} - NOT_FROM_THE_BROWSER
    assert not made - on_disk, f"made by the tests but not committed: {made - on_disk}"
    assert not on_disk - shown, f"committed but shown nowhere: {on_disk - shown}"


def test_the_pictures_stay_small():
    total = sum(p.stat().st_size for p in (ROOT / "docs" / "img").glob("*.png"))
    assert total < 1_500_000, f"docs/img holds {total:,} bytes of pictures"
