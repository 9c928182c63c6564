"""Larder's own orders layout (larder.LAYOUTS): see larder.py."""
from ...i18n import N_
from . import larder

NAME = "orders"
LABEL = N_("Larder orders file")  # translated where shown (webapp/i18n.py)


def recognise(header):
    return larder.recognise_layout(NAME, header)


def records(table, context):
    return larder.orders(table, context)
