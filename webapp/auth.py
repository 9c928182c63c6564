"""Who may talk to Larder.

- Host check first: a page on another site that rebinds its DNS name to 127.0.0.1 sends
  its own name in `Host`, so only our own names (and hosts listed for LAN use) pass.
- The owner proves themselves with the per-launch token: `Authorization: Bearer <token>`,
  or `?token=` once, which signs the browser session in and redirects to the clean URL.
- Managers and staff sign in with a username and password (accounts made with
  `larder user add` or on the owner's Users page). What each role may do is one table,
  webapp.permissions, checked here after sign-in for every request (403 otherwise).
  A staff session ends at sign-out (the user's session generation is bumped: every copy
  of the cookie dies, on every device), after 12 hours without a request, and when Larder
  starts again (the session names its launch), unless the deployment shares one
  LARDER_SECRET_KEY between several `serve` processes: then the launch is not checked,
  or each process would refuse the others' sessions. Failed sign-ins are throttled
  (webapp.throttle). Disabling an account or resetting its password also bumps the
  generation: the user is signed out everywhere.
- CSRF: every unsafe request signed in by cookie must carry the form's CSRF token;
  Bearer requests cannot be forged by another site, so they are exempt.
"""
import hashlib
import hmac
import time
from urllib.parse import urlencode, urlsplit

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from sqlalchemy.exc import IntegrityError
from werkzeug.local import LocalProxy

from . import permissions, security_headers, throttle
from .extensions import csrf, db
from .i18n import N_, _, stored
from .models import Activity, User

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = {e for e, r in permissions.RULES.items() if r == permissions.PUBLIC}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
OWNER = "owner"
IDLE_LIMIT_S = 12 * 3600
SEEN_REFRESH_S = 60  # how stale the session's "last seen" may get before it is rewritten


def _token_digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _launch_id(app):
    """Names this launch in staff sessions (not the token itself: the cookie is readable)."""
    return hashlib.sha256(b"launch:" + app.config["LARDER_TOKEN"].encode()).hexdigest()[:32]


def _start_staff_session(app, user):
    session.clear()
    session["user_id"] = user.id
    session["gen"] = user.session_generation
    session["launch"] = _launch_id(app)
    session["seen"] = int(time.time())


def _staff_session_valid(app, user_id):
    """The session's user, if the session is still good (see staff_session_user); its
    "last seen" is rewritten at most once a minute."""
    user, stale_seen = staff_session_user(app, session, user_id)
    if user is not None and stale_seen:
        session["seen"] = int(time.time())
    return user


def staff_session_user(app, sess, user_id):
    """(user, whether its "last seen" needs rewriting) if the session `sess` is still
    good: same launch (unless the secret key is shared by several processes), not idle
    for 12 hours, not signed out since; (None, False) otherwise. Shared with
    webapp.fast_path, which leaves any session that needs writing to this module."""
    now = int(time.time())
    if not app.config.get("LARDER_SHARED_SECRET_KEY") and \
            not hmac.compare_digest(str(sess.get("launch", "")), _launch_id(app)):
        return None, False
    seen = sess.get("seen")
    if not isinstance(seen, int) or now - seen > IDLE_LIMIT_S:
        return None, False
    user = current_user_by_id(user_id)
    if user is None or user.disabled or user.session_generation != sess.get("gen"):
        return None, False  # removed, disabled, or signed out (here or on another device)
    return user, now - seen > SEEN_REFRESH_S


def host_allowed(app, host):
    host = host.lower()
    if host.startswith("["):  # [::1]:8080
        name = host[1:].split("]")[0]
    else:
        name = host.rsplit(":", 1)[0] if ":" in host else host
    allowed = LOCAL_HOSTS | {h.lower() for h in app.config["LARDER_ALLOWED_HOSTS"]}
    return name in allowed


def owner_user():
    """The owner's row, created on first use. The first requests on a new data dir (and
    the worker) may all find it missing: one insert wins, the others get the unique
    conflict, roll back and read the winner's row."""
    select = db.select(User).filter_by(username=OWNER)
    user = db.session.execute(select).scalar()
    if user is None:
        db.session.add(User(username=OWNER, role="owner"))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
        user = db.session.execute(select).scalar_one()
    return user


def owner_id(app):
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


def record_activity(text, user=None, **params):
    """Note what the signed-in user did; it shows on their own dashboard. `text` is one of
    webapp.i18n.STORED (marked N_), stored in English with its `params` filled in and
    translated when shown (i18n.say_stored)."""
    from .caching import invalidate_user_dashboard

    user = user or current_user()
    if user is None:
        return
    db.session.add(Activity(user_id=user.id, text=stored(text, **params)))
    db.session.commit()
    invalidate_user_dashboard(user.id)


def bearer_ok(app, header):
    """True for "Bearer <launch token>", False for another Bearer, None without one."""
    if not header.startswith("Bearer "):
        return None
    return hmac.compare_digest(header[7:].strip(), app.config["LARDER_TOKEN"])


def owner_session(app, sess):
    """Does the session `sess` hold this launch's owner sign-in (?token= once)?"""
    return bool(sess.get("owner")) and hmac.compare_digest(
        str(sess["owner"]), _token_digest(app.config["LARDER_TOKEN"]))


def _authenticate(app):
    """Sets g.user_id, g.role and g.bearer; returns a response to send instead, or None.
    webapp.fast_path makes the same checks (bearer_ok, owner_session, staff_session_user)
    and leaves every other case (a token in the URL, a refusal, a session to write) here."""
    token = app.config["LARDER_TOKEN"]
    g.bearer = False
    bearer = bearer_ok(app, request.headers.get("Authorization", ""))
    if bearer is not None:
        if bearer:
            g.bearer = True
            g.user_id, g.role = owner_id(app), "owner"
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
    if owner_session(app, session):
        g.user_id, g.role = owner_id(app), "owner"
        return None
    user_id = session.get("user_id")
    if user_id is not None:
        user = _staff_session_valid(app, user_id)
        if user is not None:
            g.role = user.role
            return None
        session.clear()
        g.user_id = None
        g.user = None
        flash(_("You were signed out: sign in again."))
    if request.path.startswith("/api/") or request.method != "GET":
        abort(401, "Sign in first: send the launch token as 'Authorization: Bearer <token>'.")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app):
    security_headers.init_app(app)

    @app.before_request
    def guard():
        if not host_allowed(app, request.host):
            abort(400, "This address is not allowed; use the link Larder printed.")
        g.user_id = g.role = None
        if request.endpoint in PUBLIC_ENDPOINTS:
            if request.endpoint == "auth.login" and request.method == "POST":
                csrf.protect()
            return None
        response = _authenticate(app)
        if response is not None:
            return response
        permissions.check()  # 403 when the role may not use this endpoint
        if request.method not in ("GET", "HEAD", "OPTIONS") and not g.bearer:
            csrf.protect()
        return None

    @app.context_processor
    def inject_user():
        return {"current_user": LocalProxy(current_user)}


def _safe_next(target):
    """Only a path on this server. Browsers drop tabs and newlines inside URLs and read a
    backslash as a slash, so "/\t/evil.example" would be "//evil.example": any such
    character (or any control character) makes the target refused, not cleaned."""
    if target and target.startswith("/") and target.isprintable() and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and not target.startswith("//"):
            return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        names = throttle.keys(username, request.remote_addr)
        wait = throttle.attempt(names)
        if wait:
            error, status = _("Too many failed sign-ins for this account or from this "
                              "computer. Wait %(wait)s, then try again.",
                              wait=throttle.in_words(wait)), 429
        else:
            user = db.session.execute(db.select(User).filter_by(username=username)).scalar()
            if user is None or user.role == "owner" or not user.check_password(password):
                error, status = _("Wrong username or password."), 401
            elif user.disabled:
                throttle.succeeded(names)  # the password was right: not a guess
                error, status = _("This account is disabled. Ask the owner to enable it "
                                  "again."), 403
            else:
                throttle.succeeded(names)
                _start_staff_session(current_app, user)
                record_activity(N_("Signed in"), user)
                return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error, limit=throttle.LIMIT,
                           first_wait=throttle.in_words(throttle.FIRST_DELAY_S)), status


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "POST":
        user = current_user()
        if user is not None and user.role != "owner":
            # Every session of this user ends, copies of the cookie included.
            db.session.execute(db.update(User).where(User.id == user.id).values(
                session_generation=User.session_generation + 1))
            db.session.commit()
        session.clear()
        flash(_("Signed out."))
        return redirect(url_for("auth.login"))
    return render_template("logout.html")


ACCOUNT_ROLES = ("staff", "manager")  # the owner is the launch token, never an account


def _check_password(password):
    if len(password or "") < 8:
        raise ValueError(_("a password needs at least 8 characters"))


def add_user(username, password, role="staff"):
    """Create a staff or manager account; raises ValueError with a readable reason."""
    username = (username or "").strip()
    if not username or len(username) > 80 or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise ValueError(_("a username is 1-80 letters, digits, '.', '_' or '-'"))
    if username == OWNER:
        raise ValueError(_("'owner' is reserved for the launch token"))
    if role not in ACCOUNT_ROLES:
        raise ValueError(_("a role is %(roles)s, not %(role)r", roles=" or ".join(ACCOUNT_ROLES),
                           role=role))
    _check_password(password)
    if db.session.execute(db.select(User).filter_by(username=username)).scalar():
        raise ValueError(_("user %(name)r already exists", name=username))
    user = User(username=username, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def find_account(username):
    """The staff or manager account named username; ValueError if there is none."""
    user = db.session.execute(db.select(User).filter_by(username=username)).scalar()
    if user is None or user.role == "owner":
        raise ValueError(_("there is no user %(name)r", name=username))
    return user


def _sign_out_everywhere(user):
    # Every session carries the generation it started with: bumping it ends them all.
    user.session_generation = User.session_generation + 1


def set_disabled(username, disabled=True):
    """Disable (and sign out everywhere) or enable an account; returns the user."""
    user = find_account(username)
    user.disabled = disabled
    if disabled:
        _sign_out_everywhere(user)
    db.session.commit()
    return user


def reset_password(username, password):
    """A new password for the account; its sessions end everywhere."""
    _check_password(password)
    user = find_account(username)
    user.set_password(password)
    _sign_out_everywhere(user)
    db.session.commit()
    return user
