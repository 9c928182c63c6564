"""The Users page (the owner's): the accounts, who may do what, add one, disable or
enable it, set a new password. Disabling and a new password sign the user out on every
device (their session generation is bumped, webapp.auth). Rules: webapp.permissions."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from ..auth import (ACCOUNT_ROLES, add_user, record_activity, reset_password,
                    set_disabled)
from ..extensions import db
from ..models import User
from ..i18n import N_, _
from ..permissions import ROLE_NAMES

bp = Blueprint("users", __name__, url_prefix="/users")


def _page(form=None, error=None, status=200, reset_for=None):
    users = db.session.execute(
        db.select(User).where(User.role != "owner").order_by(User.username)).scalars().all()
    return render_template("users.html", users=users, form=form or {}, error=error,
                           reset_for=reset_for, roles=ACCOUNT_ROLES,
                           role_names=ROLE_NAMES), status


@bp.get("/")
def index():
    return _page()


@bp.post("/")
def create():
    form = request.form.to_dict()
    role = form.get("role", "")
    try:
        user = add_user(form.get("username", ""), form.get("password", ""), role)
    except ValueError as exc:
        form.pop("password", None)  # never sent back into the page
        return _page(form, error=_sentence(exc), status=400)
    record_activity(N_("Added the %(role)s account %(name)s"), role=role, name=user.username)
    flash(_("Account %(name)s added (%(role)s).", name=user.username,
            role=_(ROLE_NAMES[role]).lower()))
    return redirect(url_for(".index"), 303)


@bp.post("/<username>/disable")
def disable(username):
    user = _account_or_404(username, lambda: set_disabled(username, True))
    record_activity(N_("Disabled the account %(name)s"), name=user.username)
    flash(_("Account %(name)s disabled: it is signed out everywhere and cannot sign in.",
            name=user.username))
    return redirect(url_for(".index"), 303)


@bp.post("/<username>/enable")
def enable(username):
    user = _account_or_404(username, lambda: set_disabled(username, False))
    record_activity(N_("Enabled the account %(name)s"), name=user.username)
    flash(_("Account %(name)s can sign in again.", name=user.username))
    return redirect(url_for(".index"), 303)


@bp.post("/<username>/reset")
def reset(username):
    try:
        user = reset_password(username, request.form.get("password", ""))
    except ValueError as exc:
        return _page(error=_sentence(exc), status=400, reset_for=username)
    record_activity(N_("Set a new password for %(name)s"), name=user.username)
    flash(_("New password set for %(name)s: it is signed out everywhere.", name=user.username))
    return redirect(url_for(".index"), 303)


def _account_or_404(username, change):
    try:
        return change()
    except ValueError as exc:  # no such account
        abort(404, _sentence(exc))


def _sentence(exc):
    text = str(exc)
    return text[:1].upper() + text[1:] + "."
