"""`python -m desktop` (and the `larder` executable): click commands.

Bad arguments or files end with exit code 2 and one readable line on stderr; so does
any failure of the disk or the database (its traceback goes to the log file).
"""
import os
import sys

import click

from desktop.cli_words import N_, _, use_data_dir, use_locale
from webapp import __version__


class CliError(click.ClickException):
    exit_code = 2


def fail(message):
    raise CliError(message)


def _app(ctx, **config):
    from webapp import create_app
    from webapp.config import ConfigError

    from webapp.config import DataDirError, SettingError

    try:
        app = create_app(config or None, data_dir=ctx.obj["data_dir"])
    except (DataDirError, SettingError):
        raise  # its own sentence says it all
    except ConfigError as exc:
        fail(_("cannot open the data dir: %(reason)s", reason=exc))
    with app.app_context():  # the app's own setting (a PostgreSQL shop's is known only now)
        from webapp import settings

        use_locale(settings.get("locale"))
    return app


@click.group(invoke_without_command=True)
@click.version_option(__version__, "--version", prog_name="larder")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="LARDER_DATA_DIR",
              help="Where Larder keeps its data (default: the user data dir).")
@click.option("--headless", is_flag=True, help="Desktop mode without a window.")
@click.pass_context
def cli(ctx, data_dir, headless):
    """Larder: an offline back-office for a small shop or restaurant."""
    from webapp.config import resolve_data_dir

    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = _run["data_dir"] = str(resolve_data_dir(data_dir))
    use_data_dir(ctx.obj["data_dir"])  # the words follow its shop's locale
    _windows_onefile_start(ctx.invoked_subcommand)
    if ctx.invoked_subcommand is None:
        # No command (or the executable double-clicked): the desktop app.
        from desktop.launcher import run_desktop

        _run["window"] = not headless
        ctx.exit(run_desktop(ctx.obj["data_dir"], headless=headless))


def _windows_onefile_start(command):
    """The Windows one-file executable (no-ops elsewhere): stop when the bootloader that
    started this Python is killed; remove leftover unpacked folders (desktop/onefile.py)."""
    from desktop.onefile import tidy_temp_at_start
    from webapp.background.procs import watch_onefile_parent

    watch_onefile_parent()
    if command not in ("worker-node", "beat", "check-window-engine"):
        tidy_temp_at_start()


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="0: a free port.")
@click.option("--no-worker", is_flag=True, help="Do not start the bundled worker.")
@click.pass_context
def serve(ctx, host, port, no_worker):
    """Run the app with Waitress (no window) and print its URL with the launch token."""
    from desktop.server import remove_server_file
    from desktop.locks import app_lock
    from desktop.logs import setup_logging
    from webapp.config import ensure_private_dir

    data_dir = ctx.obj["data_dir"]
    ensure_private_dir(data_dir)
    log_path = setup_logging(data_dir)
    lock = app_lock(data_dir)  # before anything is started or written
    try:
        _serve(ctx, host, port, no_worker, data_dir, log_path)
    finally:
        remove_server_file(data_dir)  # ours only: never a running instance's
        lock.release()


def _serve(ctx, host, port, no_worker, data_dir, log_path):
    import logging
    import threading

    from desktop.server import make_server, serve_until, server_url, write_server_file
    from webapp.background.procs import in_a_thread, on_stop_request
    from webapp.background.supervisor import start_bundled_worker

    log = logging.getLogger("larder.serve")
    # A new token at each start, unless the deployment gives one (LARDER_TOKEN, shared by
    # several `serve` processes behind one address: docs/scaling.md).
    app = _app(ctx)
    token = app.config["LARDER_TOKEN"]
    if host not in ("127.0.0.1", "localhost", "::1"):
        allowed = app.config["LARDER_ALLOWED_HOSTS"]
        if not allowed:
            fail(_("--host %(host)s serves the LAN: name the allowed host names in "
                   "LARDER_ALLOWED_HOSTS first", host=host))
    try:
        server = make_server(app, host, port)
    except OSError as exc:
        fail(_("cannot listen on %(host)s:%(port)s: %(reason)s", host=host, port=port,
               reason=exc.strerror or exc))
    url = server_url(host if host != "0.0.0.0" else "127.0.0.1", server.effective_port)
    write_server_file(data_dir, url, server.effective_port, token)
    log.info("Larder %s serving %s at %s (pid %s)", __version__, data_dir, url, os.getpid())
    click.echo(_("Larder %(version)s serving %(folder)s (log: %(log)s)", version=__version__,
                 folder=data_dir, log=log_path))
    click.echo(_("Open %(link)s", link=url + "/?token=" + token), nl=True)
    sys.stdout.flush()

    # Kept running (started again if it dies); its output goes to logs/worker.log, and
    # the terminal gets one line per problem.
    worker = None if no_worker else start_bundled_worker(
        data_dir, on_problem=lambda line: click.echo(f"larder: {line}", err=True))
    stop = threading.Event()
    on_stop_request(in_a_thread(stop.set))  # SIGTERM, Ctrl+Break, stdin closed
    try:
        serve_until(server, stop)
    finally:
        if worker is not None:
            worker.stop(grace=0.9)
        log.info("stopped")


@cli.command("check-window-engine", hidden=True)
def check_window_engine():
    """Load the window's engine and exit (the launcher's probe, in a child process)."""
    from desktop.window_engine import probe_here

    sys.exit(probe_here())


@cli.command()
@click.option("--beat", is_flag=True, help="Also run the schedules (Celery beat).")
@click.option("--parent-pid", type=int, hidden=True)
@click.pass_context
def worker(ctx, beat, parent_pid):
    """Run the background worker (quick and report queues)."""
    from desktop.logs import exit_now
    from webapp.background.supervisor import WorkerRunning, run_supervisor

    name = os.environ.get("LARDER_WORKER_NAME", "")
    if name and not (len(name) <= 40 and name.replace("-", "").replace("_", "").isalnum()
                     and name.isascii()):
        fail(_("LARDER_WORKER_NAME %(name)s: use 1-40 letters, digits, '-' or '_'",
               name=repr(name[:40])))
    try:
        run_supervisor(ctx.obj["data_dir"], beat, parent_pid)
    except WorkerRunning as exc:
        fail(str(exc))
    exit_now(0)  # its children are stopped: skip the interpreter's slow teardown (~1 s)


@cli.command("worker-node", hidden=True)
@click.option("--name", required=True)
@click.option("--queues", required=True)
@click.option("--pool", type=click.Choice(["threads", "solo"]), required=True)
@click.option("--concurrency", type=int, default=1)
@click.option("--parent-pid", type=int)
@click.option("--beat", is_flag=True, help="Also run the schedules, in a thread.")
@click.option("--requeue", is_flag=True, help="First queue every unfinished job again.")
@click.pass_context
def worker_node(ctx, name, queues, pool, concurrency, parent_pid, beat, requeue):
    """One Celery worker node (started by `worker`)."""
    from webapp.background.node import run_node

    run_node(ctx.obj["data_dir"], name, queues, pool, concurrency, parent_pid, beat, requeue)


@cli.command()
@click.option("--parent-pid", type=int, hidden=True)
@click.pass_context
def beat(ctx, parent_pid):
    """Run the scheduler alone (daily cleanup, hourly inbox sync)."""
    from desktop.logs import exit_now
    from webapp.background.node import run_beat

    try:
        run_beat(ctx.obj["data_dir"], parent_pid)
        code = 0
    except SystemExit as exc:  # Celery's way out after a stop
        code = exc.code if isinstance(exc.code, int) else 0
    # The schedule is saved: skip the interpreter's slow teardown (~1 s), which made the
    # supervisor kill beat at every stop.
    exit_now(code)


@cli.command()
@click.option("--from", "start", required=True, metavar="YYYY-MM-DD")
@click.option("--to", "end", required=True, metavar="YYYY-MM-DD")
@click.option("--format", "fmt", type=click.Choice(["pdf", "csv", "json", "lines"]),
              default="pdf", show_default=True,
              help="lines: the accountant's CSV, one row per order line and refund")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.pass_context
def report(ctx, start, end, fmt, output):
    """Make a sales report now (the same code as the background reports)."""
    import tempfile

    from webapp import reports

    try:
        first, last = reports.parse_range(start, end)
    except reports.ReportError as exc:
        fail(str(exc))
    folder = os.path.dirname(os.path.abspath(output))
    try:  # fail before the work, not after it
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        fail(_("cannot write %(file)s: %(reason)s", file=output, reason=exc.strerror or exc))
    app = _app(ctx)
    with app.app_context():
        totals = reports.build_report(first, last, fmt, output, progress=progress_printer())
    from webapp.money import cents_for_display

    click.echo(_("wrote %(file)s: %(orders)s orders, revenue %(revenue)s", file=output,
                 orders=totals["orders"], revenue=cents_for_display(totals["revenue_cents"])))


@cli.command()
@click.option("--date", "day", metavar="YYYY-MM-DD",
              help="The business day to close (default: yesterday's).")
@click.option("--format", "fmt", type=click.Choice(["pdf", "json", "csv"]), default="pdf",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Default: z-report-NUMBER-DAY.FORMAT in the current folder.")
@click.pass_context
def zreport(ctx, day, fmt, output):
    """Close a business day (Z-report) and write its report. A day closed already is not
    closed again: its stored report is written, byte for byte (docs/end-of-day.md)."""
    from webapp import day_close
    from webapp.atomic_files import atomic_output
    from webapp.validation import ValidationError

    try:
        target = day_close.parse_day(day) if day is not None else None
    except ValidationError as exc:
        fail(_("--date %(reason)s", reason=exc.errors["date"]))
    if output:
        _check_writable(output)
    app = _app(ctx)
    with app.app_context():
        from webapp.auth import owner_user

        try:
            row, created = day_close.close_day(target or day_close.yesterday(),
                                               user_id=owner_user().id)
        except ValidationError as exc:
            fail(_("--date %(reason)s", reason=exc.errors.get("date", exc)))
        body, _type, name = day_close.stored_file(row, fmt)
    try:
        with atomic_output(output or name, mode=0o644) as fh:
            fh.write(body)
    except OSError as exc:
        fail(_("cannot write %(file)s: %(reason)s", file=output or name,
               reason=exc.strerror or exc))
    said = (N_("Z-report %(number)s for %(day)s (closed now): wrote %(file)s") if created else
            N_("Z-report %(number)s for %(day)s (closed before): wrote %(file)s"))
    click.echo(_(said, number=row.number, day=row.business_day, file=output or name))


def _check_writable(output):
    import tempfile

    try:  # fail before the work, not after it
        tempfile.TemporaryFile(dir=os.path.dirname(os.path.abspath(output))).close()
    except OSError as exc:
        fail(_("cannot write %(file)s: %(reason)s", file=output, reason=exc.strerror or exc))


def progress_printer(stream=None):
    """A progress bar on a terminal; one line per step when stderr is a file or pipe."""
    stream = stream or sys.stderr
    tty = stream.isatty()

    def progress(percent, message=""):
        percent = int(percent)
        if tty:
            bar = "#" * (percent // 4)
            stream.write(f"\r[{bar:<25}] {percent:3d}% {message[:40]:<40}")
            if percent >= 100:
                stream.write("\n")
        else:
            stream.write(f"{percent:3d}% {message}\n")
        stream.flush()

    return progress


@cli.command("import")
@click.argument("args", nargs=-1, required=True, metavar="[KIND] FILE")
@click.option("--format", "format_name", metavar="NAME",
              help="The file's kind when it is not recognised from its columns "
                   "(shopify_orders, square_items, sumup_sales, loyverse_receipts, "
                   "shopify_products, products, customers, orders).")
@click.option("--sheet", metavar="NAME", help="The sheet of an .xlsx workbook (default: "
                                              "the first).")
@click.option("--dry-run", is_flag=True, help="Say what would be imported; write nothing.")
@click.pass_context
def import_cmd(ctx, args, format_name, sheet, dry_run):
    """Import FILE: a till's or online shop's export, or Larder's own products,
    customers or orders file (all rows or none; docs/importing.md). `import KIND FILE`
    is `import FILE --format KIND` for Larder's own layouts."""
    from webapp.imports.engine import ImportFailed, import_file

    kinds = ("products", "customers", "orders")
    if len(args) > 2:
        fail(_("expected FILE, or KIND FILE"))
    if len(args) == 2:
        kind, file = args
        if kind not in kinds:
            fail(_("'%(kind)s' is not one of %(kinds)s", kind=kind,
                   kinds=", ".join(f"'{k}'" for k in kinds)))
        if format_name and format_name != kind:
            fail(_("both %(kind)s and --format %(format)s: give one", kind=kind,
                   format=format_name))
        format_name = kind
    else:
        file = args[0]
    if os.path.isdir(file):
        fail(_("cannot read %(file)s: it is a folder", file=file))
    if not os.path.exists(file):
        fail(_("cannot read %(file)s: no such file", file=file))
    app = _app(ctx)
    with app.app_context():
        try:
            plan = import_file(file, format=format_name, sheet=sheet, dry_run=dry_run)
        except ImportFailed as exc:
            plan = exc.plan
            whole = plan.problem_lines()
            if plan.problem_count == 1 and whole[0].startswith("line 1: "):
                # Refused whole by its header (unknown, or money in another currency):
                # the reason is the one line.
                fail(f"{file}: {whole[0]}; nothing imported")
            if plan.label:
                click.echo(plan.summary, err=True)
            for line in plan.problem_lines():
                click.echo(f"{file}: {line}", err=True)
            fail(_("%(file)s: %(count)s bad row(s), nothing imported", file=file,
                   count=plan.problem_count))
    click.echo(plan.text())


DEMO_COUNTS = {"products": N_("%(n)s products"), "customers": N_("%(n)s customers"),
               "orders": N_("%(n)s orders")}


@cli.command()
@click.option("--orders", default=20000, show_default=True, type=click.IntRange(0, 5_000_000))
@click.option("--days", default=730, show_default=True, type=click.IntRange(1, 36500))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--replace", is_flag=True, help="Delete existing products, customers and orders first.")
@click.pass_context
def demo(ctx, orders, days, seed, replace):
    """Load deterministic demo data (about ORDERS orders over DAYS days ending today)."""
    from webapp import demo_data

    app = _app(ctx)
    with app.app_context():
        try:
            counts = demo_data.load_demo(orders=orders, seed=seed, days=days, replace=replace)
        except demo_data.DemoError as exc:
            fail(str(exc))
    click.echo(", ".join(_(DEMO_COUNTS[k], n=v) if k in DEMO_COUNTS else f"{v} {k}"
                         for k, v in counts.items()))


@cli.command()
@click.argument("action", type=click.Choice(["rebuild", "check"]))
@click.pass_context
def figures(ctx, action):
    """The daily figures the dashboard and reports read: `rebuild` sums them again from
    the orders and refunds; `check` compares them (exit 1 when they differ)."""
    import time

    from webapp import daily_figures
    from webapp.caching import clear_all
    from webapp.extensions import db

    app = _app(ctx)
    with app.app_context():
        started = time.perf_counter()
        if action == "rebuild":
            daily_figures.rebuild()
            db.session.commit()
            clear_all()
            click.echo(_("daily figures rebuilt in %(seconds)s s",
                         seconds="%.1f" % (time.perf_counter() - started)))
            return
        found = daily_figures.differences()
        db.session.rollback()
    if found:
        for table, key, have, want in found[:20]:
            click.echo(_("%(table)s %(key)s: stored %(stored)s, from the orders %(want)s",
                         table=table, key=key, stored=have, want=want))
        click.echo(_("%(count)s rows differ: run `larder figures rebuild`", count=len(found)))
        ctx.exit(1)
    click.echo(_("the daily figures agree with the orders"))


# `larder user ...`, `backup` and `restore` live in their own modules.
from desktop.cli_backups import backup, restore  # noqa: E402  (need fail and _app above)
from desktop.cli_users import user  # noqa: E402

for command in (user, backup, restore):
    cli.add_command(command)

# What main() needs to know if the command fails: set by the group as it runs.
_run = {"data_dir": None, "window": False}


def main(argv=None):
    """Entry point: one readable line and exit 2 for any usage or input error, and for
    any failure of the disk or the database (traceback in the log)."""
    try:
        rv = cli.main(args=argv, prog_name="larder", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("larder: " + _("aborted"), err=True)
        sys.exit(130)
    except click.ClickException as exc:
        _fail_start(exc.format_message())
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # the last resort: never a traceback on the terminal
        from desktop.failures import failure_message

        _fail_start(*failure_message(exc, _run["data_dir"]))
    sys.exit(rv if isinstance(rv, int) else 0)


def _fail_start(message, exc=None):
    """Print `larder: error: MESSAGE`, log it (with the traceback of an unexpected
    error), in the window mode show it in a native box too; exit 2."""
    from desktop.logs import log_failure

    logged = log_failure(_run["data_dir"], message, exc) if exc is not None or _run["window"] \
        else None
    line = f"larder: error: {message}"  # the prefix stays English: scripts look for it
    if exc is not None and logged:
        line += " " + _("(details in %(file)s)", file=logged)
    click.echo(line, err=True)
    if _run["window"]:
        from desktop.dialogs import show_error

        where = "\n\n" + _("The details are in %(file)s", file=logged) if logged else ""
        show_error(_("Larder cannot start"), f"{message[0].upper()}{message[1:]}.{where}")
    sys.exit(2)


if __name__ == "__main__":
    main()
