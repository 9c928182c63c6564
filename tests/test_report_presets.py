"""The Reports page: presets in shop time (business days, the shop's time zone), the
report named for people, progress followed in place by polling JSON (no reload, no meta
refresh), and the download's file name; over real HTTP (Waitress)."""
import json
import re
from datetime import UTC, date, datetime

import pytest

from conftest import http_session
from webapp import report_periods
from webapp.extensions import db
from webapp.models import Job, Setting
from webapp.report_periods import period_name, presets


def spans(today, first_weekday=0):
    return {key: (first, last) for key, (_, first, last) in presets(today, first_weekday).items()}


def test_presets_around_month_and_year_ends():
    new_year = spans(date(2025, 1, 1))  # a Wednesday
    assert new_year == {
        "today": (date(2025, 1, 1), date(2025, 1, 1)),
        "yesterday": (date(2024, 12, 31), date(2024, 12, 31)),
        "this_week": (date(2024, 12, 30), date(2025, 1, 1)),  # from Monday, last year
        "last_month": (date(2024, 12, 1), date(2024, 12, 31)),
        "this_year": (date(2025, 1, 1), date(2025, 1, 1)),
        "last_year": (date(2024, 1, 1), date(2024, 12, 31))}
    assert spans(date(2024, 3, 1))["last_month"] == (date(2024, 2, 1), date(2024, 2, 29))
    assert spans(date(2025, 3, 31))["last_month"] == (date(2025, 2, 1), date(2025, 2, 28))
    assert spans(date(2025, 3, 1))["yesterday"] == (date(2025, 2, 28),) * 2
    assert spans(date(2025, 12, 31))["this_year"] == (date(2025, 1, 1), date(2025, 12, 31))
    monday = spans(date(2025, 3, 10))["this_week"]
    assert monday == (date(2025, 3, 10), date(2025, 3, 10))
    assert spans(date(2025, 3, 9))["this_week"] == (date(2025, 3, 3), date(2025, 3, 9))
    # where the week starts on Sunday (en_US)
    assert spans(date(2025, 3, 9), 6)["this_week"] == (date(2025, 3, 9), date(2025, 3, 9))
    assert spans(date(2025, 3, 8), 6)["this_week"] == (date(2025, 3, 2), date(2025, 3, 8))


def _settings(app, **values):
    with app.app_context():
        for key, value in values.items():
            db.session.merge(Setting(key=key, value=json.dumps(value)))
        db.session.commit()


def test_presets_follow_the_shop_clock_and_business_day(app):
    """The clock fixed as the business-day tests do: a given moment, in UTC. At 11:00 UTC
    on 31 December it is 01:00 on 1 January in Kiritimati (UTC+14)."""
    moment = datetime(2025, 12, 31, 11, 0, tzinfo=UTC)
    _settings(app, timezone="Pacific/Kiritimati")
    with app.app_context():
        now = report_periods.current_presets(moment)
    assert now["today"][1:] == (date(2026, 1, 1),) * 2
    assert now["last_year"][1:] == (date(2025, 1, 1), date(2025, 12, 31))
    assert now["last_month"][1:] == (date(2025, 12, 1), date(2025, 12, 31))
    _settings(app, day_starts_at="02:00")  # 01:00 still belongs to 31 December
    with app.app_context():
        now = report_periods.current_presets(moment)
    assert now["today"][1:] == (date(2025, 12, 31),) * 2
    assert now["this_year"][1:] == (date(2025, 1, 1), date(2025, 12, 31))
    assert now["last_month"][1:] == (date(2025, 11, 1), date(2025, 11, 30))
    _settings(app, timezone="America/New_York", day_starts_at="00:00", locale="en_US")
    with app.app_context():  # 06:00 in New York, a Sunday: the week starts today
        now = report_periods.current_presets(datetime(2025, 3, 9, 11, 0, tzinfo=UTC))
    assert now["this_week"][1:] == (date(2025, 3, 9), date(2025, 3, 9))


def test_reports_are_named_for_people(app):
    with app.app_context():
        assert period_name(date(2025, 3, 1), date(2025, 3, 31)) == "March 2025"
        assert period_name(date(2025, 3, 14), date(2025, 3, 14)) == "14 March 2025"
        assert period_name(date(2025, 1, 1), date(2025, 12, 31)) == "2025"
        assert period_name(date(2024, 1, 1), date(2025, 12, 31)) == "2024 to 2025"
        assert period_name(date(2025, 3, 3), date(2025, 3, 14)) == "3 to 14 March 2025"
        assert period_name(date(2025, 2, 28), date(2025, 3, 3)) == "28 February to 3 March 2025"
        assert period_name(date(2025, 1, 1), date(2025, 3, 31)) == "January to March 2025"
        assert period_name(date(2024, 12, 30), date(2025, 1, 2)) == \
            "30 December 2024 to 2 January 2025"
        assert report_periods.report_title(date(2025, 3, 1), date(2025, 3, 31), "pdf") == \
            "Sales report, March 2025, PDF"
        assert report_periods.report_title(date(2025, 3, 1), date(2025, 3, 31), "lines") == \
            "Sales lines for the accountant, March 2025, CSV"
    _settings(app, locale="de_DE")
    with app.app_context():
        assert period_name(date(2025, 3, 1), date(2025, 3, 31)) == "März 2025"


def test_a_preset_report_from_the_page_and_the_api(shop):
    with shop.app_context():
        want = report_periods.current_presets()
    with http_session(shop) as http:
        page = http.get(http.base + "/reports/")
        assert page.status_code == 200
        assert "http-equiv" not in page.text.lower()  # no meta refresh: nothing reloads
        assert "/static/progress.js" in page.text and "/static/reports.js" in page.text
        first, last = want["last_month"][1:]
        assert (f'<option value="last_month" data-from="{first}" data-to="{last}"'
                in page.text)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        made = http.post(http.base + "/reports/", data={
            "csrf_token": token, "preset": "last_month", "from": "", "to": "",
            "format": "pdf"}, allow_redirects=False)
        assert made.status_code == 302, made.text
        api = http.post(http.base + "/api/reports", json={"preset": "this_year",
                                                          "format": "csv"})
        assert api.status_code == 202, api.text
        body = api.json()
        assert body["title"] == "Sales report, " + period_name(*want["this_year"][1:]) + ", CSV"
        status = http.get(http.base + body["status_url"])
        assert status.headers["Content-Type"].startswith("application/json")
        assert status.json()["state"] == "SUCCESS" and status.json()["job_id"] == body["report_id"]
        download = http.get(http.base + body["download_url"])
        assert download.status_code == 200
        this_year = want["this_year"][1:]
        assert download.headers["Content-Disposition"] == (
            f"attachment; filename=larder-report-{this_year[0]}-to-{this_year[1]}.csv")
        bad = http.post(http.base + "/api/reports", json={"preset": "someday", "format": "pdf"})
        assert bad.status_code == 400 and "unknown period" in bad.json()["error"]
        listed = http.get(http.base + "/reports/").text
        assert "Sales report, " + period_name(first, last) + ", PDF" in listed
    with shop.app_context():
        job = db.session.execute(db.select(Job).filter(Job.title.like("%PDF"))).scalar_one()
        params = json.loads(job.params)
    assert (params["from"], params["to"]) == (first.isoformat(), last.isoformat())


def test_progress_is_followed_in_place_by_polling_json():
    from pathlib import Path

    static = Path(__file__).parent.parent / "webapp" / "static"
    progress = (static / "progress.js").read_text()
    reports = (static / "reports.js").read_text()
    assert 'fetch("/api/tasks/"' in progress
    assert "location.reload" not in progress and "location.reload" not in reports
    assert 'fetch("/api/reports"' in reports and "preventDefault" in reports


@pytest.mark.parametrize("data, words", [
    ({"preset": "custom", "from": "2025-02-30", "to": "2025-03-01"}, "bad date"),
    ({"preset": "nope"}, "unknown period"),
])
def test_a_bad_period_on_the_page_says_why(shop, data, words):
    with http_session(shop) as http:
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          http.get(http.base + "/reports/").text).group(1)
        page = http.post(http.base + "/reports/", data={"csrf_token": token, "format": "pdf",
                                                       **data})
    assert page.status_code == 400 and words in page.text and "Traceback" not in page.text
