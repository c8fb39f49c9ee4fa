"""Issue 11, items 1–4, on the replay engine alone (installments.ledger, no database): credit-back after
an adelanto, payoff from any state, the exigible-inclusive threshold and its override, and late charges
linear by day whatever the number of payments in between (DOMAIN.md §3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from installments import ledger
from loans.schedule import ScheduleTerms, build_schedule

D = Decimal
START = dt.date(2025, 1, 15)
FIRST_DUE = dt.date(2025, 2, 17)
NONE = D(0)
MORATORY_TEA = D("0.15")


def plan(
    *, term: int = 6, insurance: Decimal = NONE, fee: Decimal = NONE, moratory_tea: Decimal = MORATORY_TEA
) -> tuple[ledger.LedgerTerms, list[ledger.PlannedLine]]:
    schedule = build_schedule(
        ScheduleTerms(
            principal=D("10000.00"),
            tea=D("0.40"),
            disbursed_on=START,
            first_due_on=FIRST_DUE,
            installments=term,
            insurance_monthly_rate=insurance,
            fee_per_installment=fee,
        )
    )
    lines = [
        ledger.PlannedLine(**{name: getattr(line, name) for name in ledger.PlannedLine.__dataclass_fields__})
        for line in schedule.lines
    ]
    terms = ledger.LedgerTerms(
        disbursed_on=START,
        tea=D("0.40"),
        moratory_tea=moratory_tea,
        installment=schedule.installment,
        insurance_monthly_rate=insurance,
        fee_per_installment=fee,
    )
    return terms, lines


def pay(entry_id: int, on: dt.date, amount: str, **kwargs: str) -> ledger.Entry:
    return ledger.Entry(entry_id, ledger.PAYMENT, on, D(amount), **kwargs)


def replay(entries: list[ledger.Entry], as_of: dt.date, **plan_kwargs: Decimal) -> ledger.LedgerState:
    terms, lines = plan(**plan_kwargs)  # type: ignore[arg-type]
    return ledger.replay(terms=terms, lines=lines, entries=entries, as_of=as_of)


def owed(state: ledger.LedgerState) -> Decimal:
    return sum((line.remaining for line in state.current_lines), D(0))


# --- Item 1: pago anticipado after an adelanto ----------------------------------------------------------


def test_item1_a_pago_anticipado_credits_back_what_an_adelanto_prepaid_for_later_days() -> None:
    """Installment 1 paid on its due date; an adelanto on 02-20 pays installment 2 (due 03-17) in full,
    interest, insurance and fee included; a pago anticipado on 03-01. What the adelanto paid for the days
    after 03-01 comes back to principal: the miner ends exactly where paying both amounts on 03-01 leaves
    him, and the regenerated installment does not charge its fee twice."""
    kwargs = {"insurance": D("0.0005"), "fee": D("5.00")}
    terms, lines = plan(**kwargs)
    installment_1, installment_2 = lines[0], lines[1]
    adelanto = installment_2.total
    with_adelanto = replay(
        [
            pay(1, FIRST_DUE, str(installment_1.total)),
            pay(2, dt.date(2025, 2, 20), str(adelanto)),
            pay(3, dt.date(2025, 3, 1), "5000.00", treatment=ledger.PAGO_ANTICIPADO),
        ],
        dt.date(2025, 3, 1),
        **kwargs,
    )
    all_at_once = replay(
        [
            pay(1, FIRST_DUE, str(installment_1.total)),
            pay(2, dt.date(2025, 3, 1), str(adelanto + D("5000.00")), treatment=ledger.PAGO_ANTICIPADO),
        ],
        dt.date(2025, 3, 1),
        **kwargs,
    )

    assert with_adelanto.treatment_of(2) == ledger.ADELANTO
    assert with_adelanto.treatment_of(3) == ledger.PAGO_ANTICIPADO
    # Interest of the period to 03-01: 12 days on the opening balance 8,472.84 at 40% TEA.
    assert installment_2.opening_balance == D("8472.84")
    accrued = ledger.current_period_charges(terms, installment_2, dt.date(2025, 3, 1))
    assert accrued["interest"] == D("95.56")
    # 6,8xx.xx came in after installment 1; only the 12 days of interest and insurance are owed.
    paid_after_1 = adelanto + D("5000.00")
    to_principal = paid_after_1 - accrued["interest"] - accrued["insurance"]
    assert with_adelanto.outstanding_principal == D("8472.84") - to_principal
    assert with_adelanto.outstanding_principal == all_at_once.outstanding_principal
    assert [line.plan for line in with_adelanto.current_lines] == [line.plan for line in all_at_once.current_lines]
    # The adelanto's own money was re-imputed under its own entry: nothing was lost or left unapplied.
    assert sum((a.amount for a in with_adelanto.allocations_for(2)), D(0)) == adelanto
    assert with_adelanto.unapplied == D(0)
    # The fee is charged once per remaining installment: the regenerated lines carry it, the old
    # installment 2's prepaid fee was credited back.
    old_2 = next(line for line in with_adelanto.lines if line.version == 1 and line.number == 2)
    assert old_2.paid_fees == D(0)
    assert all(line.plan.fees == D("5.00") for line in with_adelanto.current_lines)


# --- Item 2: payoff from any state ----------------------------------------------------------------------

entry_specs = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=200),  # days after disbursement
        st.decimals(min_value=D("1.00"), max_value=D("4000.00"), places=2),
        st.sampled_from(ledger.TREATMENTS),
        st.sampled_from([ledger.REDUCE_TERM, ledger.REDUCE_INSTALLMENT]),
    ),
    max_size=6,
)


def history(specs: list[tuple[int, Decimal, str, str]]) -> list[ledger.Entry]:
    return [
        ledger.Entry(
            index + 1,
            ledger.WITHHOLDING if index % 2 else ledger.PAYMENT,
            START + dt.timedelta(days=offset),
            amount,
            treatment=treatment,
            prepayment_mode=mode,
        )
        for index, (offset, amount, treatment, mode) in enumerate(specs)
    ]


@settings(max_examples=80, deadline=None)
@given(specs=entry_specs, day=st.integers(min_value=1, max_value=240), term=st.sampled_from([1, 2, 3, 6]))
def test_item2_the_payoff_quote_closes_the_loan_at_exactly_zero_from_any_state(specs, day, term) -> None:  # type: ignore[no-untyped-def]
    terms, lines = plan(term=term, insurance=D("0.0004"), fee=D("3.50"))
    on = START + dt.timedelta(days=day)
    # Entries of earlier days only: a same-day entry may sort after the closing payment.
    entries = [entry for entry in history(specs) if entry.value_date < on]
    before = ledger.replay(terms=terms, lines=lines, entries=entries, as_of=on)
    quote = before.payoff()
    if quote.total <= 0:
        return
    # Whatever the borrower asked for, the payoff amount is a cancelación total.
    for treatment in ledger.TREATMENTS:
        closing = pay(10_000, on, str(quote.total), treatment=treatment)
        after = ledger.replay(terms=terms, lines=lines, entries=[*entries, closing], as_of=on)
        assert after.treatment_of(10_000) == ledger.PAGO_ANTICIPADO
        assert after.outstanding_principal == D(0)
        assert owed(after) == D(0)
        assert after.paid_off
        assert after.unapplied == before.unapplied  # not a céntimo beyond the debt
        # Later, nothing accrues: the loan stays closed.
        later = ledger.replay(
            terms=terms,
            lines=lines,
            entries=[*entries, closing],
            as_of=on + dt.timedelta(days=400),
        )
        assert owed(later) == D(0) and later.days_past_due == 0


def test_item2_a_payoff_with_two_installments_left_is_a_pago_anticipado_not_an_adelanto() -> None:
    """Four installments paid on time, then the payoff quote 10 days into the fifth period: before, it was
    applied as an adelanto and left principal open."""
    terms, lines = plan()
    entries = [pay(n, line.due_on, str(line.total)) for n, line in enumerate(lines[:4], start=1)]
    on = lines[3].due_on + dt.timedelta(days=10)
    quote = ledger.replay(terms=terms, lines=lines, entries=entries, as_of=on).payoff()
    # Principal of installments 5 and 6, and 10 days of interest on installment 5's opening balance.
    assert quote.principal == lines[4].principal + lines[5].principal
    assert quote.interest == ledger.current_period_charges(terms, lines[4], on)["interest"]
    assert quote.total < lines[4].total + lines[5].total  # less than two installments: interest reduced

    after = ledger.replay(terms=terms, lines=lines, entries=[*entries, pay(9, on, str(quote.total))], as_of=on)

    assert after.outstanding_principal == D(0) and after.paid_off and after.unapplied == D(0)


def test_item2_the_payoff_of_an_overdue_loan_includes_every_late_charge() -> None:
    terms, lines = plan()
    on = dt.date(2025, 4, 1)
    state = ledger.replay(terms=terms, lines=lines, entries=[], as_of=on)
    quote = state.payoff()
    late = sum((line.moratory_due + line.late_interest_due for line in state.current_lines), D(0))
    assert quote.exigible_by_component["moratory"] + quote.exigible_by_component["late_interest"] == late > 0
    closed = ledger.replay(terms=terms, lines=lines, entries=[pay(1, on, str(quote.total))], as_of=on)
    assert closed.paid_off and closed.outstanding_principal == D(0) and closed.unapplied == D(0)


# --- Item 3: the threshold counts the exigible installment; the borrower may ask for the other ----------


def test_item3_two_installments_counting_the_exigible_one_is_still_an_adelanto() -> None:
    terms, lines = plan()
    on = dt.date(2025, 2, 10)  # nothing overdue: the exigible installment is the one due 02-17
    two = lines[0].total + lines[1].total
    state = ledger.replay(terms=terms, lines=lines, entries=[], as_of=on)
    assert state.adelanto_threshold() == two
    assert state.treatment_for(two) == ledger.ADELANTO
    assert state.treatment_for(two + D("0.01")) == ledger.PAGO_ANTICIPADO

    # Before the fix, what exceeded the exigible amount was compared with the next two installments:
    # three installments' worth was still an adelanto. Now it reduces principal.
    three = ledger.replay(terms=terms, lines=lines, entries=[pay(1, on, str(two + lines[2].total))], as_of=on)
    assert three.treatment_of(1) == ledger.PAGO_ANTICIPADO and three.current_version == 2


def test_item3_the_overdue_installments_and_the_next_one_are_the_two() -> None:
    terms, lines = plan()
    on = dt.date(2025, 3, 20)  # installments 1 and 2 overdue
    state = ledger.replay(terms=terms, lines=lines, entries=[], as_of=on)
    overdue = state.exigible()
    assert state.adelanto_threshold() == overdue + lines[2].total
    # The buyer's ordinary withholding — everything overdue plus the next installment — is an adelanto.
    assert state.amount_due() == state.adelanto_threshold()
    assert state.treatment_for(state.amount_due()) == ledger.ADELANTO
    assert state.treatment_for(state.amount_due() + D("0.01")) == ledger.PAGO_ANTICIPADO


def test_item3_the_borrower_may_ask_for_the_other_treatment() -> None:
    terms, lines = plan()
    on = dt.date(2025, 2, 10)
    three = str(lines[0].total + lines[1].total + lines[2].total)
    as_adelanto = ledger.replay(terms=terms, lines=lines, entries=[pay(1, on, three, treatment="adelanto")], as_of=on)
    assert as_adelanto.treatment_of(1) == ledger.ADELANTO
    assert as_adelanto.current_version == 1
    assert [line.status for line in as_adelanto.current_lines[:3]] == ["paid"] * 3

    small = str(lines[0].total)
    as_anticipado = ledger.replay(
        terms=terms, lines=lines, entries=[pay(1, on, small, treatment="pago_anticipado")], as_of=on
    )
    assert as_anticipado.treatment_of(1) == ledger.PAGO_ANTICIPADO
    assert as_anticipado.current_version == 2
    # Interest to 02-10 (26 days on 10,000) is all that is charged; the rest went to principal.
    interest = ledger.current_period_charges(terms, lines[0], on)["interest"]
    assert as_anticipado.outstanding_principal == D("10000.00") - (lines[0].total - interest)


def test_item3_a_withholding_follows_the_loans_standing_instruction() -> None:
    terms, lines = plan()
    on = dt.date(2025, 2, 10)
    withholding = ledger.Entry(1, ledger.WITHHOLDING, on, lines[0].total, treatment=ledger.PAGO_ANTICIPADO)
    state = ledger.replay(terms=terms, lines=lines, entries=[withholding], as_of=on)
    assert state.treatment_of(1) == ledger.PAGO_ANTICIPADO and state.current_version == 2


# --- Item 4: compensatory plus moratory, linear by day, whatever the number of payments -----------------


def test_item4_late_charges_do_not_depend_on_how_many_payments_arrive() -> None:
    """The loan falls behind from 02-17; on 06-17 the miner pays. In one history nothing came in between,
    in the other a S/ 1 withholding every week. Before, compounding per segment gave different figures
    (S/ 107.82 instead of S/ 109.12 on the DOMAIN loan)."""
    terms, lines = plan()
    end = dt.date(2025, 6, 17)
    weekly = [
        ledger.Entry(n, ledger.WITHHOLDING, FIRST_DUE + dt.timedelta(days=7 * n), D("1.00")) for n in range(1, 17)
    ]
    quiet = ledger.replay(terms=terms, lines=lines, entries=[], as_of=end)
    busy = ledger.replay(terms=terms, lines=lines, entries=weekly, as_of=end)

    for a, b in zip(quiet.current_lines, busy.current_lines, strict=True):
        assert abs(a.moratory_accrued - b.moratory_accrued) <= D("0.01")
        assert abs(a.late_interest_accrued - b.late_interest_accrued) <= D("0.01")
    # Installment 1's principal 1,527.16 overdue 120 days: p × i₁ × d at 15% and at the 40% TEA.
    first = quiet.current_lines[0]
    assert first.moratory_accrued == D("71.16")
    assert first.late_interest_accrued == D("171.36")
    # And the S/ 16 went to the late charges first (moratory, then compensatory on overdue principal).
    assert busy.moratory_outstanding + busy.late_interest_outstanding == (
        quiet.moratory_outstanding + quiet.late_interest_outstanding - D("16.00")
    )


@settings(max_examples=40, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=150), max_size=10, unique=True),
    amount=st.decimals(min_value=D("0.01"), max_value=D("3.00"), places=2),
)
def test_item4_any_number_of_small_payments_changes_no_late_charge_beyond_a_centimo(cuts, amount) -> None:  # type: ignore[no-untyped-def]
    terms, lines = plan()
    end = FIRST_DUE + dt.timedelta(days=151)
    small = [ledger.Entry(n, ledger.PAYMENT, FIRST_DUE + dt.timedelta(days=c), amount) for n, c in enumerate(cuts, 1)]
    quiet = ledger.replay(terms=terms, lines=lines, entries=[], as_of=end)
    busy = ledger.replay(terms=terms, lines=lines, entries=small, as_of=end)
    for a, b in zip(quiet.current_lines, busy.current_lines, strict=True):
        assert abs(a.moratory_accrued - b.moratory_accrued) <= D("0.01")
        assert abs(a.late_interest_accrued - b.late_interest_accrued) <= D("0.01")


# --- Arrival order and batching -----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(specs=entry_specs, data=st.data())
def test_item1_to_4_any_arrival_order_and_incremental_replay_give_the_same_figures(specs, data) -> None:  # type: ignore[no-untyped-def]
    terms, lines = plan(insurance=D("0.0004"), fee=D("3.50"))
    entries = history(specs)
    as_of = dt.date(2025, 9, 1)
    shuffled = data.draw(st.permutations(entries))
    # Ids in arrival order: the permutation is renumbered, as the database would number it.
    renumbered = [
        ledger.Entry(
            n,
            e.kind,
            e.value_date,
            e.amount,
            treatment=e.treatment,
            prepayment_mode=e.prepayment_mode,
        )
        for n, e in enumerate(shuffled, start=1)
    ]
    first = ledger.replay(terms=terms, lines=lines, entries=entries, as_of=as_of)
    second = ledger.replay(terms=terms, lines=lines, entries=renumbered, as_of=as_of)
    incremental = ledger.IncrementalReplay(terms=terms, lines=lines, entries=[])
    for entry in renumbered:
        incremental.add(entry)

    def figures(state: ledger.LedgerState) -> tuple:  # type: ignore[type-arg]
        return (
            [(line.version, line.plan, line.remaining_by_component(), line.status) for line in state.lines],
            state.outstanding_principal,
            state.overpayment_credit,
            state.days_past_due,
        )

    assert figures(first) == figures(second) == figures(incremental.state(as_of))


@settings(max_examples=80, deadline=None)
@given(
    specs=entry_specs,
    day=st.integers(min_value=1, max_value=240),
    amount=st.decimals(min_value=D("0.01"), max_value=D("12000.00"), places=2),
    treatment=st.sampled_from(ledger.TREATMENTS),
)
def test_item3_the_replay_applies_a_payment_as_the_quote_said_it_would(specs, day, amount, treatment) -> None:  # type: ignore[no-untyped-def]
    """What staff are shown before recording (``LedgerState.treatment_for``, from the payoff quote and
    the threshold) is how the replay applies the payment (its one-pass decision)."""
    terms, lines = plan(insurance=D("0.0004"), fee=D("3.50"))
    on = START + dt.timedelta(days=day)
    # Entries of earlier days only: a same-day entry may sort after the new one.
    entries = [entry for entry in history(specs) if entry.value_date < on]
    before = ledger.replay(terms=terms, lines=lines, entries=entries, as_of=on)
    after = ledger.replay(
        terms=terms, lines=lines, entries=[*entries, pay(10_000, on, str(amount), treatment=treatment)], as_of=on
    )
    assert after.treatment_of(10_000) == before.treatment_for(amount, treatment)
