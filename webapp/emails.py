"""Emails: written to the outbox folder as standard .eml files (always), and sent by
SMTP when LARDER_SMTP_HOST is set. File names are derived from what the email is about,
so a job that runs twice rewrites the same file and sends once (a `.sent` marker).
The outbox never follows a symbolic link nor reads a special file (webapp.safe_files)."""
import re
import smtplib
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from datetime import datetime

from flask import current_app

from .config import files_folder
from .extensions import db
from .atomic_files import write_atomically
from .models import Customer, Order
from .i18n import _, format_count
from .money_display import format_money, format_moment
from .safe_files import NotRegular, is_regular, read_regular, regular_files

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.eml$")


class OutboxError(LookupError):
    pass


def outbox_dir():
    return files_folder("outbox")


def _sender():
    return current_app.config.get("LARDER_SMTP_FROM") or "Larder <larder@localhost>"


def _message(to, subject, body):
    msg = EmailMessage()
    msg["From"] = _sender()
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = make_msgid(domain="larder.local")
    msg.set_content(body)
    return msg


def welcome(customer):
    return _message(
        customer.email, _("Welcome!"),
        _("Dear %(name)s,\n\nThank you for becoming our customer.\n\nSee you soon!\n",
          name=customer.name))


def order_confirmation(order):
    if order.customer is None or not order.customer.email:
        raise ValueError("a walk-in sale (or a till's customer without e-mail) has no one "
                         "to write to")
    def money(cents):
        return format_money(cents, order.currency)

    # Every line a whole sentence in the catalog: a translation may reorder its parts.
    lines = "\n".join(
        "  " + (_("%(quantity)s x %(name)s (%(sku)s) at %(price)s, less %(discount)s",
                  discount=money(line.discount_cents), **_line(line, money))
                if line.discount_cents else
                _("%(quantity)s x %(name)s (%(sku)s) at %(price)s", **_line(line, money)))
        for line in order.lines)
    extra = (_("Discounts: %(amount)s", amount=money(order.discount_cents)) + "\n"
             if order.discount_cents else "")
    total = {"total": money(order.total_cents), "tax": money(order.tax_cents)}
    msg = _message(
        order.customer.email, _("Your order %(ref)s", ref=order.ref),
        _("Dear %(name)s,\n\nThank you for your order %(ref)s of %(moment)s:",
          name=order.customer.name, ref=order.ref, moment=format_moment(order.created_at))
        + f"\n\n{lines}\n\n{extra}"
        + (_("Total: %(total)s (tax %(tax)s), paid by %(method)s",
             method=_(order.payment_method), **total) if order.payment_method
           else _("Total: %(total)s (tax %(tax)s)", **total)) + "\n")
    invoice = files_folder("invoices") / f"{order.ref}.pdf"
    if is_regular(invoice):
        msg.add_attachment(read_regular(invoice), maintype="application", subtype="pdf",
                           filename=f"invoice-{order.ref}.pdf")
    return msg


def _line(line, money):
    return {"quantity": format_count(line.quantity), "name": line.product.name,
            "sku": line.product.sku, "price": money(line.unit_price_cents)}


def send_templated(params):
    """The email job: build the message from the database, file it, send it."""
    if params["template"] == "welcome":
        customer = db.session.get(Customer, params["customer_id"])
        if customer is None:
            raise ValueError("the customer no longer exists")
        msg, name = welcome(customer), f"welcome-{customer.id}.eml"
    elif params["template"] == "order_confirmation":
        order = db.session.get(Order, params["order_id"])
        if order is None:
            raise ValueError("the order no longer exists")
        msg, name = order_confirmation(order), f"order-{order.ref}.eml"
    elif params["template"] == "low_stock":
        from .low_stock import alert_email

        msg, name = alert_email(params)
    else:
        raise ValueError(f"unknown email template {params['template']!r}")
    return deliver(msg, name)


def deliver(msg, name):
    from email import policy  # here: its header parser costs the web process's start ~35 ms

    path = outbox_dir() / name
    write_atomically(str(path), msg.as_bytes(policy=policy.SMTP))
    sent = False
    host = current_app.config.get("LARDER_SMTP_HOST")
    marker = path.with_suffix(".sent")
    if host and not marker.exists():
        port = int(current_app.config.get("LARDER_SMTP_PORT") or 25)
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            if current_app.config.get("LARDER_SMTP_USER"):
                smtp.starttls()
                smtp.login(current_app.config["LARDER_SMTP_USER"],
                           current_app.config.get("LARDER_SMTP_PASSWORD", ""))
            smtp.send_message(msg)
        write_atomically(str(marker), b"")  # replaces a link rather than following it
        sent = True
    return {"file": name, "to": msg["To"], "sent_by_smtp": sent}


def _checked(name):
    # Never trust a path from a request: a plain file name inside the outbox, or nothing.
    if not NAME_RE.match(name or ""):
        raise OutboxError("no such email")
    path = outbox_dir() / name
    if path.parent != outbox_dir() or not is_regular(path):
        raise OutboxError("no such email")
    return path


def read(name):
    from email import policy

    try:
        return BytesParser(policy=policy.default).parsebytes(read_regular(_checked(name)))
    except NotRegular:
        raise OutboxError("no such email") from None


def listing(limit=200):
    from email import policy

    items = []
    paths = sorted(regular_files(outbox_dir(), "*.eml"), key=lambda p: p.lstat().st_mtime,
                   reverse=True)
    for path in paths[:limit]:
        try:
            data = read_regular(path)
        except (NotRegular, FileNotFoundError):  # swapped or removed since listed
            continue
        headers = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
        items.append({"name": path.name, "to": headers["To"], "subject": headers["Subject"],
                      "date": headers["Date"], "size": len(data)})
    return items
