"""Who may talk to Larder.

- Host check first: a page on another site that rebinds its DNS name to 127.0.0.1 sends
  its own name in `Host`, so only our own names (and hosts listed for LAN use) pass.
- The owner proves themselves with the per-launch token: `Authorization: Bearer <token>`,
  or `?token=` once, which signs the browser session in and redirects to the clean URL.
- Staff sign in with a username and password (accounts made with `larder user add`).
- CSRF: every unsafe request signed in by cookie must carry the form's CSRF token;
  Bearer requests cannot be forged by another site, so they are exempt.
"""
import hashlib
import hmac
from urllib.parse import urlencode

from flask import (Blueprint, abort, flash, g, redirect, render_template, request, session,
                   url_for)
from sqlalchemy.exc import IntegrityError
from werkzeug.local import LocalProxy

from .extensions import csrf, db
from .models import Activity, User

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = {"health", "static", "auth.login"}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
OWNER = "owner"


def _token_digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _host_allowed(app):
    host = request.host.lower()
    if host.startswith("["):  # [::1]:8080
        name = host[1:].split("]")[0]
    else:
        name = host.rsplit(":", 1)[0] if ":" in host else host
    allowed = LOCAL_HOSTS | {h.lower() for h in app.config["LARDER_ALLOWED_HOSTS"]}
    return name in allowed


def owner_user():
    select = db.select(User).filter_by(username=OWNER)
    user = db.session.execute(select).scalar()
    if user is None:
        user = User(username=OWNER, role="owner")
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:  # the first requests come together: one of them made it
            db.session.rollback()
            user = db.session.execute(select).scalar_one()
    return user


def _owner_id(app):
    # Looked up once per process: a cache hit should not pay for a query.
    if "larder_owner_id" not in app.extensions:
        app.extensions["larder_owner_id"] = owner_user().id
    return app.extensions["larder_owner_id"]


def current_user_by_id(user_id):
    g.user_id = user_id
    g.pop("user", None)
    return current_user()


def current_user():
    """The signed-in User, loaded on first use (most cached pages never need it)."""
    if "user" not in g:
        g.user = db.session.get(User, g.user_id) if g.get("user_id") is not None else None
    return g.user


def record_activity(text, user=None):
    """Note what the signed-in user did; it shows on their own dashboard."""
    from .caching import invalidate_user_dashboard

    user = user or current_user()
    if user is None:
        return
    db.session.add(Activity(user_id=user.id, text=text))
    db.session.commit()
    invalidate_user_dashboard(user.id)


def _authenticate(app):
    """Sets g.user_id and g.bearer; returns a response to send instead, or None."""
    token = app.config["LARDER_TOKEN"]
    g.bearer = False
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        if hmac.compare_digest(header[7:].strip(), token):
            g.bearer = True
            g.user_id = _owner_id(app)
            return None
        abort(401, "The launch token is wrong.")
    given = request.args.get("token")
    if given is not None:
        if not hmac.compare_digest(given, token):
            abort(401, "The launch token is wrong; start Larder again to get a new link.")
        session.clear()
        session["owner"] = _token_digest(token)
        session.permanent = False
        rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
        return redirect(request.path + ("?" + urlencode(rest) if rest else ""))
    if session.get("owner") and hmac.compare_digest(session["owner"], _token_digest(token)):
        g.user_id = _owner_id(app)
        return None
    user_id = session.get("user_id")
    if user_id is not None:
        if current_user_by_id(user_id) is not None:  # a removed account is signed out
            return None
        session.clear()
    if request.path.startswith("/api/") or request.method != "GET":
        abort(401, "Sign in first: send the launch token as 'Authorization: Bearer <token>'.")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app):
    @app.before_request
    def guard():
        if not _host_allowed(app):
            abort(400, "This address is not allowed; use the link Larder printed.")
        g.user_id = None
        if request.endpoint in PUBLIC_ENDPOINTS:
            if request.endpoint == "auth.login" and request.method == "POST":
                csrf.protect()
            return None
        response = _authenticate(app)
        if response is not None:
            return response
        if request.method not in ("GET", "HEAD", "OPTIONS") and not g.bearer:
            csrf.protect()
        return None

    @app.context_processor
    def inject_user():
        return {"current_user": LocalProxy(current_user)}


def _safe_next(target):
    # Only a path on this server: never an absolute URL from the request.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        user = db.session.execute(db.select(User).filter_by(username=username)).scalar()
        if user is None or user.role == "owner" or not user.check_password(password):
            error = "Wrong username or password."
        else:
            session.clear()
            session["user_id"] = user.id
            record_activity("Signed in", user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "POST":
        session.clear()
        flash("Signed out.")
        return redirect(url_for("auth.login"))
    return render_template("logout.html")


def add_user(username, password, role="staff"):
    """Create a staff account; raises ValueError with a readable reason."""
    username = (username or "").strip()
    if not username or len(username) > 80 or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise ValueError("a username is 1-80 letters, digits, '.', '_' or '-'")
    if username == OWNER:
        raise ValueError("'owner' is reserved for the launch token")
    if len(password or "") < 8:
        raise ValueError("a password needs at least 8 characters")
    if db.session.execute(db.select(User).filter_by(username=username)).scalar():
        raise ValueError(f"user {username!r} already exists")
    user = User(username=username, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user
