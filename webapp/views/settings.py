"""The Settings page (owner only, webapp.permissions): the shop's settings (docs/settings.md).

A setting given in larder.toml or the environment is shown read-only and says where it
is set. Changing the currency or whether prices include tax, once the shop has orders,
takes a second step: the page says what changes and what stays (recorded orders keep
their own currency and tax mode) and asks to confirm.
"""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from .. import settings
from ..auth import record_activity
from ..extensions import db
from ..i18n import N_, _, refresh
from ..models import Order
from ..validation import ValidationError

bp = Blueprint("settings", __name__, url_prefix="/settings")

# Changing these once there are orders asks for confirmation.
CONFIRM = ("currency", "prices_include_tax")
FIELDS = {"shop_address": "textarea", "payment_methods": "textarea", "day_starts_at": "time",
          "prices_include_tax": "checkbox", "auto_close_day": "checkbox",
          "low_stock_digest": "checkbox"}


def _rows(form, errors):
    """What the template shows, one row per setting."""
    overrides = settings.overrides()
    rows = []
    for definition in settings.DEFINITIONS.values():
        where = overrides.get(definition.name, (None, None))[1]
        if where is not None or not form:  # what is in force
            current = settings.get(definition.name)
            value = current if definition.kind is bool else definition.as_text(current)
        elif definition.kind is bool:  # what was sent (an unticked box sends nothing)
            value = definition.public in form
        else:
            value = form.get(definition.public, "")
        rows.append({"d": definition, "value": value, "where": where,
                     "field": FIELDS.get(definition.public, "text"),
                     "error": errors.get(definition.public)})
    return rows


def _yes_no(value):
    return "yes" if value else "no"


def _changes_to_confirm(values):
    """[(name, label, old, new)] of the settings that need a confirmation: the currency
    or the tax mode changes and the shop has orders."""
    changed = [(name, settings.get(name), values[name]) for name in CONFIRM
               if name in values and values[name] != settings.get(name)]
    if not changed or db.session.execute(db.select(Order.id).limit(1)).first() is None:
        return []
    out = []
    for name, old, new in changed:
        if name == "prices_include_tax":
            old, new = _yes_no(old), _yes_no(new)
        out.append((name, settings.DEFINITIONS[name].label, old, new))
    return out


def _confirmation(changes):
    """What the second step's form carries: the changes the owner was shown, so that a
    value edited on that page is asked about again, not saved unseen."""
    return ";".join(f"{name}={new}" for name, _, _, new in changes)


@bp.route("/", methods=["GET", "POST"])
def index():
    errors, form, confirm = {}, {}, []
    if request.method == "POST":
        form = request.form.to_dict()
        editable = [d.public for d in settings.DEFINITIONS.values()
                    if d.name not in settings.overrides()]
        try:
            values = settings.validate(form, editable)
        except ValidationError as exc:
            errors = exc.errors
        else:
            confirm = _changes_to_confirm(values)
            if not confirm or form.get("confirm") == _confirmation(confirm):
                settings.save(values)
                record_activity(N_("Changed the shop's settings"))
                refresh()  # the message in the language just chosen
                flash(_("Settings saved."))
                return redirect(url_for(".index"))
    orders = db.session.scalar(db.select(db.func.count(Order.id))) if confirm else 0
    return render_template("settings.html", rows=_rows(form, errors), errors=errors,
                           confirm=confirm, confirmation=_confirmation(confirm),
                           orders=orders), 400 if errors else 200

