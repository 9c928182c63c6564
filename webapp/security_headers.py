"""Headers on every response: no framing (clickjacking), no MIME sniffing, no Referer
to other sites, and a Content-Security-Policy that lets pages load scripts, styles,
images and fetches from this server only (the templates have no inline script or style;
keep it so). The desktop window's bridge (pywebview) is injected by the web view itself,
not by the page, so the policy does not block it."""

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def init_app(app):
    @app.after_request
    def add_security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
