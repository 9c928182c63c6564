"""Business days and shop time (webapp.settings): a day that starts at 02:00, days across
a daylight-saving change (Europe/Paris, 30 March and 26 October 2025), times stored in
the shop's time zone. Expected values come from the tz database (zoneinfo), not from
the code under test."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from webapp.extensions import db
from webapp.models import Customer

UTC = timezone.utc


def _set(app, **values):
    from webapp import settings

    with app.app_context():
        settings.save(values)


def test_business_day_with_a_0200_start(app):
    from webapp.settings import business_day_of, business_day_span

    _set(app, day_starts_at="02:00")
    with app.app_context():
        assert business_day_of(datetime(2025, 6, 2, 1, 30)) == date(2025, 6, 1)
        assert business_day_of(datetime(2025, 6, 2, 1, 59, 59)) == date(2025, 6, 1)
        assert business_day_of(datetime(2025, 6, 2, 2, 0)) == date(2025, 6, 2)
        assert business_day_of(datetime(2025, 1, 1, 0, 30)) == date(2024, 12, 31)
        assert business_day_span(date(2025, 6, 1)) == (datetime(2025, 6, 1, 2, 0),
                                                       datetime(2025, 6, 2, 2, 0))
        assert business_day_span(date(2024, 12, 31))[1] == datetime(2025, 1, 1, 2, 0)
    _set(app, day_starts_at="00:00")
    with app.app_context():
        assert business_day_of(datetime(2025, 6, 2, 1, 30)) == date(2025, 6, 2)
        assert business_day_of(datetime(2025, 6, 1, 23, 59, 59)) == date(2025, 6, 1)


@pytest.mark.parametrize("day, real_hours", [(date(2025, 3, 30), 23), (date(2025, 10, 26), 25)])
def test_business_days_across_a_daylight_saving_change(app, day, real_hours):
    from webapp.settings import business_day_of, business_day_span

    paris = ZoneInfo("Europe/Paris")
    _set(app, timezone="Europe/Paris", day_starts_at="02:00")
    with app.app_context():
        since, until = business_day_span(day)
        assert (since, until) == (datetime(day.year, day.month, day.day, 2, 0),
                                  datetime(day.year, day.month, day.day, 2, 0)
                                  + timedelta(days=1))
        # The span's real length, from the tz database: 23 h in March, 25 h in October.
        start = since.replace(tzinfo=paris, fold=0).astimezone(UTC)
        end = until.replace(tzinfo=paris).astimezone(UTC)
        assert end - start == timedelta(hours=real_hours)
        # Every real minute of that span (as UTC instants) counts on `day`, and the minutes
        # just outside it do not.
        moment = start
        while moment < end:
            assert business_day_of(moment) == day, moment
            moment += timedelta(minutes=10)
        assert business_day_of(start - timedelta(seconds=1)) == day - timedelta(days=1)
        assert business_day_of(end) == day + timedelta(days=1)
    if day.month == 10:  # 02:30 happens twice that night: both count on the 26th
        with app.app_context():
            assert business_day_of(datetime(2025, 10, 26, 0, 30, tzinfo=UTC)) == day  # CEST
            assert business_day_of(datetime(2025, 10, 26, 1, 30, tzinfo=UTC)) == day  # CET
            assert business_day_of(datetime(2025, 10, 25, 23, 30, tzinfo=UTC)) == \
                date(2025, 10, 25)  # 01:30 CEST, before the day starts
    else:  # 01:30 CET still counts on the 29th; 03:30 CEST (an hour later) on the 30th
        with app.app_context():
            assert business_day_of(datetime(2025, 3, 30, 0, 30, tzinfo=UTC)) == \
                date(2025, 3, 29)
            assert business_day_of(datetime(2025, 3, 30, 1, 30, tzinfo=UTC)) == day


def test_stored_times_are_shop_time_when_a_timezone_is_set(app):
    from webapp.models import now

    # Kiritimati is UTC+14: far from any test machine's clock, so the zone must be applied.
    zone = ZoneInfo("Pacific/Kiritimati")
    _set(app, timezone="Pacific/Kiritimati")
    with app.app_context():
        expected = datetime.now(zone).replace(tzinfo=None)
        assert abs(now() - expected) < timedelta(minutes=1)
    with app.app_context():  # created_at's column default runs inside the flush
        db.session.add(Customer(email="kiri@example.com", name="K", country="Kiribati"))
        db.session.commit()
        created_at = db.session.execute(
            db.select(Customer.created_at).filter_by(email="kiri@example.com")).scalar()
        assert abs(created_at - datetime.now(zone).replace(tzinfo=None)) < timedelta(minutes=1)
    _set(app, timezone="")
    with app.app_context():
        assert abs(now() - datetime.now()) < timedelta(minutes=1)  # the computer's


def test_an_order_over_http_is_dated_in_shop_time(app, shop):
    from conftest import http_session
    from webapp.models import Order

    zone = ZoneInfo("Pacific/Kiritimati")  # UTC+14
    _set(app, timezone="Pacific/Kiritimati")
    with http_session(app) as http:
        created = http.post(http.base + "/api/orders", json={
            "customer_email": "ann@example.com", "lines": [{"sku": "SKU-001", "quantity": 1}]})
        assert created.status_code == 201, created.text
        stamp = datetime.fromisoformat(created.json()["created_at"])
    assert abs(stamp - datetime.now(zone).replace(tzinfo=None)) < timedelta(minutes=1)
    with app.app_context():
        assert db.session.execute(db.select(Order.created_at)).scalar() == stamp
