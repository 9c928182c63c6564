"""`larder user ...`: accounts for managers and staff (docs/users.md). Bad input ends with
exit code 2 and one line, like every command (desktop/cli.py)."""
import sys

import click

from desktop.cli import _app, fail
from desktop.cli_words import N_, _


@click.group()
def user():
    """Accounts for managers and staff (the owner uses the launch link)."""


def _password(password, from_stdin):
    """--password, else a line of stdin (--password-stdin), else asked twice."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail(_("--password-stdin: nothing was sent on standard input"))
        return line.rstrip("\r\n")
    if password is not None:
        return password
    try:
        # Hidden at a terminal; piped in, there is nothing to hide (and getpass would
        # print warnings about echoing).
        return click.prompt(_("Password"), hide_input=sys.stdin.isatty(),
                            confirmation_prompt=_("Repeat for confirmation"))
    except click.Abort:
        fail(_("no password was typed: type it when asked, or use --password-stdin"))


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


ADDED = {"staff": N_("added staff %(name)s"), "manager": N_("added manager %(name)s")}


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
    click.echo(_(ADDED[role], name=name))



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
            click.echo(_("no accounts yet: add one with `larder user add NAME`"))
        for u in users:  # one account a line, its fields between tabs
            state = _("disabled") if u.disabled else _("active")
            added = _("added %(day)s", day=u.created_at.date().isoformat())
            role = _(u.role)  # a stored word (webapp.i18n.WORDS)
            click.echo("\t".join((u.username, role, state, added)))


def _switch_command(command, disabled, help_text, done):
    """`user disable` and `user enable`: the same command but for the flag and the words."""
    @user.command(command, help=help_text)
    @click.argument("name")
    @click.pass_context
    def switch(ctx, name):
        from webapp.auth import set_disabled

        _account_change(ctx, lambda: set_disabled(name, disabled))
        click.echo(_(done, name=name))

    return switch


user_disable = _switch_command(
    "disable", True, "Disable NAME: signed out everywhere, cannot sign in (history is kept).",
    N_("disabled %(name)s (signed out everywhere)"))
user_enable = _switch_command("enable", False, "Let a disabled NAME sign in again.",
                              N_("enabled %(name)s"))


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
    click.echo(_("new password set for %(name)s (signed out everywhere)", name=name))
