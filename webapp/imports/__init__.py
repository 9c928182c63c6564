"""Importing what the shop already has: till and online-shop exports, spreadsheets, big
files (docs/importing.md).

    reading   a file (CSV in any common encoding and delimiter, .xlsx) -> header + rows
    values    money, quantities, dates and times as people and tills write them
    formats/  one module per export format: recognise its header, turn rows into records
    records   what every format produces (sales, refunds, products, customers)
    engine    records -> the database, streamed, all or nothing, with a preview
"""
