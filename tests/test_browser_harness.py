"""The browser harness itself (tests/browser.py): the system's Chromium on the live
server, axe-core present in every page, and requests off 127.0.0.1 caught."""
import pytest

from browser import assert_accessible  # the fixtures (browser, desk): conftest.py


def test_signed_in_page_has_axe_and_passes(desk):
    page = desk.visit("/products/", check=False)
    assert page.evaluate("typeof window.axe.run") == "function"
    assert "Product 000" in page.content()
    assert_accessible(page, "main h1")  # the products page as a whole is the design work


def test_request_off_localhost_is_caught(desk):
    page = desk.visit("/", check=False)
    with pytest.raises(Exception):  # aborted by the route before any network use
        page.goto("http://shop.example.invalid/logo.png")
    assert desk.off_host == ["http://shop.example.invalid/logo.png"]
    with pytest.raises(AssertionError, match="left 127.0.0.1"):
        desk.assert_clean()
    desk.off_host.clear()


def test_serious_violation_fails(desk):
    page = desk.visit("/", check=False)
    # An image without a text alternative is a "critical" axe finding.
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', "
                  "'<img src=\"/static/larder.svg\">')")
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)


def test_inline_script_refused_by_the_csp_is_caught(desk):
    page = desk.visit("/", check=False)
    page.evaluate("() => { const s = document.createElement('script');"
                  " s.textContent = 'window.ran = 1'; document.body.appendChild(s); }")
    page.wait_for_function("() => true")
    assert page.evaluate("() => window.ran") is None  # the CSP held
    assert any("Content Security Policy" in p for p in desk.problems), desk.problems
    with pytest.raises(AssertionError, match="page problems"):
        desk.assert_clean()
    desk.problems.clear()
