"""Larder's Flask app: create_app() factory, extensions bound with init_app."""
import logging
import secrets

__version__ = "0.5.0"


def create_app(test_config=None, data_dir=None):
    from . import (auth, caching, db_upgrade, errors, fast_path, i18n, permissions,
                   sqlite_setup)
    from .background import status as worker_status
    from .background.celery_app import celery_init_app
    from .config import build_config
    from .extensions import cache, csrf, db
    from flask import Flask  # here: `larder --version` and the window need no Flask first

    app = Flask(__name__)
    # Smaller pages: less to cache, store and send (block tags leave no blank lines).
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.config.from_mapping(build_config(data_dir, test_config))
    if not app.config.get("LARDER_TOKEN"):
        # Every launch has a token; `serve` passes its own, others get a fresh one.
        app.config["LARDER_TOKEN"] = secrets.token_urlsafe(32)

    db.init_app(app)
    sqlite_setup.init_app(app, db)  # WAL, busy timeout, durable commits
    cache.init_app(app)
    csrf.init_app(app)
    caching.init_app(app)
    auth.init_app(app)
    permissions.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)  # words in the shop's language (its locale setting)
    celery_init_app(app)

    from .views import (api, backups, cache_admin, chrome, customers, dashboard, data_import,
                        desk, end_of_day, orders, outbox, products, reports, schedules,
                        settings, system, tasks, users)

    for module in (auth, dashboard, products, customers, orders, api, cache_admin, data_import,
                   reports, tasks, outbox, schedules, backups, settings, end_of_day, system,
                   users, desk):
        app.register_blueprint(module.bp)
    chrome.init_app(app)  # the menu, messages and worker banner, put in after any page cache

    @app.get("/health")
    def health():
        # The web process answers; "worker" tells whether background work runs.
        return {"status": "ok", "worker": worker_status.worker_state(app)}

    from .money_display import format_day, format_moment, format_money

    app.add_template_filter(format_money, "money")  # {{ cents|money }}, {{ cents|money(cur) }}
    app.add_template_filter(format_day, "day")
    app.add_template_filter(format_moment, "moment")

    @app.context_processor
    def inject_version():
        return {"larder_version": __version__}

    # The schema is brought up to date (migrations), never just created: see db_upgrade.
    db_upgrade.init_app(app)
    # Cached pages answered in front of Flask: installed last, it knows every hook.
    fast_path.init_app(app)
    logging.getLogger(__name__).debug("app created on %s", app.config["DATA_DIR"])
    return app
