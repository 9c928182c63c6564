"""The local broker's files without Celery: where they are under the data dir (the one
definition: `folders`, and the Celery settings that name them, `celery_settings`), and
what is done to them from outside a node: a dead node's fetched messages put back in the
queue, the queue emptied before the requeue at start, stale wake-up registrations
forgotten. The worker's supervisor uses these and imports no Celery, Flask app or
database (issue 13: it stays small); broker.py is the transport and result store.
"""
import logging
import os

from . import wake

log = logging.getLogger("larder.broker")


def file_url(path):
    """A file:// URL for a folder, in the form Celery's FilesystemBackend reads back
    (it takes the text after `file://` as is, no unquoting, and on Windows drops one
    leading "/"): `file:///home/x/results`, `file:///C:\\x\\results`,
    `file:///\\\\server\\share\\results`. With `file://C:\\x` Celery (and kombu's
    URL parser, which reads `C:` as host and port) fail: issue 9."""
    path = str(path)
    return "file://" + path if path.startswith("/") else "file:///" + path


def result_backend_url(results_folder):
    return f"webapp.background.broker:AtomicFileBackend+{file_url(results_folder)}"


def folders(data_dir):
    """The local broker's folders and the result store's, under the data dir."""
    broker = os.path.join(data_dir, "broker")
    named = {name: os.path.join(broker, name)
             for name in ("queue", "processing", "control", "rejected")}
    return {"broker": broker, **named, "results": os.path.join(data_dir, "results")}


def celery_settings(data_dir, polling_interval, result_backend=None, wake_ups=True,
                    make_folders=True):
    """The Celery settings of the local broker and result store, decided here.
    wake_ups=False: the nodes poll every polling_interval (as before issue 13)."""
    where = folders(data_dir)
    for folder in where.values() if make_folders else ():
        os.makedirs(folder, mode=0o700, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport": "webapp.background.broker:Transport",
        "broker_transport_options": {
            "data_folder_in": where["queue"],
            "data_folder_out": where["queue"],
            "processed_folder": where["processing"],
            "rejected_folder": where["rejected"],
            "wake": wake_ups,
            "control_folder": where["control"],
            "store_processed": False,
            "polling_interval": polling_interval,
        },
        "result_backend": result_backend or result_backend_url(where["results"]),
        # The filesystem transport has no broadcast: no remote control, no events.
        "worker_enable_remote_control": False,
    }


def node_folder(celery_conf, node):
    """Where a node keeps the messages it fetched and has not finished."""
    return os.path.join(celery_conf["broker_transport_options"]["processed_folder"], node)


def node_options(celery_conf, node):
    return {**celery_conf["broker_transport_options"],
            "processed_folder": node_folder(celery_conf, node)}


def restore_node_messages(celery_conf, node):
    """Put the messages a dead node had fetched (started or not) back in the queue."""
    folder = node_folder(celery_conf, node)
    queue = celery_conf["broker_transport_options"]["data_folder_in"]
    restored = 0
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        if name.endswith(".msg"):
            try:
                os.rename(os.path.join(folder, name), os.path.join(queue, name))
                restored += 1
            except FileNotFoundError:
                pass
    if restored:
        log.warning("%s: %d fetched message(s) queued again", node, restored)
        wake.nudge(os.path.dirname(queue))
    return restored


def prune_wake_ups(celery_conf):
    """Forget the wake-up sockets of processes that are gone (a killed node or web
    process leaves its registration behind)."""
    queue = celery_conf["broker_transport_options"]["data_folder_in"]
    folders = [os.path.dirname(queue)]
    backend = celery_conf.get("result_backend") or ""
    if "file://" in backend:  # read as FilesystemBackend reads it (file_url)
        path = backend[backend.index("file://") + 7:]
        path = path[9:] if path.startswith("localhost/") else path
        folders.append(path[1:] if os.name == "nt" and path.startswith("/") else path)
    return sum(wake.prune(folder) for folder in folders)


def purge_queue_folder(celery_conf):
    """Delete every waiting or fetched message (the supervisor then queues every
    unfinished job again from its row)."""
    removed = 0
    for path in message_files(celery_conf):
        try:
            os.remove(path)
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def message_files(celery_conf):
    """The path of every message waiting in the queue or fetched by a node, the queue's
    first: a message moves queue -> node, so one taken while this looks is seen in one
    or the other."""
    options = celery_conf["broker_transport_options"]
    processing = options["processed_folder"]
    folders = [options["data_folder_in"]]
    folders += [os.path.join(processing, name) for name in sorted(os.listdir(processing))]
    for folder in folders:
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if name.endswith(".msg"):
                    yield os.path.join(folder, name)
