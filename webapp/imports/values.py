"""Money, quantities, dates and times as tills and spreadsheets write them.

Every parser returns a clean value or raises ValueProblem(reason), the reason in plain
words that say what was expected; the format turns it into `line N: column: reason`.

- money: `$8.00`, `-$3.00`, `(3.00)`, `1 234,50 €`, `1,234.50`, `1.234,50`, `7,50`, no-break
  spaces -> integer cents. One mark after the digits is a decimal mark unless it is
  followed by exactly three digits and is not the shop's decimal mark (then it groups
  thousands: `1,234` in an en shop, `1.234` in a de shop). More than two decimals that are
  not zeros, or digits grouped wrongly, are refused.
- quantities: `2`, `1.0`, `1.000` -> 2, 1, 1; a fractional quantity is refused.
- dates: ISO (`2025-12-31`, with `T` or a space, time, offset) always; `31/12/2025` or
  `12/31/2025` by the shop's locale; dots mean day.month.year (`15.03.23`). A column whose
  dates prove the other order (a day above 12) while it also has ambiguous dates is refused
  (DateReader). UTC offsets and named zones are converted to naive shop time.
"""
import functools
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..i18n import N_
from ..money import MAX_ORDER_CENTS
from .records import Reason


class ValueProblem(ValueError):
    """A value that cannot be read; str() is the plain reason (English), `reason` the
    same as a records.Reason, said in the shop's language where the problem is listed.

        raise ValueProblem(N_("not a date: %(text)r"), text=shown)
    """

    def __init__(self, msgid, **values):
        self.reason = msgid if isinstance(msgid, Reason) else Reason(msgid, **values)
        super().__init__(self.reason)


# ---- money -------------------------------------------------------------------------

# The common cases, read without ceremony: "12.50", "-3", "7,50 €", "$8.00", "-$3.00".
# A mark followed by one or two digits can only be a decimal mark.
_FAST = (re.compile(r"\s*(-)?(\d{1,9})(?:[.,](\d{1,2}))?(?:\s*(?:€|EUR|CHF|£|\$))?\s*"),
         re.compile(r"\s*(-)?[$€£](\d{1,9})(?:\.(\d{1,2}))?\s*"))
_GROUP_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'\u2019]")
# Currency signs: ISO codes and the symbols and abbreviations tills and spreadsheets write.
_CURRENCY = r"(?:[A-Z]{3}|[A-Z]{0,2}\$|[€£¥₹₽¢₣₺₩]|Fr\.|kr\.?|zł|Kč|Ft|lei)"
_MONEY = re.compile(rf"""
    (?P<open>\()?
    (?P<s1>[-\u2212+])?
    (?P<c1>{_CURRENCY})?
    (?P<s2>[-\u2212+])?
    (?P<num>\d(?:[\d.,\s\u00a0\u202f\u2009'\u2019]*\d)?)
    (?P<c2>{_CURRENCY})?
    (?P<s3>-)?
    (?P<close>\))?
    """, re.X)


def decimal_mark(locale):
    """The shop locale's decimal mark ("." or ",")."""
    from babel.numbers import get_decimal_symbol

    try:
        return get_decimal_symbol(locale or "en_GB")
    except Exception:  # an unknown locale name: Babel raises its own errors
        return "."


def parse_money(text, decimal=".", negative=False):
    """Text -> cents. `decimal` is the shop's decimal mark; `negative` allows amounts below
    zero (refund rows, discounts written negative)."""
    value = _MONEY_SEEN.get((text, decimal))
    if value is None:
        value = _money_value(text, decimal)
        if len(_MONEY_SEEN) >= 20_000:  # prices repeat; a bounded memo, not a leak
            _MONEY_SEEN.clear()
        _MONEY_SEEN[(text, decimal)] = value
    if value < 0 and not negative:
        raise ValueProblem(N_("a negative amount (%(text)s) where an amount of 0 or more "
                              "was expected"), text=text.strip())
    return value


_MONEY_SEEN = {}


def _money_value(raw, decimal):
    match = _FAST[0].fullmatch(raw) or _FAST[1].fullmatch(raw)
    if match:
        minus, units, cents = match.groups()
        value = int(units) * 100 + (int(cents) * (10 if len(cents) == 1 else 1) if cents else 0)
        value = -value if minus else value
    else:
        value = _parse_written(raw.strip(), raw, decimal)
    if abs(value) > MAX_ORDER_CENTS:
        raise ValueProblem(N_("too large (%(text)s): at most 10,000,000.00"), text=raw.strip())
    return value


def _parse_written(text, raw, decimal):
    if not text:
        raise ValueProblem(N_("missing amount"))
    match = _MONEY.fullmatch(_compact_spaces(text))
    if not match or bool(match["open"]) != bool(match["close"]):
        raise ValueProblem(N_("not an amount: %(text)r (expected like 12.50)"), text=raw.strip())
    if match["c1"] and match["c2"]:
        raise ValueProblem(N_("not an amount: %(text)r (two currency signs)"), text=raw.strip())
    signs = [s for s in (match["s1"], match["s2"], match["s3"]) if s]
    if len(signs) > 1:
        raise ValueProblem(N_("not an amount: %(text)r (more than one sign)"), text=raw.strip())
    minus = bool(match["open"]) or bool(signs and signs[0] in "-\u2212")
    cents = _number(match["num"], raw.strip(), decimal)
    return -cents if minus else cents


def _compact_spaces(text):
    # Spaces around signs and symbols carry no meaning: "- $ 3.00", "1 234,50 €".
    return re.sub(r"(?<=[^\d])\s+|\s+(?=[^\d])", "", text)


# A mark followed by one or two digits is a decimal mark in every locale (see above).
_PLAIN = (re.compile(r"-?\d{1,9}(?:\.\d{1,2})?"), re.compile(r"-?\d{1,9},\d{1,2}"))


def plain_number(text, decimal="."):
    """A number as the shop's locale writes it (`7,50`, `1 234,50 €`, `$8.00`, `-3`) as
    plain text with all its decimals (`7.50`, `1234.50`, `8.00`, `-3`), for the one set of
    input rules (webapp/validation.py) to judge; a cell that is no number written some way
    comes back as it is, so those rules' own words say why it is refused."""
    shown = text.strip()
    if _PLAIN[0].fullmatch(shown):  # "12.50", "3": as they are; "7,50": the mark only
        return shown
    if _PLAIN[1].fullmatch(shown):
        return shown.replace(",", ".")
    match = _MONEY.fullmatch(_compact_spaces(shown)) if shown else None
    if (not match or bool(match["open"]) != bool(match["close"])
            or (match["c1"] and match["c2"])
            or len([s for s in (match["s1"], match["s2"], match["s3"]) if s]) > 1):
        return shown
    try:
        whole, fraction = _number_parts(match["num"], shown, decimal)
    except ValueProblem:
        return shown
    minus = match["open"] or any(s and s in "-\u2212" for s in
                                 (match["s1"], match["s2"], match["s3"]))
    return ("-" if minus else "") + whole + ("." + fraction if fraction else "")


def _number(num, shown, decimal):
    """'1 234,50' -> 123450, by the rules in the module's docstring."""
    digits, fraction = _number_parts(num, shown, decimal)
    if len(fraction) > 2 and fraction[2:].strip("0"):
        raise ValueProblem(N_("more than two decimals: %(text)r"), text=shown)
    if len(digits) > 12:
        raise ValueProblem(N_("too large (%(text)s): at most 10,000,000.00"), text=shown)
    return int(digits) * 100 + int((fraction + "00")[:2])


def _number_parts(num, shown, decimal):
    """'1 234,50' -> ('1234', '50'): the digits before and after the decimal mark."""
    num = _GROUP_SPACES.sub(" ", num)
    dots, commas = num.count("."), num.count(",")
    mark = group = None
    if dots and commas:
        mark = "." if num.rfind(".") > num.rfind(",") else ","
        group = "," if mark == "." else "."
    elif dots or commas:
        sign = "." if dots else ","
        after = len(num) - num.rfind(sign) - 1
        if (dots or commas) > 1 or (after == 3 and sign != decimal):
            group = sign
        else:
            mark = sign
    whole, _, fraction = num.partition(mark) if mark else (num, "", "")
    if mark and (not fraction.isdigit() or (group and group in fraction)):
        raise ValueProblem(N_("not an amount: %(text)r (expected like 12.50)"), text=shown)
    parts = re.split(r"[ ,.]", whole) if (group or " " in whole) else [whole]
    if len(parts) > 1 and (not 1 <= len(parts[0]) <= 3
                           or any(len(p) != 3 for p in parts[1:])
                           or (group and any(g not in (group, " ")
                                             for g in re.findall(r"[ ,.]", whole)))):
        raise ValueProblem(N_("not an amount: %(text)r (digits grouped wrongly; expected "
                              "like 1,234.50 or 1 234,50)"), text=shown)
    if not all(p.isdigit() for p in parts):
        raise ValueProblem(N_("not an amount: %(text)r (expected like 12.50)"), text=shown)
    return "".join(parts), fraction


# ---- quantities ----------------------------------------------------------------------

def parse_quantity(text, negative=False):
    """'2' / '1.0' / '1,000' -> whole number; refunds may be negative when allowed."""
    text = text.strip()
    if text.isdigit() and len(text) < 10:
        return int(text)
    shown = text
    if text.count(",") == 1 and "." not in text:
        if len(text) - text.index(",") == 4:  # "1,000": one, or a thousand?
            raise ValueProblem(N_("ambiguous quantity %(text)r: write it as 1000 or as 1"),
                               text=shown)
        text = text.replace(",", ".")
    text = text.replace("\u2212", "-")
    if not re.fullmatch(r"[-+]?\d{1,9}(\.\d*)?", text):
        if not shown:
            raise ValueProblem(N_("missing quantity"))
        raise ValueProblem(N_("not a quantity: %(text)r (expected a whole number like 2)"),
                           text=shown)
    value = Decimal(text)
    if value != value.to_integral_value():
        raise ValueProblem(N_("a fractional quantity (%(text)s): Larder counts whole items; "
                              "sell by the piece or by a fixed weight"), text=shown)
    value = int(value)
    if value < 0 and not negative:
        raise ValueProblem(N_("a negative quantity (%(text)s)"), text=shown)
    return value


# ---- dates and times -----------------------------------------------------------------

_DATE = re.compile(r"""\s*
    (?P<a>\d{1,4})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{2,4})\.?
    (?:(?:,?\s+|T)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?
       \s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?
    \s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2}|[+-]\d{2})?\s*""", re.X)
ORDER_WORDS = {"dmy": N_("day/month/year"), "mdy": N_("month/day/year"),
               "ymd": N_("year-month-day")}


def date_order(locale):
    """'dmy', 'mdy' or 'ymd': how the locale writes a short date (Babel)."""
    from babel.dates import get_date_format

    try:
        pattern = get_date_format("short", locale=locale or "en_GB").pattern
    except Exception:
        return "dmy"
    positions = sorted((pattern.find(ch), key) for ch, key in (("d", "d"), ("M", "m"),
                                                                ("y", "y")) if ch in pattern)
    order = "".join(key for _, key in positions)
    return order if order in ORDER_WORDS else "dmy"


def shop_zone(name):
    """The shop's time zone setting -> tzinfo (None: the computer's own zone)."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueProblem(N_("unknown time zone %(name)r in the shop's settings"),
                           name=name) from None


def to_shop_time(moment, shop_tz):
    """An aware datetime -> naive shop time (a naive one is already shop time)."""
    if moment.tzinfo is None:
        return moment
    local = moment.astimezone(shop_tz) if shop_tz is not None else moment.astimezone()
    return local.replace(tzinfo=None)


@functools.lru_cache(maxsize=64)
def _offset(text):
    if text in ("Z", "UTC", "GMT"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        raise ValueProblem(N_("not a time offset: %(text)r"), text=text)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


_OFFSET = re.compile(r"Z|UTC|GMT|[+-]\d{2}:?\d{2}")


def _iso(text):
    """'2025-03-01 10:15:00', with 'T' and/or an offset ('-0500', '+01:00', 'Z'), or None."""
    if len(text) < 19 or text[4:5] != "-" or text[10:11] not in (" ", "T"):
        return None
    try:
        moment = datetime.fromisoformat(text[:19])
    except ValueError:
        return None
    rest = text[19:].strip()
    if not rest:
        return moment
    if _OFFSET.fullmatch(rest):
        return moment.replace(tzinfo=_offset(rest))
    return None


class DateReader:
    """Reads one column's dates and times, remembering what the column has shown so far.

    A date like 03/06/2025 is read in the shop's order (locale). If the same column also
    has a date that can only be the other order (14/06/2025 in a month/day/year shop), the
    ambiguous ones were misread: read() raises once, naming both lines."""

    def __init__(self, locale="en_GB", shop_tz=None, locale_label=""):
        self.order = date_order(locale)
        self.locale_label = locale_label or locale
        self.shop_tz = shop_tz
        self.first_ambiguous = None   # (line, text)
        self.proof = None             # (line, text, order)
        self.refused = False
        self._last = (None, None)

    def read(self, text, line=0, zone=None):
        """Text -> naive shop time. `zone`: the tzinfo of a time without offset (a file's
        time-zone column); None: the time is shop time already."""
        if text == self._last[0] and zone is None:
            return self._last[1]
        moment = _iso(text)  # the tills' own format, read fast; anything else below
        if moment is not None:
            if moment.tzinfo is not None:
                moment = to_shop_time(moment, self.shop_tz)
            elif zone is not None:
                moment = to_shop_time(moment.replace(tzinfo=zone), self.shop_tz)
            return moment
        match = _DATE.fullmatch(text)
        if not match:
            if not text.strip():
                raise ValueProblem(N_("missing date"))
            raise ValueProblem(N_("not a date: %(text)r (expected like 2025-12-31 or "
                                  "31/12/2025 14:05)"), text=text.strip())
        a, b, c = match["a"], match["b"], match["c"]
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        elif len(a) > 2 or len(c) == 3:
            raise ValueProblem(N_("not a date: %(text)r"), text=text.strip())
        else:
            year = int(c) + (2000 if len(c) == 2 else 0)
            day, month = self._day_month(int(a), int(b), match["sep"], line, text.strip())
        hour, minute = int(match["H"] or 0), int(match["M"] or 0)
        second = int(match["S"] or 0)
        if match["ampm"]:
            if not 1 <= hour <= 12:
                raise ValueProblem(N_("not a time: %(text)r"), text=text.strip())
            hour = hour % 12 + (12 if match["ampm"][0] in "Pp" else 0)
        try:
            moment = datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise ValueProblem(N_("not a date: %(text)r (no such day or time)"),
                               text=text.strip()) from None
        if match["tz"]:
            moment = to_shop_time(moment.replace(tzinfo=_offset(match["tz"])), self.shop_tz)
        elif zone is not None:
            moment = to_shop_time(moment.replace(tzinfo=zone), self.shop_tz)
        self._last = (text, moment) if zone is None else (None, None)
        return moment

    def _day_month(self, first, second, separator, line, shown):
        if separator == ".":           # 15.03.23: dotted dates are day.month.year
            return first, second
        if first > 12 and second > 12:
            raise ValueProblem(N_("not a date: %(text)r"), text=shown)
        if first > 12 or second > 12:
            order = "dmy" if first > 12 else "mdy"
            if self.proof is None:
                self.proof = (line, shown, order)
            self._check()
            return (first, second) if order == "dmy" else (second, first)
        if first != second and self.first_ambiguous is None:
            self.first_ambiguous = (line, shown)
        self._check()
        if self.order == "ymd":
            raise ValueProblem(N_("ambiguous date %(text)r: it could be day/month or "
                                  "month/day; export dates as 2025-12-31"), text=shown)
        return (first, second) if self.order == "dmy" else (second, first)

    def _check(self):
        if self.refused or not (self.proof and self.first_ambiguous):
            return
        proof_line, proof_text, order = self.proof
        if order == self.order:
            return
        self.refused = True
        amb_line, amb_text = self.first_ambiguous
        raise ValueProblem(N_(
            "this file writes dates %(order)s (line %(proof_line)s: %(proof)s), but the "
            "shop's date format (%(locale)s) is %(shop_order)s, so dates such as "
            "%(example)s (line %(example_line)s) cannot be read safely; change the shop's "
            "locale in Settings or export the dates as 2025-12-31"),
            order=Reason(ORDER_WORDS[order]), proof_line=proof_line, proof=proof_text,
            locale=self.locale_label, shop_order=Reason(ORDER_WORDS[self.order]),
            example=amb_text, example_line=amb_line)


# Square writes its locations' zones with Rails (ActiveSupport::TimeZone) names.
RAILS_ZONES = {
    "Hawaii": "Pacific/Honolulu", "Alaska": "America/Juneau",
    "Pacific Time (US & Canada)": "America/Los_Angeles", "Arizona": "America/Phoenix",
    "Mountain Time (US & Canada)": "America/Denver",
    "Central Time (US & Canada)": "America/Chicago",
    "Eastern Time (US & Canada)": "America/New_York", "Indiana (East)": "America/Indiana/Indianapolis",
    "Atlantic Time (Canada)": "America/Halifax", "Newfoundland": "America/St_Johns",
    "Saskatchewan": "America/Regina", "Mexico City": "America/Mexico_City",
    "Puerto Rico": "America/Puerto_Rico", "UTC": "Etc/UTC", "London": "Europe/London",
    "Edinburgh": "Europe/London", "Dublin": "Europe/Dublin", "Lisbon": "Europe/Lisbon",
    "Madrid": "Europe/Madrid", "Paris": "Europe/Paris", "Brussels": "Europe/Brussels",
    "Amsterdam": "Europe/Amsterdam", "Berlin": "Europe/Berlin", "Bern": "Europe/Zurich",
    "Zurich": "Europe/Zurich", "Rome": "Europe/Rome", "Vienna": "Europe/Vienna",
    "Stockholm": "Europe/Stockholm", "Copenhagen": "Europe/Copenhagen",
    "Warsaw": "Europe/Warsaw", "Prague": "Europe/Prague", "Athens": "Europe/Athens",
    "Helsinki": "Europe/Helsinki", "Sydney": "Australia/Sydney",
    "Melbourne": "Australia/Melbourne", "Brisbane": "Australia/Brisbane",
    "Perth": "Australia/Perth", "Adelaide": "Australia/Adelaide",
    "Auckland": "Pacific/Auckland", "Tokyo": "Asia/Tokyo",
}


def zone_named(name):
    """A file's time-zone cell (Rails name or IANA name) -> tzinfo."""
    name = name.strip()
    try:
        return ZoneInfo(RAILS_ZONES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueProblem(N_("unknown time zone %(name)r (expected a name like "
                              "'Eastern Time (US & Canada)' or 'Europe/Paris')"),
                           name=name) from None
