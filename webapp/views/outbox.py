"""The outbox: emails Larder wrote (and sent, when SMTP is set up)."""
from flask import Blueprint, abort, render_template

from .. import emails
from ..i18n import _

bp = Blueprint("outbox", __name__, url_prefix="/outbox")


@bp.get("/")
def index():
    return render_template("outbox.html", items=emails.listing())


@bp.get("/<name>")
def show(name):
    try:
        msg = emails.read(name)
    except emails.OutboxError:
        abort(404, _("There is no such email."))
    body = msg.get_body(preferencelist=("plain",))
    attachments = [part.get_filename() for part in msg.iter_attachments()]
    return render_template("outbox_show.html", name=name, msg=msg,
                           body=body.get_content() if body else "", attachments=attachments)
