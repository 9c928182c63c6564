"""Larder's own orders layout (larder.LAYOUTS): see larder.py."""
from . import larder

NAME = "orders"
LABEL = "Larder orders file"


def recognise(header):
    return larder.recognise_layout(NAME, header)


def records(table, context):
    return larder.orders(table, context)
