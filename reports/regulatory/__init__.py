"""SBS regulatory reports (DOMAIN.md §9): the monthly debtor report in the RCD / Anexo 6 shape and the
Anexo 5 style summary, as of a cut-off date, with layouts as data and the files kept.

- ``fixed_width``: writing and reading fixed-width records with a layout (pure);
- ``models``: ``ReportLayout`` / ``LayoutField`` (the lender edits them in the admin) and ``RegulatoryFile``;
- ``book``: the cut-off's dated book (set-based SQL over the nightly rating) and the default ledger;
- ``rcd``: the debtor file and its tie-out; ``anexo5``: the summary as CSV and PDF;
- ``services``: generate and keep, as a job with progress or at once.
"""
