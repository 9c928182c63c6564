"""The one set of input rules, for the forms, the API and the CSV import alike.

Each field type below is a pydantic type built on webapp.money's parsers, so a price, a
stock value, a quantity, a tax rate, an SKU or an email is accepted or refused the same
way everywhere, with the same plain message. Input models (catalog.ProductIn,
ordering.OrderIn, ...) combine them; `check(Model, data)` turns pydantic's errors into
ValidationError({field: reason}), which webapp.errors maps to a 400 / the form's messages.
"""
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter
from pydantic import ValidationError as PydanticError

from .i18n import _, format_count, lazy_gettext
from .money import (MAX_QUANTITY, MAX_STOCK, NumberError, parse_money,
                    parse_whole)


class ValidationError(ValueError):
    """errors: {field: reason}"""

    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# The one SKU rule (forms, API, CSV import, orders, demo): it is part of URLs such as
# /api/products/<sku>, so only characters that need no escaping there.
SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Messages are in the shop's language (webapp/i18n.py), here and in the API's errors: one
# set of rules says the same thing on the form, in the API and in the import's report.
SKU_RULE = lazy_gettext("1 to 64 letters, digits, '.', '_' or '-', starting with a letter or "
                        "digit")
# A domain of dot-separated, non-empty labels: "a@b..c", "a@.b.c" and "a@b.c." cannot be
# delivered (the forms used to take them while the CSV import refused them).
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
MAX_RATE_BP = 10_000  # 100.00 %
# Barcodes are the GS1 codes printed on retail goods, as a scanner types them: EAN-8,
# UPC-A (12 digits) or EAN-13, the last digit a check digit. Other lengths (GTIN-14 of
# outer cases, ITF, a shop's own codes) are refused: such a code is the SKU instead.
BARCODE_LENGTHS = (8, 12, 13)
BARCODE_RULE = "8, 12 or 13 digits (an EAN-8, UPC-A or EAN-13 barcode)"


def _text(max_len, required=True):
    def clean(value):
        if isinstance(value, (bool, dict, list)):  # JSON true or [..] is not a name
            raise ValueError(_("must be text"))
        value = "" if value is None else str(value).strip()
        if required and not value:
            raise ValueError(_("is required"))
        if len(value) > max_len:
            raise ValueError(_("at most %(max)s characters", max=max_len))
        return value
    return clean


def _blank(value):
    return value is None or str(value).strip() == ""


def _money(value):
    if _blank(value):
        raise ValueError(_("is required"))
    try:
        return parse_money("" if value is None else value)
    except NumberError as exc:
        raise ValueError(str(exc)) from None


def _optional_money(value):
    return None if value is None or str(value).strip() == "" else _money(value)


def _whole(low, high, rule):
    def clean(value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON 7.0: the form and the CSV take "7.0" too
        if _blank(value):
            raise ValueError(_("is required"))
        try:
            return parse_whole("" if value is None else value, low, high)
        except NumberError:
            raise ValueError(rule()) from None
    return clean


def _optional(clean):
    return lambda value: None if value is None or str(value).strip() == "" else clean(value)


def _sku(value):
    value = _text(64)(value)
    if not SKU_RE.fullmatch(value):
        raise ValueError(SKU_RULE)
    return value


def barcode_check_digit_ok(digits):
    """The GS1 check: weights 3, 1, 3... from the digit left of the check digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == int(digits[-1])


def _barcode(value):
    # Digits only, as printed under the bars ("5 012345 678900" typed by hand: spaces go).
    value = _text(40)(value).replace(" ", "")
    if not (value.isascii() and value.isdigit() and len(value) in BARCODE_LENGTHS):
        raise ValueError(BARCODE_RULE)
    if not barcode_check_digit_ok(value):
        raise ValueError(_("the last digit (the check digit) does not match the others: "
                           "check the code, or scan it"))
    return value


def barcode_forms(code):
    """The ways one barcode is written: a UPC-A (12 digits) is also scanned as the EAN-13
    with a leading 0, and the other way round. Lookups and the one-product-per-barcode
    check use all of them."""
    if len(code) == 12:
        return [code, "0" + code]
    if len(code) == 13 and code.startswith("0"):
        return [code, code[1:]]
    return [code]


def _email(value):
    value = _text(254)(value).lower()
    if not EMAIL_RE.fullmatch(value):
        raise ValueError(_("not an email address"))
    return value


def parse_rate(value):
    """'20' / '5.5' / 7.7 (percent, up to two decimals, 0 to 100) -> basis points."""
    rule = _("a percent from 0 to 100, like 20 or 5.5")
    if isinstance(value, bool):
        raise ValueError(rule)
    text = str(value).strip().removesuffix("%").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(rule) from None
    if not number.is_finite() or not 0 <= number <= 100:
        raise ValueError(rule)
    if number != number.quantize(Decimal("0.01")):
        raise ValueError(_("a percent with at most two decimals"))
    return int(number * 100)


def rate_text(rate_bp):
    """Basis points -> the percent as typed: 2000 -> '20', 550 -> '5.5', None -> ''."""
    return "" if rate_bp is None else f"{Decimal(rate_bp) / 100:f}"


Text = Annotated[str, BeforeValidator(_text(200))]
OptionalText = Annotated[str, BeforeValidator(_text(200, required=False))]
ShortText = Annotated[str, BeforeValidator(_text(100))]              # category, country
OptionalShortText = Annotated[str, BeforeValidator(_text(100, required=False))]
Sku = Annotated[str, BeforeValidator(_sku)]
OptionalBarcode = Annotated[str | None, BeforeValidator(_optional(_barcode))]
OrderRef = Annotated[str, BeforeValidator(_text(64))]               # an order's ref
Email = Annotated[str, BeforeValidator(_email)]
OptionalEmail = Annotated[str | None, BeforeValidator(_optional(_email))]
Money = Annotated[int, BeforeValidator(_money)]                      # cents
OptionalMoney = Annotated[int | None, BeforeValidator(_optional_money)]


def _stock_rule():
    return _("a whole number from 0 to %(max)s", max=format_count(MAX_STOCK))


def _quantity_rule():
    return _("a whole number from 1 to %(max)s", max=format_count(MAX_QUANTITY))


Stock = Annotated[int, BeforeValidator(_whole(0, MAX_STOCK, _stock_rule))]
OptionalStock = Annotated[int | None, BeforeValidator(_optional(
    _whole(0, MAX_STOCK, _stock_rule)))]
Quantity = Annotated[int, BeforeValidator(_whole(1, MAX_QUANTITY, _quantity_rule))]
TaxRate = Annotated[int, BeforeValidator(parse_rate)]                # basis points
OptionalTaxRate = Annotated[int | None, BeforeValidator(_optional(parse_rate))]


class Input(BaseModel):
    """Base of the input models: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _field_name(loc):
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "fields"


def check(model, data):
    """model(**data), or ValidationError({field: reason}) naming every bad field."""
    if not isinstance(data, dict):
        raise ValidationError({"fields": _("must be an object")})
    data = {k: v for k, v in data.items() if k != "csrf_token"}
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        errors = {}
        for error in exc.errors():
            name = _field_name(error["loc"])
            if error["type"] == "extra_forbidden":
                errors.setdefault("fields", _("unknown: %(name)s", name=name))
            elif error["type"] == "missing":
                errors.setdefault(name, _("is required"))
            else:
                errors.setdefault(name, _reason(error))
        raise ValidationError(errors) from None


def _reason(error):
    return str(error.get("ctx", {}).get("error", "")) or error["msg"]


def field_rule(model, name):
    """One field of an input model (or a field type above, name None) as a function:
    value -> the clean value, or ValueError(the reason check() gives). For files read
    cell by cell (Larder's import layouts), with the models' own rules and words."""
    if name is None:
        metadata = getattr(model, "__metadata__", ())
        adapter = TypeAdapter(model)
    else:
        info = model.model_fields[name]
        metadata = info.metadata
        adapter = TypeAdapter(Annotated[(info.annotation, *info.metadata)])
    if len(metadata) == 1 and isinstance(metadata[0], BeforeValidator):
        # The field types above are one cleaning function each, whose ValueError is the
        # reason: called directly, the same rule costs a few times less per cell.
        return metadata[0].func

    def rule(value):
        try:
            return adapter.validate_python(value)
        except PydanticError as exc:
            raise ValueError(_reason(exc.errors()[0])) from None
    return rule

