"""Closed business days (Z-reports). A closed day cannot change: nothing may be recorded
with a time inside it (docs/figures.md, "The end of the day")."""
from .extensions import db
from .models import ZReport
from .settings import business_day_of
from .validation import ValidationError


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
