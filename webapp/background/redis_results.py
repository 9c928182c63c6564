"""Celery's Redis result store, without its subscription at send time.

The stock store SUBSCRIBEs the sending process to each task's result channel as the task
is sent, in case it calls `.get()` later. The web side never waits on an order's result,
so that was one more Redis command per order and a subscription kept per task, and with
Redis down it held the request about 20 s (20 reconnect tries) before giving up.
`.get()` still works: it subscribes when it is called, and first reads a result already
stored (Celery's on_wait_for_pending). config.celery_config selects it for redis:// URLs.
"""
from celery.backends.redis import RedisBackend


class RedisResults(RedisBackend):
    def on_task_call(self, producer, task_id):
        pass


def backend_url(url):
    """The result_backend setting for a result store URL: this store for Redis."""
    if url.startswith(("redis://", "rediss://")):
        return f"{__name__}:RedisResults+{url}"
    return url
