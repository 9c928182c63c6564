"""Larder's launcher: command line, server, (later) window and worker."""
