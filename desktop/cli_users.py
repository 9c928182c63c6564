"""`larder user ...`: accounts for managers and staff (docs/users.md). Bad input ends with
exit code 2 and one line, like every command (desktop/cli.py)."""
import sys

import click

from desktop.cli import _app, fail


@click.group()
def user():
    """Accounts for managers and staff (the owner uses the launch link)."""


def _password(password, from_stdin):
    """--password, else a line of stdin (--password-stdin), else asked twice."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin: nothing was sent on standard input")
        return line.rstrip("\r\n")
    if password is not None:
        return password
    try:
        # Hidden at a terminal; piped in, there is nothing to hide (and getpass would
        # print warnings about echoing).
        return click.prompt("Password", hide_input=sys.stdin.isatty(),
                            confirmation_prompt=True)
    except click.Abort:
        fail("no password was typed: type it when asked, or use --password-stdin")


def _password_options(command):
    command = click.option("--password-stdin", "from_stdin", is_flag=True,
                           help="Read the password from the first line of stdin.")(command)
    return click.option("--password", envvar="LARDER_PASSWORD",
                        help="Asked for (twice, hidden) when not given.")(command)


def _account_change(ctx, change):
    """Run change() in the app; a ValueError (no such user, bad password) is one line."""
    app = _app(ctx)
    with app.app_context():
        try:
            return change()
        except ValueError as exc:
            fail(str(exc))


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["staff", "manager"]), default="staff",
              show_default=True, help="What the account may do (docs/users.md).")
@_password_options
@click.pass_context
def user_add(ctx, name, role, password, from_stdin):
    """Add an account NAME (the password is stored hashed)."""
    from webapp.auth import add_user

    password = _password(password, from_stdin)
    _account_change(ctx, lambda: add_user(name, password, role))
    click.echo(f"added {role} {name}")


@user.command("list")
@click.pass_context
def user_list(ctx):
    """The accounts: name, role, active or disabled, added on."""
    from webapp.extensions import db
    from webapp.models import User

    app = _app(ctx)
    with app.app_context():
        users = db.session.execute(db.select(User).where(User.role != "owner")
                                   .order_by(User.username)).scalars().all()
        if not users:
            click.echo("no accounts yet: add one with `larder user add NAME`")
        for u in users:
            state = "disabled" if u.disabled else "active"
            click.echo(f"{u.username}\t{u.role}\t{state}\tadded {u.created_at:%Y-%m-%d}")


@user.command("disable")
@click.argument("name")
@click.pass_context
def user_disable(ctx, name):
    """Disable NAME: signed out everywhere, cannot sign in (history is kept)."""
    from webapp.auth import set_disabled

    _account_change(ctx, lambda: set_disabled(name, True))
    click.echo(f"disabled {name} (signed out everywhere)")


@user.command("enable")
@click.argument("name")
@click.pass_context
def user_enable(ctx, name):
    """Let a disabled NAME sign in again."""
    from webapp.auth import set_disabled

    _account_change(ctx, lambda: set_disabled(name, False))
    click.echo(f"enabled {name}")


@user.command("reset")
@click.argument("name")
@_password_options
@click.pass_context
def user_reset(ctx, name, password, from_stdin):
    """Set a new password for NAME; NAME is signed out everywhere."""
    from webapp.auth import find_account, reset_password

    _account_change(ctx, lambda: find_account(name))  # before asking for a password
    password = _password(password, from_stdin)
    _account_change(ctx, lambda: reset_password(name, password))
    click.echo(f"new password set for {name} (signed out everywhere)")
