"""Migración de cartera: a lender's existing loans imported as opening loans (issue #13 item 8).

``reading`` checks the files row by row; ``services`` replays each loan through the ledger, compares it
with the balance the lender declares and keeps the loans that tie."""
