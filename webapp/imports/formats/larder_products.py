"""Larder's own products layout (larder.LAYOUTS): see larder.py."""
from ...i18n import N_
from . import larder

NAME = "products"
LABEL = N_("Larder products file")  # translated where shown (webapp/i18n.py)


def recognise(header):
    return larder.recognise_layout(NAME, header)


def records(table, context):
    return larder.products(table, context)
