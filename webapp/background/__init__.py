"""Background work: job rows (jobs), task bodies (tasks), Celery (celery_app), the local
broker (broker), the worker's supervisor (supervisor) and what the web process knows of
it (status). docs/tasks.md describes the whole."""
