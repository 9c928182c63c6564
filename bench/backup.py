"""Backup time and size with 100,000 orders (issue 8; target: under 2 s).

Times webapp.backups.make_backup (the online-backup copy plus its integrity check, as the
daily job, the page and `larder backup` run it), its two halves apart, the same backup
while another connection keeps writing orders, and a restore (check, safety copy, swap).
"""
import argparse
import sqlite3
import statistics
import threading
import time

from _common import demo_data_dir


def timed(fn, rounds):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data-dir", help="reuse this data dir (demo data kept)")
    args = parser.parse_args()

    from webapp import backups, create_app

    data_dir = demo_data_dir(args.orders, args.data_dir)
    app = create_app({"LARDER_TOKEN": "bench"}, data_dir=data_dir)
    db_file = backups.sqlite_path(app)
    made = []

    def backup():
        made.append(backups.make_backup(app, "manual"))

    def copy_only():
        backups.copy_database(db_file, data_dir / "bench-copy.db")

    full = timed(backup, args.rounds)
    copy = timed(copy_only, args.rounds)
    check = timed(lambda: backups.integrity_problem(made[-1]), args.rounds)

    # The same backup while another process-like connection writes an order every few ms.
    stop, writes = threading.Event(), [0]

    def writer():
        con = sqlite3.connect(db_file, timeout=30)
        con.execute("PRAGMA synchronous = FULL")
        while not stop.is_set():
            with con:
                con.execute("UPDATE products SET stock = stock + 1 WHERE id = 1")
            writes[0] += 1
            time.sleep(0.002)
        con.close()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.2)
    before = writes[0]
    busy = timed(backup, args.rounds)
    during = writes[0] - before
    stop.set()
    thread.join()

    restore_times = []
    with app.app_context():
        for _ in range(2):
            started = time.perf_counter()
            backups.restore(app, made[0])
            restore_times.append(time.perf_counter() - started)

    size_db = db_file.stat().st_size / 1e6
    size_backup = made[-1].stat().st_size / 1e6
    print(f"backup of {args.orders} orders: database {size_db:.1f} MB, backup file "
          f"{size_backup:.1f} MB, {args.rounds} rounds")
    print(f"backup (copy + integrity check):  median {full[0]:.2f} s   max {full[1]:.2f} s")
    print(f"  online-backup copy alone:       median {copy[0]:.2f} s   max {copy[1]:.2f} s")
    print(f"  integrity_check alone:          median {check[0]:.2f} s   max {check[1]:.2f} s")
    print(f"backup while a writer commits:    median {busy[0]:.2f} s   max {busy[1]:.2f} s "
          f"({during} writes went through meanwhile)")
    print(f"restore (check, safety copy, swap, cache cleared): "
          f"median {statistics.median(restore_times):.2f} s")
    print(f"target: backup under 2 s: {'met' if full[1] < 2 else 'NOT met'}")
    for path in made:
        path.unlink(missing_ok=True)
    for b in backups.list_backups(data_dir):
        if b.reason == "before-restore":
            b.path.unlink()
    (data_dir / "bench-copy.db").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
