"""The daily figures on PostgreSQL (a real server): sales recorded, processed and refunded
at once in the same hour and method add up (INSERT ... ON CONFLICT DO UPDATE
increments), and the random steps of tests/test_daily_figures.py keep them equal to the
orders there too."""
import random
import threading

from cache_servers import new_database, postgres_server  # noqa: F401  (fixture)
from test_daily_figures import STEPS, WITH_FOLDER, check_all, make_shop
from webapp import daily_figures, ordering, refunds
from webapp.extensions import db
from webapp.models import DailySales, Product


def test_postgres_sales_at_once_lose_no_count(postgres_server, data_dir):  # noqa: F811
    """Six threads record, process and refund sales in the same hour and method at once:
    the increments add up (no count lost, no deadlock); then random steps as above."""
    from conftest import TOKEN
    from webapp import create_app

    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN,
                      "DATABASE_URL": new_database(postgres_server, "larder_daily")},
                     data_dir=data_dir)
    try:
        with app.app_context():
            make_shop(random.Random(2))
            for p in db.session.execute(db.select(Product)).scalars():
                p.stock = 10_000
            db.session.commit()
        start, errors = threading.Barrier(6), []

        def sell(seed):
            rng = random.Random(seed)
            with app.app_context():
                try:
                    start.wait()
                    for _ in range(6):
                        order = ordering.create_order({"lines": [{"sku": "S1", "quantity": 1}],
                                                       "payment_method": "cash"})
                        ordering.process_order(order.id)
                        if rng.random() < 0.3:
                            refunds.refund_order(order.id, {"reason": "x", "restock": True})
                except Exception as exc:  # reported below
                    errors.append(exc)

        threads = [threading.Thread(target=sell, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with app.app_context():
            assert daily_figures.differences() == []
            assert db.session.scalar(db.select(db.func.sum(DailySales.orders))) == 36
            rng = random.Random(7)
            for i in range(8):
                step = rng.choice([s for s in STEPS if s not in WITH_FOLDER])
                step(rng)
                check_all(rng, f"postgres step {i}: {step.__name__}")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
