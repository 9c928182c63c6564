"""`larder backup` and `larder restore` (docs/reliability.md): SQLite only; a restore needs
Larder closed. Bad input ends with exit code 2 and one line, like every command
(desktop/cli.py); the words follow the shop's language (desktop/cli_words.py)."""
import os

import click

from desktop.cli import _app, fail
from desktop.cli_words import N_, _


def _sqlite_only(ctx):
    """Backups are for SQLite: refuse PostgreSQL before connecting to anything."""
    from webapp import backups
    from webapp.config import ConfigError, SettingError, build_config

    try:
        backups.sqlite_path(build_config(ctx.obj["data_dir"]))
    except SettingError:
        raise  # its own sentence says it all
    except (ConfigError, OSError) as exc:
        fail(_("cannot open the data dir: %(reason)s", reason=exc))
    except backups.BackupError as exc:
        fail(str(exc))


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the backup to FILE (default: a new file in DATA_DIR/backups).")
@click.pass_context
def backup(ctx, output):
    """Back up the database now (safe while Larder runs); the copy is checked."""
    from webapp import backups

    _sqlite_only(ctx)
    if output and not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        fail(_("cannot write %(file)s: no such folder", file=output))
    app = _app(ctx)
    with app.app_context():
        try:
            path = backups.make_backup(app, "manual", dest=output)
        except (backups.BackupError, OSError) as exc:
            fail(str(exc) if isinstance(exc, backups.BackupError) else
                 _("cannot write %(file)s: %(reason)s", file=output, reason=exc.strerror or exc))
    click.echo(_("backed up to %(file)s (%(size)s MB, integrity ok)", file=path,
                 size="%.1f" % (path.stat().st_size / 1e6)))


def _stop_running_larder(data_dir):
    """Take the app's and the worker's locks (held while they run); refuse, naming what
    runs, when either is held. Returns the locks to release."""
    from desktop.locks import AlreadyLocked, FileLock

    held, running = [], []
    for name in ("app.lock", "worker.lock"):
        try:
            held.append(FileLock(os.path.join(data_dir, name)).acquire())
        except AlreadyLocked:
            running.append(name)
    if running:
        for lock in held:
            lock.release()
        fail(_(RUNNING[tuple(running)], folder=data_dir))
    return held


# Whole sentences (a translation may not glue "the app and the worker are" from parts).
RUNNING = {
    ("app.lock",): N_("the Larder app (window or `larder serve`) is running on %(folder)s: "
                      "close it first, or restore from the app's Backups page"),
    ("worker.lock",): N_("the Larder worker is running on %(folder)s: close it first, or "
                         "restore from the app's Backups page"),
    ("app.lock", "worker.lock"): N_("the Larder app (window or `larder serve`) and the Larder "
                                    "worker are running on %(folder)s: close them first, or "
                                    "restore from the app's Backups page"),
}


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@click.pass_context
def restore(ctx, file, yes):
    """Replace the database with a backup FILE (Larder must be closed; the current
    database is backed up first)."""
    from webapp import backups

    _sqlite_only(ctx)
    try:
        backups.check_restore_file(file)  # a bad file is refused before anything else
    except backups.BackupError as exc:
        fail(str(exc))
    data_dir = ctx.obj["data_dir"]
    locks = _stop_running_larder(data_dir)
    try:
        if not yes:
            click.confirm(_("Replace every order, product and customer in %(folder)s with "
                            "%(file)s?", folder=data_dir, file=file), abort=True, err=True)
        app = _app(ctx)
        with app.app_context():
            try:
                result = backups.restore(app, file)
            except backups.BackupError as exc:
                fail(str(exc))
    finally:
        for lock in locks:
            lock.release()
    click.echo(_("restored %(file)s (schema %(schema)s); the database before it is kept as "
                 "backups/%(copy)s", file=file, schema=result["schema"],
                 copy=result["safety_copy"]))
