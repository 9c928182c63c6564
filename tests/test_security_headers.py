"""Every response carries the security headers, and every page keeps working under a
Content-Security-Policy that allows this origin only (no inline script or style)."""
import re

from webapp.security_headers import DESKTOP_CSP, HEADERS

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style[\s>]", re.I), "<style> element"),
    (re.compile(r"\sstyle=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"""(?:src|href)=["']?(?:https?:)?//""", re.I), "resource from another site"),
]


def assert_headers(response, what):
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (what, name)


def test_the_policy_allows_only_this_origin():
    csp = HEADERS["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    for name, value in directives.items():
        assert "unsafe" not in value and "*" not in value and "http" not in value, name
    # the desktop window only adds what pywebview's bridge needs (tests/test_desktop_bridge)
    assert DESKTOP_CSP.replace(" 'unsafe-eval'", "") == csp
    assert HEADERS["X-Frame-Options"] == "DENY"
    assert HEADERS["X-Content-Type-Options"] == "nosniff"
    assert HEADERS["Referrer-Policy"] == "same-origin"


def test_every_page_has_the_headers_and_nothing_inline(owner_browser, shop):
    from conftest import csrf_from

    token = csrf_from(owner_browser, "/orders/new")
    owner_browser.post("/orders/new", data={"csrf_token": token, "customer_email":
                                            "ann@example.com", "sku0": "SKU-001", "qty0": "1"})
    seen, todo = set(), ["/"]
    while todo:  # every page reachable from the dashboard by a plain link
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = owner_browser.get(url)
        assert response.status_code == 200, url
        assert_headers(response, url)
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        for pattern, what in INLINE:
            assert not pattern.search(html), f"{url}: {what} (blocked by the policy)"
        for link in re.findall(r'href="(/[^"]*)"', html):
            if not link.startswith("/static/") and "download" not in link and \
                    link.count("/") <= 3 and len(seen) < 60:
                todo.append(link.replace("&amp;", "&"))
    assert {"/products/", "/customers/", "/orders/", "/orders/new", "/reports/",
            "/logout"} <= seen


def test_other_responses_have_the_headers_too(app, anon_client, client):
    cases = {
        "login page": anon_client.get("/login"),
        "redirect to sign-in": anon_client.get("/products/"),
        "health": anon_client.get("/health"),
        "static file": anon_client.get("/static/larder.css"),
        "JSON": client.get("/api/stats"),
        "JSON error": client.get("/api/orders/999"),
        "HTML error": client.get("/orders/999", headers={"Accept": "text/html"}),
        "refused host": client.get("/", headers={"Host": "evil.example"}),
    }
    for what, response in cases.items():
        assert_headers(response, what)


def test_headers_over_real_http(app):
    from conftest import http_session

    with http_session(app) as http:
        response = http.get(http.base + "/products/")
        assert response.status_code == 200
        for name, value in HEADERS.items():
            assert response.headers[name] == value
