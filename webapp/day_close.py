"""The end of the day (docs/end-of-day.md): X-reports (the business day so far, any time,
never stored) and Z-reports (close a business day for good).

    x_report()                  -> the report data of the current business day, so far
    close_day(day, user_id)     -> (ZReport, created): closes `day`, or returns its report
    ensure_open(moment)         -> raises DayClosed when `moment` is inside a closed day
    open_moment(moment)         -> `moment`, or the first open moment after its closed day

Z numbers run 1, 2, 3... in the order days are closed, without gaps: the number is taken
by one INSERT ... SELECT max(number) + 1, and the unique constraints on number and day
refuse a second close racing with the first (that one retries, or finds the day closed).
On SQLite the INSERT comes first, so the closing transaction holds the write lock while
it reads the figures: no sale can be committed into the day between the two.

The figures are webapp.reports.report_data.sales_figures of the day's span, the same
as every other report's. Cash expected in the till = cash takings less cash refunds
(the "cash" row of the payment methods), not counting the float.
"""
import hashlib
import json
from datetime import date, timedelta

from sqlalchemy import Date, DateTime, Integer, LargeBinary, String, Text, func, literal
from sqlalchemy.exc import IntegrityError, OperationalError

from . import settings
from .extensions import db
from .models import ZReport, now as shop_now
from .money import cents_to_number
from .settings import business_day_of, business_day_span, today_business_day
from .validation import ValidationError

FORMATS = ("pdf", "json", "csv")
MIME = {"pdf": "application/pdf", "json": "application/json", "csv": "text/csv"}
CASH = "cash"
_RETRIES = 20


class DayClosed(ValidationError):
    """A sale or refund dated inside a closed business day."""


def is_closed(day):
    return db.session.execute(
        db.select(ZReport.id).where(ZReport.business_day == day)).first() is not None


def ensure_open(moment, field="created_at"):
    """Raise DayClosed when `moment` (naive shop time) falls in a closed business day."""
    day = business_day_of(moment)
    if is_closed(day):
        raise DayClosed({field: f"the business day {day.isoformat()} is closed "
                                f"(Z-report done); nothing can be added to it"})


def open_moment(moment, now=None):
    """Where a sale or refund dated `moment` may go when the owner confirms "date it into
    the current open day": `moment` itself if its business day is open; else the first
    business day after it that is not closed: `now` if that day is today, otherwise its
    first moment (a gap day between closed ones, or tomorrow when today is closed)."""
    day = business_day_of(moment)
    if not is_closed(day):
        return moment
    closed = set(db.session.execute(
        db.select(ZReport.business_day).where(ZReport.business_day > day)).scalars())
    day += timedelta(days=1)
    while day in closed:
        day += timedelta(days=1)
    now = now or shop_now()
    return now if day == business_day_of(now) else business_day_span(day)[0]


def parse_day(text, field="date"):
    """'2025-03-14' -> date; ValidationError({field: ...}) for anything else."""
    text = "" if text is None else str(text).strip()
    try:
        if len(text) != 10:  # fromisoformat also takes '20250314'
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError({field: f"'{text[:40]}' is not a date: use YYYY-MM-DD"}) from None


def check_closable(day, now=None):
    """A day that has started can be closed: a past one, or today once the shop has
    closed (sales recorded later today are then refused, or dated into tomorrow)."""
    today = today_business_day(now)
    if day > today:
        raise ValidationError({"date": f"{day.isoformat()} has not started yet: only a day "
                                       f"up to today ({today.isoformat()}) can be closed"})


def yesterday(now=None):
    return today_business_day(now) - timedelta(days=1)


# ---- the report's data -----------------------------------------------------------------

def report_data(day, number=None, closed_at=None, now=None):
    """The X (number None: the day so far, at `now`) or Z report of business day `day`,
    as the JSON file holds it: money as numbers with two decimals."""
    from .reports.report_data import sales_figures

    since, until = business_day_span(day)
    figures = sales_figures(since, until)
    money = cents_to_number
    methods = figures["by_payment_method"]
    cash = sum(row["revenue_cents"] for row in methods if row["method"] == CASH)
    at = closed_at if number is not None else (now or shop_now())
    return {
        "report": "Z" if number is not None else "X",
        "number": number,
        "business_day": day.isoformat(),
        "since": since.isoformat(),
        "until": until.isoformat(),
        ("closed_at" if number is not None else "printed_at"): at.isoformat(),
        "shop": {"name": settings.get("shop_name"), "address": settings.get("shop_address"),
                 "tax_number": settings.get("shop_tax_number")},
        "currency": settings.get("currency"),
        "first_order": figures["first_ref"],
        "last_order": figures["last_ref"],
        "totals": {
            "orders": figures["orders"],
            "gross": money(figures["gross_cents"]),
            "discounts": money(figures["discounts_cents"]),
            "refunds": money(figures["refunds_cents"]),
            "revenue": money(figures["revenue_cents"]),
            "tax": money(figures["tax_cents"]),
            "net": money(figures["net_cents"]),
        },
        "tax": [{"rate": money(row["rate_bp"]), "net": money(row["net_cents"]),
                 "tax": money(row["tax_cents"]), "gross": money(row["gross_cents"])}
                for row in figures["tax_rates"]],
        "payments": [{"method": row["method"] or "unknown", "orders": row["orders"],
                      "takings": money(row["revenue_cents"])} for row in methods],
        "cash_expected": money(cash),
    }


def x_report(now=None):
    """The current business day so far (any time, as often as wanted; not stored)."""
    now = now or shop_now()
    return report_data(today_business_day(now), now=now)


# ---- closing -----------------------------------------------------------------------------

def find(day=None, number=None):
    select = db.select(ZReport)
    select = select.where(ZReport.business_day == day) if day is not None \
        else select.where(ZReport.number == number)
    return db.session.execute(select).scalar_one_or_none()


def recent(limit=60):
    return db.session.execute(
        db.select(ZReport).order_by(ZReport.number.desc()).limit(limit)).scalars().all()


def close_day(day, user_id=None, now=None):
    """Close business day `day`: (its ZReport, True), or (the first one, False) when the
    day was closed already. ValidationError for a day that has not started."""
    check_closable(day, now)
    for _ in range(_RETRIES):
        existing = find(day=day)
        if existing is not None:
            return existing, False
        db.session.rollback()  # end the read: the INSERT below starts the transaction
        try:
            row = _claim_number(day, user_id, now or shop_now())
            _fill(row)
            db.session.commit()
            return row, True
        except (IntegrityError, OperationalError) as exc:
            # Another close took this number or this day (unique constraints), or held
            # the SQLite write lock past the busy timeout: look again.
            db.session.rollback()
            if isinstance(exc, OperationalError) and "locked" not in str(exc):
                raise
    raise RuntimeError(f"could not close {day}: too many closes at once, try again")


def _claim_number(day, user_id, closed_at):
    since, until = business_day_span(day)
    columns = {"number": func.coalesce(func.max(ZReport.number), 0) + 1,
               "business_day": literal(day, Date), "since": literal(since, DateTime),
               "until": literal(until, DateTime), "created_at": literal(closed_at, DateTime),
               "user_id": literal(user_id, Integer), "json_body": literal("", Text),
               "csv_body": literal("", Text), "pdf_body": literal(b"", LargeBinary),
               "sha256": literal("", String)}
    db.session.execute(db.insert(ZReport).from_select(
        list(columns), db.select(*columns.values())))
    return find(day=day)


def _fill(row):
    from .zreport_files import render_csv, render_json, render_pdf

    data = report_data(row.business_day, row.number, row.created_at)
    row.json_body = render_json(data)
    row.csv_body = render_csv(data)
    row.pdf_body = render_pdf(data)
    row.sha256 = hashlib.sha256(row.json_body.encode("utf-8")).hexdigest()


def stored_file(row, fmt):
    """(bytes, mimetype, file name) of a closed day's report: the stored bytes, always."""
    if fmt not in FORMATS:
        raise ValidationError({"format": f"'{str(fmt)[:20]}' is not a format: use pdf, json "
                                         f"or csv"})
    body = {"pdf": row.pdf_body, "json": row.json_body.encode("utf-8"),
            "csv": row.csv_body.encode("utf-8-sig")}[fmt]
    return body, MIME[fmt], f"z-report-{row.number:04d}-{row.business_day.isoformat()}.{fmt}"


def describe(row):
    return {"number": row.number, "day": row.business_day.isoformat(),
            "since": row.since.isoformat(), "until": row.until.isoformat(),
            "closed_at": row.created_at.isoformat(), "sha256": row.sha256,
            "totals": json.loads(row.json_body)["totals"]}


def auto_close(now=None):
    """The daily beat job: close yesterday when the owner turned `auto_close_day` on."""
    if not settings.get("auto_close_day"):
        return {"skipped": "closing the day automatically is off (Settings)"}
    row, created = close_day(yesterday(now), now=now)
    return {"number": row.number, "day": row.business_day.isoformat(), "created": created}

