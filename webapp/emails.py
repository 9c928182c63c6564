"""Emails: written to the outbox folder as standard .eml files (always), and sent by
SMTP when LARDER_SMTP_HOST is set. File names are derived from what the email is about,
so a job that runs twice rewrites the same file and sends once (a `.sent` marker).
The outbox never follows a symbolic link nor reads a special file (webapp.safe_files)."""
import re
import smtplib
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from datetime import datetime

from flask import current_app

from .config import files_folder
from .extensions import db
from .atomic_files import write_atomically
from .models import Customer, Order
from .money_display import format_money
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
        customer.email, "Welcome!",
        f"Dear {customer.name},\n\nThank you for becoming our customer.\n\nSee you soon!\n")


def order_confirmation(order):
    if order.customer is None or not order.customer.email:
        raise ValueError("a walk-in sale (or a till's customer without e-mail) has no one "
                         "to write to")
    money = format_money
    lines = "\n".join(
        f"  {line.quantity} x {line.product.name} ({line.product.sku}) "
        f"at {money(line.unit_price_cents, order.currency)}"
        + (f", less {money(line.discount_cents, order.currency)}" if line.discount_cents else "")
        for line in order.lines)
    extra = f"Discounts: {money(order.discount_cents, order.currency)}\n" if order.discount_cents else ""
    msg = _message(
        order.customer.email, f"Your order {order.ref}",
        f"Dear {order.customer.name},\n\nThank you for your order {order.ref} of "
        f"{order.created_at:%Y-%m-%d %H:%M}:\n\n{lines}\n\n{extra}"
        f"Total: {money(order.total_cents, order.currency)} (tax {money(order.tax_cents, order.currency)})"
        + (f", paid by {order.payment_method}" if order.payment_method else "") + "\n")
    invoice = files_folder("invoices") / f"{order.ref}.pdf"
    if is_regular(invoice):
        msg.add_attachment(read_regular(invoice), maintype="application", subtype="pdf",
                           filename=f"invoice-{order.ref}.pdf")
    return msg


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
    try:
        return BytesParser(policy=policy.default).parsebytes(read_regular(_checked(name)))
    except NotRegular:
        raise OutboxError("no such email") from None


def listing(limit=200):
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
