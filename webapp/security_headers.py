"""Headers on every response: no framing (clickjacking), no MIME sniffing, no Referer
to other sites, and a Content-Security-Policy that lets pages load scripts, styles,
images and fetches from this server only (the templates have no inline script or style;
keep it so).

The desktop window is the one exception, set by the launcher (LARDER_DESKTOP_WINDOW):
pywebview builds `window.pywebview.api` with `new Function`, which needs 'unsafe-eval'
(its own bridge script is injected by the web view, not loaded by the page). Sources
stay this server only; pywebview's optional built-in stylesheet is refused, unused."""

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
DESKTOP_CSP = CSP.replace("script-src 'self';", "script-src 'self' 'unsafe-eval';")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def headers_for(app):
    """The headers this app puts on every response (webapp.fast_path sends the same)."""
    headers = dict(HEADERS)
    if app.config.get("LARDER_DESKTOP_WINDOW"):
        headers["Content-Security-Policy"] = DESKTOP_CSP
    return headers


def init_app(app):
    headers = headers_for(app)

    @app.after_request
    def add_security_headers(response):
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
