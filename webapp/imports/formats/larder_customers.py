"""Larder's own customers layout (larder.LAYOUTS): see larder.py."""
from . import larder

NAME = "customers"
LABEL = "Larder customers file"


def recognise(header):
    return larder.recognise_layout(NAME, header)


def records(table, context):
    return larder.customers(table, context)
