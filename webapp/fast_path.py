"""Cached pages answered in front of Flask (issue 13).

A hit through Flask paid for the request context, every before/after hook, the URL
dispatch and Flask-Caching's view wrapper: a cached page served ~0.6 of a trivial route's
requests per second. This WSGI layer answers a GET for a cached endpoint
(caching.PAGE_KEYS) itself when everything Flask would do is known to come to the same:

- the same checks, shared with webapp.auth: allowed host, then the launch token
  (`Authorization: Bearer`), the owner's signed session or a staff session still valid
  (same launch, not idle, generation and account read from the database), then
  permissions.allowed for the role;
- the same key (caching.PAGE_KEYS: versions read from the shared cache on every request,
  never from a copy in this process), read from the same entry Flask-Caching stored;
- the same response: the menu, the worker banner, security headers, X-Cache, Vary, ETag
  and 304 as webapp.views.chrome, security_headers and caching add them.

Anything else goes to Flask unchanged: other methods and pages, a token in the URL, a
wrong token, no sign-in, a role refused, a session Flask would write (a pending flash
message, a "last seen" to refresh), a menu not rendered yet in this process, a cached
value of another shape, any error, or an app with request hooks this layer does not know
(then it cannot tell what they would add: the desktop window's request log). A miss goes
to Flask through webapp.single_flight, so that one request computes a page and the
others wait for it. `larder_fast_path = false` in larder.toml (LARDER_FAST_PATH in the
app's config) turns the layer off: hits are then Flask's, as before.
"""
import logging

from flask import g
from flask_caching import signals
from werkzeug.http import remove_entity_headers
from werkzeug.wrappers import Response

from . import caching, permissions, security_headers
from .auth import bearer_ok, host_allowed, owner_id, owner_session, staff_session_user
from .background import status as worker_status
from .extensions import cache
from .single_flight import SingleFlight
from .views import chrome

log = logging.getLogger(__name__)
HTML = "text/html; charset=utf-8"


def _hooks(app):
    """Every request hook the app has: if one is added after this layer was installed,
    the layer cannot reproduce it and leaves hits to Flask."""
    tables = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs,
              app.url_value_preprocessors)
    return tuple((key, tuple(funcs)) for table in tables for key, funcs in table.items())


class _Visit:
    """What the checks found for one request."""
    __slots__ = ("endpoint", "role", "bearer", "key", "value")

    def __init__(self, endpoint, role, bearer, key, value):
        self.endpoint, self.role, self.bearer, self.key, self.value = (
            endpoint, role, bearer, key, value)


class FastPath:
    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.hooks = _hooks(app)
        self.security = list(security_headers.headers_for(app).items())
        with app.app_context():
            backend = cache.cache
        self.flight = SingleFlight(backend, wait=app.config.get("LARDER_SINGLE_FLIGHT_WAIT",
                                                                10.0))
        self.served = 0  # hits answered here (tests compare with Flask's own)
        self._routes = {}
        self._pages = {}  # (key, cached page, menu, banner) -> what is sent (_page)

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        route = self._route(environ)
        if route is None:
            return self.wsgi_app(environ, start_response)
        request = self.app.request_class(environ)
        with self.app.app_context():
            visit = self._look(request, *route)
            if visit is not None and visit.value is not None:
                answer = self._answer(request, visit)
                if answer is not None:
                    return answer(start_response)
        if visit is None or visit.value is not None:
            return self.wsgi_app(environ, start_response)
        with self.flight.turn(visit.key, lambda: self.flight.backend.get(visit.key)) as value:
            if value is None:  # this request computes the page (Flask stores it)
                return self.wsgi_app(environ, start_response)
        visit.value = value
        with self.app.app_context():
            answer = self._answer(request, visit)
        if answer is not None:
            return answer(start_response)
        return self.wsgi_app(environ, start_response)

    def _route(self, environ):
        """(endpoint, URL arguments) of a cached endpoint at this path, else None. The
        URL map does not change once requests come: matches are remembered (bounded)."""
        path = (environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""))
        route = self._routes.get(path, False)
        if route is False:
            try:
                endpoint, view_args = self.app.url_map.bind_to_environ(environ).match(
                    method="GET")
            except Exception:  # 404, 405, a redirect to the slash URL: Flask says it
                endpoint, view_args = None, None
            route = (endpoint, view_args) if endpoint in caching.PAGE_KEYS else None
            if len(self._routes) > 4096:
                self._routes.clear()
            self._routes[path] = route
        return route

    def _look(self, request, endpoint, view_args):
        """A _Visit when Flask would serve this request from a cached page after the same
        checks, writing no session; None when only Flask can answer."""
        page_key = caching.PAGE_KEYS[endpoint]
        if not host_allowed(self.app, request.host):
            return None
        try:
            return self._identify(request, endpoint, view_args, page_key)
        except Exception:  # the database or cache failed: Flask reports it its way
            log.debug("fast path left %s to Flask", request.path, exc_info=True)
            return None

    def _identify(self, request, endpoint, view_args, page_key):
        app = self.app
        session = {}
        if request.cookies.get(app.config["SESSION_COOKIE_NAME"]):
            session = app.session_interface.open_session(app, request)
            if session is None:
                return None
        if "_flashes" in session or session.get("_permanent"):
            return None  # Flask must take the messages out, or refresh the cookie
        bearer = bearer_ok(app, request.headers.get("Authorization", ""))
        if bearer is False:
            return None  # 401
        if bearer:
            user_id, role = owner_id(app), "owner"
        elif "token" in request.args:
            return None  # the sign-in by link, and its redirect
        elif owner_session(app, session):
            user_id, role = owner_id(app), "owner"
        elif session.get("user_id") is not None:
            user, stale_seen = staff_session_user(app, session, session["user_id"])
            if user is None or stale_seen:
                return None  # signed out, or a session Flask must write
            user_id, role = user.id, user.role
        else:
            return None  # the sign-in page
        if not permissions.allowed(endpoint, role):
            return None  # 403
        g.user_id, g.role = user_id, role
        key = page_key(request.path, request.args, view_args, role, user_id)
        return _Visit(endpoint, role, bool(bearer), key, cache.cache.get(key))

    def _answer(self, request, visit):
        """The response Flask would send for this cached value, or None."""
        if _hooks(self.app) != self.hooks:
            return None
        try:
            return self._respond(request, visit)
        except Exception:  # Flask reports it its way
            log.debug("fast path left %s to Flask", request.path, exc_info=True)
            return None

    def _respond(self, request, visit):
        value = visit.value
        if isinstance(value, str):
            made = self._page(request, visit, value)
            if made is None:
                return None
            body, tag, has_messages = made
            headers, html = [("Content-Type", HTML)], True
        elif (isinstance(value, Response) and value.status_code == 200
              and not value.direct_passthrough):
            body = value.get_data()
            headers = [(k, v) for k, v in value.headers.items() if k.lower() != "content-length"]
            html = value.mimetype == "text/html"
            if value.mimetype == "application/json" and not permissions.sees_costs(visit.role):
                return None  # permissions strips costs from JSON: one place for that
            has_messages = html and chrome.FLASH_MARKER in body
            if html:
                body = self._fill(request, visit, body, worker_status.worker_state(self.app))
                if body is None:
                    return None
            tag = caching.etag_for(visit.key, body)
        else:
            return None
        # Flask reads its session in the sign-in check (a cookie) and, on a page, for the
        # messages: then it adds "Vary: Cookie".
        if not visit.bearer or has_messages:
            headers.append(("Vary", "Cookie"))
        headers += [(k, v) for k, v in self.security if k not in dict(headers)]
        headers += [("X-Cache", "HIT"), ("ETag", f'"{tag}"'),
                    ("Cache-Control", caching.CACHE_CONTROL)]
        # Flask-Caching's own signal: the hit counted, as its view wrapper does.
        signals.cache_view_hit.send(cache=cache, cache_key=visit.key, args=(), kwargs={})
        self.served += 1
        if request.if_none_match.contains_weak(tag):
            # As werkzeug sends a 304: no body, none of the body's own headers.
            remove_entity_headers(headers)
            status, body = "304 NOT MODIFIED", b""
        else:
            status = "200 OK"
            headers.append(("Content-Length", str(len(body))))

        def answer(start_response):
            start_response(status, headers)
            return [body] if body else []
        return answer

    def _page(self, request, visit, value):
        """(body as sent, its ETag, whether it has a place for messages) for a cached page,
        or None. What is sent depends on nothing but the page as cached, its key, the menu
        (role, page, script root) and whether the worker is down (the banner): made once
        per process for each of those (bounded), so a hit does not encode, fill and hash
        the page again. The page itself is still read from the cache on every request."""
        state = worker_status.worker_state(self.app)
        key = (visit.key, value, visit.role, visit.endpoint, request.script_root,
               state == "down")
        made = self._pages.get(key)
        if made is None:
            body = value.encode()
            has_messages = chrome.FLASH_MARKER in body
            body = self._fill(request, visit, body, state)
            if body is None:
                return None  # the menu is not rendered here yet: Flask renders it
            made = (body, caching.etag_for(visit.key, body), has_messages)
            if len(self._pages) >= 128:
                self._pages.clear()
            self._pages[key] = made
        return made

    def _fill(self, request, visit, body, state):
        """The menu, no messages (a pending one went to Flask) and the worker banner (for
        the worker's `state`), as chrome.fill_page puts them in; None when the menu is not
        known yet here."""
        lang = chrome.page_language(body)
        if chrome.NAV_MARKER in body:
            nav = chrome.known_nav(self.app, visit.role, visit.endpoint, request.script_root,
                                   lang)
            if nav is None:
                return None
            body = body.replace(chrome.NAV_MARKER, nav)
        if chrome.FLASH_MARKER in body:
            body = body.replace(chrome.FLASH_MARKER, b"")
        if worker_status.MARKER in body:
            body = body.replace(worker_status.MARKER,
                                worker_status.banner(self.app, lang, state))
        return body


def init_app(app):
    """Installed last, after every hook the app's modules register (webapp.create_app)."""
    if app.config.get("LARDER_FAST_PATH", True):
        app.wsgi_app = FastPath(app, app.wsgi_app)
        app.extensions["larder_fast_path"] = app.wsgi_app
