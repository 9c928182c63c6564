"""The Reports page's periods: presets worked out from the shop's business day (its time
zone and the hour the day starts, webapp.settings), and a report's name for people.

    presets(date(2025, 3, 14))["last_month"]  -> ("Last month", date(2025, 2, 1), date(2025, 2, 28))
    period_name(date(2025, 3, 1), date(2025, 3, 31))  -> "March 2025"
"""
from datetime import timedelta

from babel import Locale
from babel.dates import format_date

from . import settings
from .i18n import N_, stored

CUSTOM = "custom"
# Translated where shown (templates: |tr); N_ marks them for the catalog (webapp/i18n.py).
LABELS = {"today": N_("Today"), "yesterday": N_("Yesterday"), "this_week": N_("This week"),
          "last_month": N_("Last month"), "this_year": N_("This year"),
          "last_year": N_("Last year"), CUSTOM: N_("Custom dates")}


def _locale():
    return Locale.parse(settings.get("locale"))


def presets(today, first_weekday=0):
    """{key: (label, first day, last day)}: both days included; "this week" and "this
    year" run to today. first_weekday: 0 Monday .. 6 Sunday (the locale's)."""
    week_start = today - timedelta(days=(today.weekday() - first_weekday) % 7)
    this_month = today.replace(day=1)
    last_month_end = this_month - timedelta(days=1)
    spans = {
        "today": (today, today),
        "yesterday": (today - timedelta(days=1),) * 2,
        "this_week": (week_start, today),
        "last_month": (last_month_end.replace(day=1), last_month_end),
        "this_year": (today.replace(month=1, day=1), today),
        "last_year": (today.replace(year=today.year - 1, month=1, day=1),
                      today.replace(year=today.year - 1, month=12, day=31)),
    }
    return {key: (LABELS[key], *span) for key, span in spans.items()}


def current_presets(now=None):
    """The presets for the business day of `now` (default: the shop's clock now; an aware
    moment is taken to the shop's time zone first)."""
    return presets(settings.today_business_day(now), _locale().first_week_day)


def period_name(first, last):
    """Dates as people say them, in the shop's locale: "14 March 2025", "March 2025",
    "2025", "3 to 14 March 2025", "28 February to 3 March 2025"."""
    locale = _locale()

    def say(day, pattern):
        return format_date(day, pattern, locale=locale)

    whole_month = first.day == 1 and (last + timedelta(days=1)).day == 1
    if first == last:
        return say(first, "d MMMM y")
    if whole_month and (first.year, first.month) == (last.year, last.month):
        return say(first, "MMMM y")
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31):
        return str(first.year) if first.year == last.year else f"{first.year} to {last.year}"
    if whole_month:
        if first.year == last.year:
            return f"{say(first, 'MMMM')} to {say(last, 'MMMM y')}"
        return f"{say(first, 'MMMM y')} to {say(last, 'MMMM y')}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{say(first, 'd')} to {say(last, 'd MMMM y')}"
    if first.year == last.year:
        return f"{say(first, 'd MMMM')} to {say(last, 'd MMMM y')}"
    return f"{say(first, 'd MMMM y')} to {say(last, 'd MMMM y')}"


def report_title(first, last, fmt):
    """ "Sales report, March 2025, PDF"; the accountant's lines: "Sales lines for the
    accountant, March 2025, CSV"."""
    if fmt == "lines":  # stored in English, shown translated (webapp.i18n.say_stored)
        return stored(N_("Sales lines for the accountant, %(period)s, CSV"),
                      period=period_name(first, last))
    return stored(N_("Sales report, %(period)s, %(format)s"), period=period_name(first, last),
                  format=fmt.upper())
