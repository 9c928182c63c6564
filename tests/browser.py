"""Browser tests: Playwright for Python driving the system's Chromium (Debian's
`chromium` package, installed by .ci/run) against the real app on real Waitress over
HTTP. Nothing is downloaded at test time: Playwright's own browser builds are never used.

    from browser import assert_accessible  # the fixtures: conftest's pytest_plugins

    def test_x(desk):
        page = desk.visit("/orders/new")   # checked with axe-core on the way
        ...

`desk` is a signed-in page (the owner, by the launch token, as the window signs in) on a
fresh shop (conftest's `shop`). Every request the page makes is watched: one to any host
but 127.0.0.1 is blocked and fails the test at its end, and so does a page script or
style refused by the Content-Security-Policy (an inline script, say).

Without Chromium the tests are skipped, except in CI (CI=true), where that is a failure.
"""
import hashlib
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import TOKEN

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
BLOCKING = ("critical", "serious")  # axe impacts that fail a test
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path():
    """The system's Chromium: LARDER_CHROMIUM, or the first of CHROMIUM_NAMES on PATH."""
    path = os.environ.get("LARDER_CHROMIUM") or next(
        filter(None, (shutil.which(name) for name in CHROMIUM_NAMES)), None)
    if path is None:
        why = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{why}: .ci/run installs it")
        pytest.skip(why)
    return path


# Chromium draws date pickers in its own UI language, not the context's locale: headless,
# that is the environment's LANG (with Debian's chromium-l10n installed: .ci/run). The
# browser starts in the test shop's (conftest: en_GB), as the window starts in the shop's
# (desktop/shop_locale.py), so the pictures show 30/11/2026 in pickers and pages alike.
TEST_SHOP_LANG = "en-GB"
TEST_SHOP_ENV = {"LANG": "en_GB.UTF-8", "LANGUAGE": "en_GB"}


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (starting it is the slow part)."""
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("playwright is required in CI (requirements-dev.txt)")
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256, "axe.min.js changed"
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        chromium = playwright.chromium.launch(executable_path=path, headless=True,
                                              args=["--no-sandbox", f"--lang={TEST_SHOP_LANG}"],
                                              env={**os.environ, **TEST_SHOP_ENV})
        yield chromium
        chromium.close()


class Desk:
    """A signed-in browser page on the live server, with what it saw."""

    def __init__(self, context, page, base):
        self.context, self.page, self.base = context, page, base
        self.off_host = []       # URLs of requests that tried to leave 127.0.0.1
        self.problems = []       # CSP refusals (console) and uncaught script errors

    def visit(self, path, check=True):
        """Open `path`; with check, fail on axe-core's critical or serious findings."""
        response = self.page.goto(self.base + path)
        assert response is not None and response.status < 400, (path, response and
                                                                 response.status)
        if check:
            assert_accessible(self.page)
        return self.page

    def assert_clean(self):
        assert not self.off_host, f"requests left 127.0.0.1: {self.off_host}"
        assert not self.problems, f"page problems: {self.problems}"


@pytest.fixture
def desk(browser, live_server, shop):
    from webapp import settings

    base = live_server.url
    with shop.app_context():
        locale = settings.get("locale").replace("_", "-")
    # The browser in the shop's language, as the window is (desktop/shop_locale.py): date
    # pickers in the screenshots read like the pages' dates (en_GB: 30/11/2026).
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800},
                                  locale=locale)
    desk = None

    def only_local(route):
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            desk.off_host.append(route.request.url)
            route.abort("blockedbyclient")

    context.route("**/*", only_local)
    # The vendored axe-core in every page, before the page's own scripts. DevTools
    # injects it, so the page's CSP (script-src 'self') is not loosened for the test.
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    desk = Desk(context, page, base)
    page.on("console", lambda msg: "Content Security Policy" in msg.text
            and desk.problems.append(msg.text))
    page.on("pageerror", lambda exc: desk.problems.append(f"script error: {exc}"))
    page.set_default_timeout(10_000)
    page.goto(f"{base}/?token={TOKEN}")  # signs in (a session cookie), as the window does
    yield desk
    try:
        desk.assert_clean()
    finally:
        context.close()


def screenshot(page, name, full_page=True):
    """With LARDER_SCREENSHOTS=DIR, save the page as DIR/NAME.png (the docs' pictures
    are made by the tests that check the page: `make screenshots`); otherwise nothing.
    The picture is cut to 256 colours (Pillow, which reportlab brings): flat colours and
    text stay sharp at a quarter of the size."""
    folder = os.environ.get("LARDER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        path = Path(folder, f"{name}.png")
        page.screenshot(path=str(path), full_page=full_page, animations="disabled",
                        caret="hide")
        shrink_png(path)


def shrink_png(path):
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def assert_accessible(page, context=None):
    """Run axe-core on the page; fail on any violation of impact critical or serious,
    listing each rule, its help text and the elements concerned."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # A page opened outside `desk`: evaluated through DevTools (a <script> tag
        # would be refused by the CSP).
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        "async (ctx) => await axe.run(ctx || document, {resultTypes: ['violations']})",
        context)
    bad = [v for v in results["violations"] if v.get("impact") in BLOCKING]
    lines = [f"{v['impact']}: {v['id']}: {v['help']} ({v['helpUrl']})\n    "
             + "\n    ".join(" ".join(n["target"]) + ": " + n.get("failureSummary", "")
                             .replace("\n", " ") for n in v["nodes"][:5])
             for v in bad]
    assert not bad, f"axe-core on {page.url}:\n" + "\n".join(lines)
