"""End of day: X and Z reports (webapp.day_close), their files, the CLI, the API, the page
and the beat job. Figures are summed here from the rows the test writes, with the
business day starting at 02:00 and orders on both edges of the day."""
import hashlib
import json
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from cache_servers import new_database, postgres_server  # noqa: F401  (fixture)
from conftest import csrf_from, http_session
from test_cli import larder, one_line_error
from webapp import day_close, settings, stats
from webapp.extensions import db
from webapp.models import Order, OrderLine, Product, Refund, RefundLine, Setting, ZReport
from webapp.validation import ValidationError
from webapp.zreport_files import render_csv, render_pdf

DAY = date(2025, 3, 14)
SINCE, UNTIL = datetime(2025, 3, 14, 2, 0, 0), datetime(2025, 3, 15, 2, 0, 0)
SECOND = timedelta(seconds=1)

# ref, created_at, status, payment method, order discount, lines: (rate bp, net, tax)
# (a line's net + tax is what it came to after discounts; the order's gross adds its
# discount back: gross - discount = total = sum(net + tax)).
ORDERS = [
    ("A-first", SINCE, "processed", "cash", 0, [(2000, 2000, 400), (550, 313, 17)]),
    ("B-last", UNTIL - SECOND, "pending", "card", 150, [(2000, 1042, 208), (770, 929, 72)]),
    ("C-mid", datetime(2025, 3, 14, 13, 5), "imported", "cash", 0, [(550, 948, 52)]),
    ("D-before", SINCE - SECOND, "processed", "cash", 0, [(2000, 5000, 1000)]),
    ("E-after", UNTIL, "processed", "cash", 0, [(2000, 7000, 1400)]),
    ("F-failed", datetime(2025, 3, 14, 9), "failed", "cash", 0, [(2000, 9000, 1800)]),
    ("G-cancel", datetime(2025, 3, 14, 10), "cancelled", "card", 0, [(2000, 3000, 600)]),
]
# order ref, created_at, method ("" = the order's), [(index of the order's line, net, tax)]
REFUNDS = [
    ("D-before", datetime(2025, 3, 14, 15, 0), "", [(0, 1000, 200)]),   # counts on DAY
    ("A-first", UNTIL, "cash", [(1, 313, 17)]),                         # next day: not
    ("C-mid", UNTIL - SECOND, "card", [(0, 474, 26)]),                  # last second: counts
]
COUNTED = {"pending", "processed", "imported"}


def setting(name, value):
    db.session.merge(Setting(key=name, value=json.dumps(value)))
    db.session.commit()


@pytest.fixture
def day_shop(app):
    with app.app_context():
        setting("day_starts_at", "02:00")
        product = Product(sku="P1", name="Bread", category="Bakery", price_cents=100, stock=5)
        db.session.add(product)
        orders = {}
        for ref, when, status, method, discount, lines in ORDERS:
            total = sum(n + t for _, n, t in lines)
            order = Order(ref=ref, created_at=when, status=status, payment_method=method,
                          gross_cents=total + discount, discount_cents=discount,
                          total_cents=total, tax_cents=sum(t for _, _, t in lines))
            order.lines = [OrderLine(product=product, quantity=1, unit_price_cents=n + t,
                                     tax_rate_bp=rate, net_cents=n, tax_cents=t)
                           for rate, n, t in lines]
            db.session.add(order)
            orders[ref] = order
        db.session.flush()
        for ref, when, method, lines in REFUNDS:
            order = orders[ref]
            refund = Refund(order=order, created_at=when, payment_method=method,
                            net_cents=sum(n for _, n, _ in lines),
                            tax_cents=sum(t for _, _, t in lines),
                            amount_cents=sum(n + t for _, n, t in lines))
            refund.lines = [RefundLine(order_line_id=order.lines[i].id, quantity=1,
                                       tax_rate_bp=order.lines[i].tax_rate_bp, net_cents=n,
                                       tax_cents=t) for i, n, t in lines]
            db.session.add(refund)
        db.session.commit()
    return app


def expected_day():
    """The day's figures in cents, from ORDERS and REFUNDS alone."""
    sales = [o for o in ORDERS if o[2] in COUNTED and SINCE <= o[1] < UNTIL]
    refunds = [r for r in REFUNDS if SINCE <= r[1] < UNTIL]
    by_ref = {o[0]: o for o in ORDERS}
    totals = {o[0]: sum(n + t for _, n, t in o[5]) for o in ORDERS}
    gross = sum(totals[o[0]] + o[4] for o in sales)
    discounts = sum(o[4] for o in sales)
    refunded = sum(n + t for r in refunds for _, n, t in r[3])
    rates, methods = {}, {}
    for o in sales:
        methods.setdefault(o[3], [0, 0])
        methods[o[3]][0] += 1
        methods[o[3]][1] += totals[o[0]]
        for rate, n, t in o[5]:
            rates.setdefault(rate, [0, 0])
            rates[rate][0] += n
            rates[rate][1] += t
    for ref, _, method, lines in refunds:
        order = by_ref[ref]
        methods.setdefault(method or order[3], [0, 0])
        methods[method or order[3]][1] -= sum(n + t for _, n, t in lines)
        for i, n, t in lines:
            rates[order[5][i][0]][0] -= n
            rates[order[5][i][0]][1] -= t
    tax = sum(t for _, t in rates.values())
    return {"orders": len(sales), "gross": gross, "discounts": discounts,
            "refunds": refunded, "revenue": gross - discounts - refunded, "tax": tax,
            "rates": rates, "methods": methods, "first": sales[0][0], "last": sales[-1][0]}


def cents(number):
    return round(number * 100)


def test_z_report_figures_of_a_day_cut_at_two_in_the_morning(day_shop):
    want = expected_day()
    # written out too, so that a slip in expected_day() cannot hide a wrong figure
    assert (want["orders"], want["gross"], want["discounts"]) == (3, 5981 + 150, 150)
    assert want["refunds"] == 1200 + 500 and want["revenue"] == 5981 - 1700
    assert want["methods"] == {"cash": [2, 3730 - 1200], "card": [1, 2251 - 500]}
    with day_shop.app_context():
        row, created = day_close.close_day(DAY)
        data = json.loads(row.json_body)
        board = stats.dashboard(DAY)  # the dashboard agrees with the Z-report
    assert board["today"] == {"orders": want["orders"], "revenue_cents": want["revenue"]}
    assert created and row.number == 1 and (row.since, row.until) == (SINCE, UNTIL)
    assert (data["report"], data["number"], data["business_day"]) == ("Z", 1, "2025-03-14")
    assert (data["since"], data["until"]) == ("2025-03-14T02:00:00", "2025-03-15T02:00:00")
    assert (data["first_order"], data["last_order"]) == ("A-first", "B-last")
    t = data["totals"]
    assert t["orders"] == want["orders"]
    for key in ("gross", "discounts", "refunds", "revenue", "tax"):
        assert cents(t[key]) == want[key], key
    assert cents(t["net"]) == want["revenue"] - want["tax"]
    assert [(cents(r["rate"]), cents(r["net"]), cents(r["tax"]), cents(r["gross"]))
            for r in data["tax"]] == [(rate, n, t, n + t)
                                      for rate, (n, t) in sorted(want["rates"].items())]
    assert sum(cents(r["gross"]) for r in data["tax"]) == want["revenue"]
    assert {p["method"]: [p["orders"], cents(p["takings"])]
            for p in data["payments"]} == want["methods"]
    assert cents(data["cash_expected"]) == want["methods"]["cash"][1] == 2530
    assert row.sha256 == hashlib.sha256(row.json_body.encode()).hexdigest()
    csv_rows = [line.split(",") for line in row.csv_body.splitlines()]
    assert ["totals", "3", "61.31", "1.50", "17.00", "42.81", f"{want['tax'] / 100:.2f}",
            f"{(want['revenue'] - want['tax']) / 100:.2f}", "25.30"] in csv_rows


def test_x_report_is_the_day_so_far_and_stores_nothing(day_shop):
    with day_shop.app_context():
        x = day_close.x_report(now=datetime(2025, 3, 15, 1, 30))  # still the 14th
        assert db.session.scalar(db.select(db.func.count(ZReport.id))) == 0
    assert (x["report"], x["number"], x["business_day"]) == ("X", None, "2025-03-14")
    assert x["printed_at"] == "2025-03-15T01:30:00"
    assert cents(x["totals"]["revenue"]) == expected_day()["revenue"]


def test_closing_twice_returns_the_first_report_and_numbers_follow_closing_order(day_shop):
    with day_shop.app_context():
        first, created = day_close.close_day(DAY)
        setting("shop_name", "Renamed after the close")
        again, created_again = day_close.close_day(DAY)
        other, _ = day_close.close_day(DAY - timedelta(days=3))
        assert (created, created_again) == (True, False)
        assert (again.number, again.sha256, again.pdf_body) == (1, first.sha256, first.pdf_body)
        assert other.number == 2
        assert db.session.scalar(db.select(db.func.count(ZReport.id))) == 2


def test_a_future_day_is_refused_today_may_be_closed(day_shop):
    now = datetime(2025, 3, 15, 1, 0)  # business day 2025-03-14 (starts at 02:00)
    with day_shop.app_context():
        with pytest.raises(ValidationError, match="has not started yet"):
            day_close.close_day(DAY + timedelta(days=1), now=now)
        row, created = day_close.close_day(DAY, now=now)
        assert created and row.created_at == now
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        day_close.parse_day("20250314")
    assert day_close.parse_day(" 2025-03-14 ") == DAY


def test_nothing_can_be_dated_inside_a_closed_day(day_shop):
    with day_shop.app_context():
        day_close.close_day(DAY)
        for inside in (SINCE, UNTIL - SECOND):
            with pytest.raises(day_close.DayClosed, match="2025-03-14 is closed"):
                day_close.ensure_open(inside)
        day_close.ensure_open(SINCE - SECOND)  # the 13th: open
        day_close.ensure_open(UNTIL)  # the 15th: open


def test_open_moment_dates_into_the_next_open_day(day_shop):
    with day_shop.app_context():
        for day in (DAY, DAY + timedelta(days=1)):
            day_close.close_day(day, now=datetime(2025, 3, 20, 12))
        now = datetime(2025, 3, 16, 11, 0)
        # open: unchanged; closed 14th and 15th: the 16th, today, so now
        assert day_close.open_moment(SINCE - SECOND, now) == SINCE - SECOND
        assert day_close.open_moment(SINCE + timedelta(hours=3), now) == now
        # seen from the 20th, the 16th is a past open day: its first moment
        assert day_close.open_moment(SINCE, datetime(2025, 3, 20, 9)) == \
            datetime(2025, 3, 16, 2, 0)


def test_two_closes_racing_make_no_gap_and_no_duplicate(day_shop):
    days = [DAY - timedelta(days=i) for i in range(6)]
    jobs = days + [DAY] * 4  # six days, and four more closes of the same day
    start = threading.Barrier(len(jobs))
    results, errors = [], []

    def close(day):
        with day_shop.app_context():
            try:
                start.wait()
                row, created = day_close.close_day(day)
                results.append((day, row.number, created))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=close, args=(day,)) for day in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with day_shop.app_context():
        rows = db.session.execute(db.select(ZReport.number, ZReport.business_day)).all()
    assert sorted(n for n, _ in rows) == [1, 2, 3, 4, 5, 6]
    assert sorted(d for _, d in rows) == sorted(days)
    numbers = {d: n for n, d in rows}
    assert all(numbers[day] == number for day, number, _ in results)
    assert sum(created for _, _, created in results) == 6


def test_the_unique_constraints_refuse_a_second_number_or_day(day_shop):
    with day_shop.app_context():
        day_close.close_day(DAY)
        for number, day in ((1, DAY - timedelta(days=1)), (2, DAY)):
            db.session.add(ZReport(number=number, business_day=day, since=SINCE,
                                   until=UNTIL, json_body="{}", sha256=""))
            with pytest.raises(IntegrityError):
                db.session.commit()
            db.session.rollback()


def test_the_pdf_is_the_same_bytes_for_the_same_data(day_shop):
    with day_shop.app_context():
        data = day_close.report_data(DAY, 7, datetime(2025, 3, 15, 2, 5))
        assert render_pdf(data) == render_pdf(data)
        pdf = render_pdf(data)
    from io import BytesIO

    from pypdf import PdfReader

    text = PdfReader(BytesIO(pdf)).pages[0].extract_text()
    for words in ("Z-report No. 7", "2025-03-14 02:00:00", "2025-03-15 02:05:00", "A-first",
                  "B-last", "Revenue\n€42.81", "Cash expected in the till\n€25.30",
                  "5.5 %", "7.7 %", "20 %"):
        assert words in text, words


def _pdf_text(pdf):
    from io import BytesIO

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def test_the_pdf_is_in_the_shops_language(day_shop):
    """de_DE: German words, money, counts and rates in the German format; the machine
    files keep their English keys. en_GB (above and here): English, as before."""
    with day_shop.app_context():
        setting("shop_tax_number", "DE123456789")
        data = day_close.report_data(DAY, 7, datetime(2025, 3, 15, 2, 5))
        english = _pdf_text(render_pdf(data))
        settings.save({"locale": "de_DE"})
    with day_shop.app_context():  # as a close does: the language is the shop's at the time
        data = day_close.report_data(DAY, 7, datetime(2025, 3, 15, 2, 5))
        german = _pdf_text(render_pdf(data))
        csv_text = render_csv(data)
    for words in ("Z-report No. 7", "Tax number: DE123456789", "Business day\n2025-03-14",
                  "Until (not included)", "First order\nA-first", "Last order\nB-last",
                  "Gross sales (before discounts)", "Revenue\n€42.81", "Tax rate", "5.5 %",
                  "Payment method", "cash", "Cash expected in the till\n€25.30",
                  "Cash takings less cash refunds; the float is not included."):
        assert words in english, words
    for words in ("Z-Bericht Nr. 7", "Steuernummer: DE123456789", "Geschäftstag\n2025-03-14",
                  "Von\n2025-03-14 02:00:00", "Bis (ausschließlich)\n2025-03-15 02:00:00",
                  "Abgeschlossen um\n2025-03-15 02:05:00", "Erste Bestellung\nA-first",
                  "Letzte Bestellung\nB-last", "Summen", "Bestellungen", "Bruttoumsatz (vor "
                  "Rabatten)", "Rabatte", "Erstattungen",
                  "Umsatz\n42,81 €",  # pypdf reads the no-break space as a space
                  "Netto (Umsatz ohne MwSt.)", "MwSt.-Satz", "5,5 %", "7,7 %", "20 %",
                  "Zahlungsart", "Einnahmen", "Bar\n", "Karte\n",
                  "Erwarteter Bargeldbestand in der Kasse\n25,30 €",
                  "Bareinnahmen abzüglich Barerstattungen; das Wechselgeld ist nicht "
                  "enthalten."):
        assert words in german, words
    for english_word in ("Z-report", "Revenue", "Business day", "Takings", "Tax rate",
                         "€42.81", "5.5 %", "cash"):
        assert english_word not in german, english_word
    assert "revenue (EUR)" in csv_text and "Umsatz" not in csv_text  # for machines


def test_api_close_then_downloads_are_byte_identical_over_http(day_shop):
    with http_session(day_shop) as http:
        bad = http.post(http.base + "/api/zreports", json={"date": "14/03/2025"})
        assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["error"]
        extra = http.post(http.base + "/api/zreports", json={"date": "2025-03-14", "x": 1})
        assert extra.status_code == 400
        first = http.post(http.base + "/api/zreports", json={"date": "2025-03-14"})
        assert first.status_code == 201, first.text
        body = first.json()
        assert (body["number"], body["day"]) == (1, "2025-03-14")
        assert set(body["urls"]) == {"pdf", "json", "csv"}
        files = {fmt: http.get(http.base + url) for fmt, url in body["urls"].items()}
        assert all(r.status_code == 200 for r in files.values())
        assert hashlib.sha256(files["json"].content).hexdigest() == body["sha256"]
        assert files["pdf"].headers["Content-Type"] == "application/pdf"
        assert files["pdf"].content.startswith(b"%PDF")
        again = http.post(http.base + "/api/zreports", json={"date": "2025-03-14"})
        assert again.status_code == 200 and again.json() == body
        for fmt, url in body["urls"].items():
            assert http.get(http.base + url).content == files[fmt].content, fmt
        assert http.get(http.base + "/api/zreports/2.pdf").status_code == 404
        assert http.get(http.base + "/api/zreports/1.xls").status_code == 404
        future = http.post(http.base + "/api/zreports", json={"date": "2999-01-01"})
        assert future.status_code == 400 and "not started" in future.json()["error"]


def test_staff_cannot_close_the_day(day_shop, anon_client):
    from webapp.auth import add_user

    with day_shop.app_context():
        add_user("sam", "correct horse")
    token = csrf_from(anon_client, "/login")
    anon_client.post("/login", data={"csrf_token": token, "username": "sam",
                                     "password": "correct horse"})
    page = anon_client.get("/end-of-day")
    assert page.status_code == 200 and "Your account cannot close the day" in page.text
    token = csrf_from(anon_client, "/logout")
    refused = anon_client.post("/end-of-day/close", data={
        "csrf_token": token, "date": "2025-03-14", "confirm": "yes"})
    assert refused.status_code == 403
    api = anon_client.post("/api/zreports", json={"date": "2025-03-14"},
                           headers={"X-CSRFToken": token})
    assert api.status_code == 403 and "cannot close the day" in api.json["error"]
    with day_shop.app_context():
        assert not day_close.is_closed(DAY)


def test_the_page_closes_the_day_after_confirmation(day_shop, owner_browser):
    page = owner_browser.get("/end-of-day")
    assert page.status_code == 200 and "Close the day" in page.text
    token = csrf_from(owner_browser, "/end-of-day")
    no_csrf = owner_browser.post("/end-of-day/close", data={"date": "2025-03-14",
                                                            "confirm": "yes"})
    assert no_csrf.status_code == 400
    unconfirmed = owner_browser.post("/end-of-day/close", data={"csrf_token": token,
                                                                "date": "2025-03-14"})
    assert unconfirmed.status_code == 400 and "tick the box" in unconfirmed.text
    with day_shop.app_context():
        assert not day_close.is_closed(DAY)
    done = owner_browser.post("/end-of-day/close", data={
        "csrf_token": token, "date": "2025-03-14", "confirm": "yes"}, follow_redirects=True)
    assert done.status_code == 200 and "Z-report 1" in done.text
    assert "/api/zreports/1.pdf" in done.text


def test_beat_job_closes_yesterday_only_when_turned_on(day_shop):
    from webapp.background.tasks import close_day_task

    with day_shop.app_context():
        off = close_day_task.apply().get()
        assert "off" in off["skipped"]
        assert db.session.scalar(db.select(db.func.count(ZReport.id))) == 0
        setting("auto_close_day", True)
        result = close_day_task.apply().get()
        yesterday = day_close.today_business_day() - timedelta(days=1)
        assert result == {"number": 1, "day": yesterday.isoformat(), "created": True}
        assert close_day_task.apply().get()["created"] is False


def test_cli_zreport_writes_the_stored_file_and_refuses_bad_input(day_shop, data_dir, tmp_path):
    out = tmp_path / "z.json"
    done = larder(data_dir, "zreport", "--date", "2025-03-14", "--format", "json",
                  "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "Z-report 1 for 2025-03-14 (closed now)" in done.stdout
    with day_shop.app_context():
        stored = day_close.find(day=DAY)
        assert out.read_bytes() == stored.json_body.encode()
    again = larder(data_dir, "zreport", "--date", "2025-03-14", "--format", "pdf",
                   "-o", str(tmp_path / "z.pdf"))
    assert again.returncode == 0 and "closed before" in again.stdout
    assert (tmp_path / "z.pdf").read_bytes() == stored.pdf_body
    assert "not a date" in one_line_error(larder(data_dir, "zreport", "--date", "2025-02-30"))
    assert "not started" in one_line_error(larder(data_dir, "zreport", "--date", "2999-01-01"))
    assert "cannot write" in one_line_error(larder(
        data_dir, "zreport", "--date", "2025-03-14", "-o", str(tmp_path / "no" / "z.pdf")))
    one_line_error(larder(data_dir, "zreport", "--format", "xls"))


def test_closes_racing_in_separate_processes(day_shop, data_dir, tmp_path):
    """Three `larder zreport` processes at once: two days, one of them twice."""
    import subprocess
    import sys

    days = ["2025-03-14", "2025-03-13", "2025-03-14"]
    procs = [subprocess.Popen(
        [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "zreport", "--date",
         day, "--format", "json", "-o", str(tmp_path / f"{i}.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i, day in enumerate(days)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    with day_shop.app_context():
        rows = {z.business_day.isoformat(): z for z in
                db.session.execute(db.select(ZReport)).scalars()}
    assert sorted(z.number for z in rows.values()) == [1, 2]
    for i, day in enumerate(days):
        assert (tmp_path / f"{i}.json").read_bytes() == rows[day].json_body.encode()


def test_closing_and_hours_on_postgres(postgres_server, data_dir):  # noqa: F811
    """The same numbering on PostgreSQL (no write lock: the unique constraints and the
    retry alone), and the dashboard's hours (its own SQL there)."""
    from conftest import TOKEN
    from webapp import create_app

    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN,
                      "DATABASE_URL": new_database(postgres_server, "larder_dayclose")},
                     data_dir=data_dir)
    try:
        with app.app_context():
            setting("day_starts_at", "02:00")
            db.session.add_all([
                Order(ref="PG-1", created_at=SINCE, status="imported", total_cents=700,
                      gross_cents=700, payment_method="cash"),
                Order(ref="PG-2", created_at=UNTIL - SECOND, status="imported",
                      total_cents=300, gross_cents=300, payment_method="cash")])
            db.session.commit()
            hours = {row["hour"]: row["revenue_cents"] for row in stats.sales_by_hour(
                SINCE.isoformat(), UNTIL.isoformat())}
            assert (hours[2], hours[1], sum(hours.values())) == (700, 300, 1000)
        days = [DAY - timedelta(days=i) for i in range(4)] + [DAY] * 3
        start, numbers, errors = threading.Barrier(len(days)), [], []

        def close(day):
            with app.app_context():
                try:
                    start.wait()
                    numbers.append(day_close.close_day(day)[0].number)
                except Exception as exc:  # pragma: no cover - reported below
                    errors.append(exc)
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=close, args=(day,)) for day in days]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with app.app_context():
            stored = db.session.execute(db.select(ZReport.number)).scalars().all()
            z = day_close.find(day=DAY)
            assert cents(json.loads(z.json_body)["cash_expected"]) == 1000
        assert sorted(stored) == [1, 2, 3, 4]
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_page_shows_todays_x_report(app, owner_browser):
    from webapp.models import now

    with app.app_context():
        bread = Product(sku="B", name="Bread", category="Bakery", price_cents=1334, stock=1)
        sale = Order(ref="X-1", created_at=now(), status="processed", payment_method="cash",
                     gross_cents=1334, discount_cents=100, total_cents=1234, tax_cents=206)
        sale.lines = [OrderLine(product=bread, quantity=1, unit_price_cents=1334,
                                tax_rate_bp=2000, net_cents=1028, tax_cents=206)]
        db.session.add_all([
            sale,
            Order(ref="X-2", created_at=now(), status="failed", payment_method="cash",
                  gross_cents=999, total_cents=999)])
        db.session.commit()
    page = owner_browser.get("/end-of-day").text
    assert "X-1" in page and "X-2" not in page
    for label, amount in (("Gross sales (before discounts)", "€13.34"),
                          ("Discounts", "€1.00"), ("Revenue", "€12.34"), ("Tax", "€2.06"),
                          ("Cash expected in the till", "€12.34")):
        assert f'{label}</th><td class="num">{amount}</td>' in page, label
