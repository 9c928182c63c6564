"""Larder's own customers layout (larder.LAYOUTS): see larder.py."""
from ...i18n import N_
from . import larder

NAME = "customers"
LABEL = N_("Larder customers file")  # translated where shown (webapp/i18n.py)


def recognise(header):
    return larder.recognise_layout(NAME, header)


def records(table, context):
    return larder.customers(table, context)
