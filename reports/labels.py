"""Labels of other apps' choices that the reports print, listed so ``makemessages`` run in reports/ puts
them in the reports catalogue: the Spanish edition of a report must not fall back to English words
(those apps' own catalogues, when they exist, are read first and win)."""

from django.utils.translation import gettext_noop as _

PRINTED_CHOICE_LABELS = (
    # miners.Miner.Gender / Role
    _("female"),
    _("male"),
    _("other / not stated"),
    _("owner / operator"),
    _("mine worker"),
    _("pallaquera"),
    # miners.Training.Topic
    _("mine safety"),
    _("bookkeeping"),
    _("financial education"),
    _("mercury-free processing"),
    _("equipment operation and maintenance"),
    _("micro-enterprise management"),
    # loans.Equipment.Kind and GraceKind
    _("crusher"),
    _("ball mill"),
    _("gravity concentrator"),
    _("shaking table"),
    _("flotation cell"),
    _("compressor"),
    _("generator"),
    _("vehicle"),
    _("other"),
    _("no grace"),
    _("partial (interest only)"),
    _("total (capitalizing)"),
    # installments.LoanTransaction.Kind, Withholding.Status, ReconciliationException
    _("disbursement"),
    _("direct payment"),
    _("prepayment"),
    _("withholding"),
    _("reversal"),
    _("moratory interest accrual"),
    _("unremitted"),
    _("partially remitted"),
    _("remitted"),
    _("reversed"),
    _("short remittance"),
    _("over remittance"),
    _("unknown settlement"),
    _("withholding unremitted past agreed days"),
    _("open"),
    _("resolved"),
    # buyers.Settlement.Status
    _("posted"),
    _("void"),
)
