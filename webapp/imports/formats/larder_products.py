"""Larder's own products layout (larder.LAYOUTS): see larder.py."""
from . import larder

NAME = "products"
LABEL = "Larder products file"


def recognise(header):
    return larder.recognise_layout(NAME, header)


def records(table, context):
    return larder.products(table, context)
