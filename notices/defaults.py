"""The default wording of every message: 6 events × SMS, WhatsApp, e-mail × Spanish, English.

Written for a miner with little schooling: the figure first, short sentences, no jargon beyond the words
the miner already hears (cuota, cronograma, mora, constancia de no adeudo). The lender edits them in the
admin; ``seed_default_templates`` (run by migration ``notices 0002``) creates the missing ones and never
touches a template that already exists, edited or not.

SMS: one message of 160 GSM-7 characters on realistic figures (``tests/notices``), except the withholding
receipt, which takes two parts (≤ 306): the buyer, lot and date, value, withheld, paid, the price share,
the installments paid, the principal left, the next due date and amount and the link; the interest and
principal split and the payoff are in the WhatsApp and e-mail variants and on the statement page.
"Saldo" in an SMS is the principal left (``outstanding_principal``). The Spanish SMS avoid
á í ó ú, which GSM-7 lacks ("credito", "dias", "Prox."); é ñ ü are fine.
"""

from __future__ import annotations

from typing import Any

# (event, channel, language) → (subject, body)
DEFAULT_TEMPLATES: dict[tuple[str, str, str], tuple[str, str]] = {
    # --- Withholding receipt -------------------------------------------------------------------------
    ("withholding", "sms", "es"): (
        "",
        "{{ buyer_name }}, lote {{ lot_code }}: valor {{ gross_payable }}, retuvo {{ withheld }},"
        " le pago {{ net_paid }} ({{ price_share }} del precio internacional). Pago {{ paid_installments }}."
        " Saldo {{ outstanding_principal }}."
        "{% if next_due_date %} Prox. cuota {{ next_due_date }}: {{ next_due_amount }}.{% endif %}"
        " {{ statement_url }}",
    ),
    ("withholding", "sms", "en"): (
        "",
        "{{ buyer_name }}, lot {{ lot_code }}: value {{ gross_payable }}, withheld {{ withheld }},"
        " paid you {{ net_paid }} ({{ price_share }} of the world price). Paid {{ paid_installments }}."
        " Balance {{ outstanding_principal }}."
        "{% if next_due_date %} Next {{ next_due_date }}: {{ next_due_amount }}.{% endif %}"
        " {{ statement_url }}",
    ),
    ("withholding", "whatsapp", "es"): (
        "",
        """Hola {{ miner_name }}:
{{ buyer_name }} compró su lote {{ lot_code }} el {{ settled_on }}.
Valor del lote: {{ gross_payable }}
Retenido para su crédito: {{ withheld }}
Le pagaron: {{ net_paid }}
{{ price_phrase }}

{% if paid_installments %}Lo retenido pagó {{ paid_installments }}:
- Interés: {{ paid_interest }}
- Capital: {{ paid_principal }}
{% if paid_late_charges %}- Mora: {{ paid_late_charges }}
{% endif %}{% if paid_other %}- Seguro y comisiones: {{ paid_other }}
{% endif %}{% endif %}{% if paid_to_credit %}- A su favor: {{ paid_to_credit }}
{% endif %}
Le falta pagar de capital: {{ outstanding_principal }}
{% if next_due_date %}Próxima cuota: {{ next_due_amount }} el {{ next_due_date }}.
{% endif %}Para pagar todo hoy: {{ payoff_today }}.
{% if overpayment_credit %}Tiene {{ overpayment_credit }} a su favor.
{% endif %}
Vea su cuenta: {{ statement_url }}
{{ lender_name }}""",
    ),
    ("withholding", "whatsapp", "en"): (
        "",
        """Hello {{ miner_name }}:
{{ buyer_name }} bought your lot {{ lot_code }} on {{ settled_on }}.
Lot value: {{ gross_payable }}
Withheld for your loan: {{ withheld }}
Paid to you: {{ net_paid }}
{{ price_phrase }}

{% if paid_installments %}The withholding paid {{ paid_installments }}:
- Interest: {{ paid_interest }}
- Principal: {{ paid_principal }}
{% if paid_late_charges %}- Late charges: {{ paid_late_charges }}
{% endif %}{% if paid_other %}- Insurance and fees: {{ paid_other }}
{% endif %}{% endif %}{% if paid_to_credit %}- In your favour: {{ paid_to_credit }}
{% endif %}
Principal still to pay: {{ outstanding_principal }}
{% if next_due_date %}Next installment: {{ next_due_amount }} on {{ next_due_date }}.
{% endif %}To pay everything today: {{ payoff_today }}.
{% if overpayment_credit %}You have {{ overpayment_credit }} in your favour.
{% endif %}
Your account: {{ statement_url }}
{{ lender_name }}""",
    ),
    ("withholding", "email", "es"): (
        "Retención de {{ buyer_name }}: lote {{ lot_code }}",
        """Hola {{ miner_name }}:

{{ buyer_name }} compró su lote {{ lot_code }} el {{ settled_on }}.

Valor del lote: {{ gross_payable }}
Retenido para su crédito {{ loan_code }}: {{ withheld }}
Le pagaron: {{ net_paid }}
{{ price_phrase }}

{% if paid_installments %}Lo retenido pagó {{ paid_installments }}:
- Interés: {{ paid_interest }}
- Capital: {{ paid_principal }}
{% if paid_late_charges %}- Mora: {{ paid_late_charges }}
{% endif %}{% if paid_other %}- Seguro y comisiones: {{ paid_other }}
{% endif %}{% endif %}{% if paid_to_credit %}- A su favor: {{ paid_to_credit }}
{% endif %}
Le falta pagar de capital: {{ outstanding_principal }}
{% if next_due_date %}Próxima cuota: {{ next_due_amount }} el {{ next_due_date }}.
{% endif %}Para pagar todo hoy: {{ payoff_today }}.
{% if overpayment_credit %}Tiene {{ overpayment_credit }} a su favor.
{% endif %}
Vea su cronograma y sus pagos aquí: {{ statement_url }}

¿Preguntas? Llámenos al {{ lender_phone }}.
{{ lender_name }}""",
    ),
    ("withholding", "email", "en"): (
        "Withholding by {{ buyer_name }}: lot {{ lot_code }}",
        """Hello {{ miner_name }},

{{ buyer_name }} bought your lot {{ lot_code }} on {{ settled_on }}.

Lot value: {{ gross_payable }}
Withheld for your loan {{ loan_code }}: {{ withheld }}
Paid to you: {{ net_paid }}
{{ price_phrase }}

{% if paid_installments %}The withholding paid {{ paid_installments }}:
- Interest: {{ paid_interest }}
- Principal: {{ paid_principal }}
{% if paid_late_charges %}- Late charges: {{ paid_late_charges }}
{% endif %}{% if paid_other %}- Insurance and fees: {{ paid_other }}
{% endif %}{% endif %}{% if paid_to_credit %}- In your favour: {{ paid_to_credit }}
{% endif %}
Principal still to pay: {{ outstanding_principal }}
{% if next_due_date %}Next installment: {{ next_due_amount }} on {{ next_due_date }}.
{% endif %}To pay everything today: {{ payoff_today }}.
{% if overpayment_credit %}You have {{ overpayment_credit }} in your favour.
{% endif %}
Your schedule and payments: {{ statement_url }}

Questions? Call us on {{ lender_phone }}.
{{ lender_name }}""",
    ),
    # --- Payment receipt -----------------------------------------------------------------------------
    ("payment", "sms", "es"): (
        "",
        "Recibimos {{ paid_amount }}. Saldo {{ outstanding_principal }}."
        "{% if next_due_date %} Prox. cuota {{ next_due_date }}: {{ next_due_amount }}.{% endif %}"
        " {{ statement_url }}",
    ),
    ("payment", "sms", "en"): (
        "",
        "We received {{ paid_amount }}. Balance {{ outstanding_principal }}."
        "{% if next_due_date %} Next {{ next_due_date }}: {{ next_due_amount }}.{% endif %}"
        " {{ statement_url }}",
    ),
    ("payment", "whatsapp", "es"): (
        "",
        """Hola {{ miner_name }}:
Recibimos su pago de {{ paid_amount }} el {{ paid_on }}.
{% if paid_installments %}Pagó {{ paid_installments }}: interés {{ paid_interest }}, capital {{ paid_principal }}.
{% endif %}{% if paid_to_credit %}Quedó a su favor: {{ paid_to_credit }}.
{% endif %}Le falta pagar de capital: {{ outstanding_principal }}
{% if next_due_date %}Próxima cuota: {{ next_due_amount }} el {{ next_due_date }}.
{% endif %}
Vea su cuenta: {{ statement_url }}
{{ lender_name }}""",
    ),
    ("payment", "whatsapp", "en"): (
        "",
        """Hello {{ miner_name }}:
We received your payment of {{ paid_amount }} on {{ paid_on }}.
{% if paid_installments %}It paid {{ paid_installments }}: interest {{ paid_interest }}, principal {{ paid_principal }}.
{% endif %}{% if paid_to_credit %}In your favour: {{ paid_to_credit }}.
{% endif %}Principal still to pay: {{ outstanding_principal }}
{% if next_due_date %}Next installment: {{ next_due_amount }} on {{ next_due_date }}.
{% endif %}
Your account: {{ statement_url }}
{{ lender_name }}""",
    ),
    ("payment", "email", "es"): (
        "Recibimos su pago de {{ paid_amount }}",
        """Hola {{ miner_name }}:

Recibimos su pago de {{ paid_amount }} el {{ paid_on }} para su crédito {{ loan_code }}.

{% if paid_installments %}Pagó {{ paid_installments }}:
- Interés: {{ paid_interest }}
- Capital: {{ paid_principal }}
{% if paid_late_charges %}- Mora: {{ paid_late_charges }}
{% endif %}{% if paid_other %}- Seguro y comisiones: {{ paid_other }}
{% endif %}{% endif %}{% if paid_to_credit %}Quedó a su favor: {{ paid_to_credit }}
{% endif %}
Le falta pagar de capital: {{ outstanding_principal }}
{% if next_due_date %}Próxima cuota: {{ next_due_amount }} el {{ next_due_date }}.
{% endif %}Para pagar todo hoy: {{ payoff_today }}.

Vea su cronograma y sus pagos aquí: {{ statement_url }}

¿Preguntas? Llámenos al {{ lender_phone }}.
{{ lender_name }}""",
    ),
    ("payment", "email", "en"): (
        "We received your payment of {{ paid_amount }}",
        """Hello {{ miner_name }},

We received your payment of {{ paid_amount }} on {{ paid_on }} for your loan {{ loan_code }}.

{% if paid_installments %}It paid {{ paid_installments }}:
- Interest: {{ paid_interest }}
- Principal: {{ paid_principal }}
{% if paid_late_charges %}- Late charges: {{ paid_late_charges }}
{% endif %}{% if paid_other %}- Insurance and fees: {{ paid_other }}
{% endif %}{% endif %}{% if paid_to_credit %}In your favour: {{ paid_to_credit }}
{% endif %}
Principal still to pay: {{ outstanding_principal }}
{% if next_due_date %}Next installment: {{ next_due_amount }} on {{ next_due_date }}.
{% endif %}To pay everything today: {{ payoff_today }}.

Your schedule and payments: {{ statement_url }}

Questions? Call us on {{ lender_phone }}.
{{ lender_name }}""",
    ),
    # --- Reminder before a due date -----------------------------------------------------------------
    ("reminder", "sms", "es"): (
        "",
        "{{ miner_name }}: cuota {{ installment_number }} de {{ due_amount }} vence el {{ due_date }}."
        " Evite la mora, pague a tiempo. {{ statement_url }}",
    ),
    ("reminder", "sms", "en"): (
        "",
        "{{ miner_name }}: installment {{ installment_number }} of {{ due_amount }} is due {{ due_date }}."
        " Please pay on time. {{ statement_url }}",
    ),
    ("reminder", "whatsapp", "es"): (
        "",
        """Hola {{ miner_name }}:
Su cuota {{ installment_number }} vence el {{ due_date }}.
Monto a pagar: {{ due_amount }}
Se paga con la retención de su próxima venta de mineral o en nuestra oficina.
Pague a tiempo y evite la mora.
Vea su cuenta: {{ statement_url }}
{{ lender_name }} · {{ lender_phone }}""",
    ),
    ("reminder", "whatsapp", "en"): (
        "",
        """Hello {{ miner_name }}:
Installment {{ installment_number }} is due on {{ due_date }}.
Amount to pay: {{ due_amount }}
It is paid from your next ore sale or at our office.
Pay on time to avoid late charges.
Your account: {{ statement_url }}
{{ lender_name }} · {{ lender_phone }}""",
    ),
    ("reminder", "email", "es"): (
        "Su cuota {{ installment_number }} vence el {{ due_date }}",
        """Hola {{ miner_name }}:

Su cuota {{ installment_number }} del crédito {{ loan_code }} vence el {{ due_date }}.
Monto a pagar: {{ due_amount }}

Se paga con la retención de su próxima venta de mineral o en nuestra oficina.
Pague a tiempo y evite la mora.

Vea su cronograma aquí: {{ statement_url }}

¿Preguntas? Llámenos al {{ lender_phone }}.
{{ lender_name }}""",
    ),
    ("reminder", "email", "en"): (
        "Installment {{ installment_number }} is due on {{ due_date }}",
        """Hello {{ miner_name }},

Installment {{ installment_number }} of your loan {{ loan_code }} is due on {{ due_date }}.
Amount to pay: {{ due_amount }}

It is paid from the withholding of your next ore sale or at our office.
Pay on time to avoid late charges.

Your schedule: {{ statement_url }}

Questions? Call us on {{ lender_phone }}.
{{ lender_name }}""",
    ),
    # --- Arrears notice ------------------------------------------------------------------------------
    ("arrears", "sms", "es"): (
        "",
        "{{ miner_name }}, su credito tiene {{ days_past_due }} dias de atraso. Para ponerse al dia pague"
        " {{ overdue_amount }}. {{ statement_url }}",
    ),
    ("arrears", "sms", "en"): (
        "",
        "{{ miner_name }}, your loan is {{ days_past_due }} days late. To catch up, pay {{ overdue_amount }}."
        " {{ statement_url }}",
    ),
    ("arrears", "whatsapp", "es"): (
        "",
        """Hola {{ miner_name }}:
Su crédito tiene {{ days_past_due }} días de atraso{% if overdue_since %} (desde el {{ overdue_since }}){% endif %}.
Para ponerse al día debe pagar {{ overdue_amount }}.
Cada día de atraso suma intereses de mora.
Si tiene un problema, llámenos al {{ lender_phone }}: podemos ayudarle.
Vea su cuenta: {{ statement_url }}
{{ lender_name }}""",
    ),
    ("arrears", "whatsapp", "en"): (
        "",
        """Hello {{ miner_name }}:
Your loan is {{ days_past_due }} days late{% if overdue_since %} (since {{ overdue_since }}){% endif %}.
To catch up, pay {{ overdue_amount }}.
Each late day adds late charges.
If you have a problem, call us on {{ lender_phone }}: we can help.
Your account: {{ statement_url }}
{{ lender_name }}""",
    ),
    ("arrears", "email", "es"): (
        "Su crédito {{ loan_code }} tiene {{ days_past_due }} días de atraso",
        """Hola {{ miner_name }}:

Su crédito {{ loan_code }} tiene {{ days_past_due }} días de atraso\
{% if overdue_since %} (desde el {{ overdue_since }}){% endif %}.
Para ponerse al día debe pagar {{ overdue_amount }}.
Cada día de atraso suma intereses de mora.

Si tiene un problema, llámenos al {{ lender_phone }}: podemos ayudarle.

Vea su cronograma y sus pagos aquí: {{ statement_url }}

{{ lender_name }}""",
    ),
    ("arrears", "email", "en"): (
        "Your loan {{ loan_code }} is {{ days_past_due }} days late",
        """Hello {{ miner_name }},

Your loan {{ loan_code }} is {{ days_past_due }} days late{% if overdue_since %} (since {{ overdue_since }}){% endif %}.
To catch up, pay {{ overdue_amount }}.
Each late day adds late charges.

If you have a problem, call us on {{ lender_phone }}: we can help.

Your schedule and payments: {{ statement_url }}

{{ lender_name }}""",
    ),
    # --- New cronograma ------------------------------------------------------------------------------
    ("schedule", "sms", "es"): (
        "",
        "Nuevo cronograma: {{ installments_left }} cuotas de {{ installment_amount }}."
        "{% if next_due_date %} Prox. cuota {{ next_due_date }}.{% endif %} {{ statement_url }}",
    ),
    ("schedule", "sms", "en"): (
        "",
        "New schedule: {{ installments_left }} installments of {{ installment_amount }}."
        "{% if next_due_date %} Next {{ next_due_date }}.{% endif %} {{ statement_url }}",
    ),
    ("schedule", "whatsapp", "es"): (
        "",
        """Hola {{ miner_name }}:
Su crédito tiene un nuevo cronograma.
Le quedan {{ installments_left }} cuotas de {{ installment_amount }}, hasta el {{ last_due_date }}.
{% if next_due_date %}Próxima cuota: {{ next_due_amount }} el {{ next_due_date }}.
{% endif %}Le falta pagar de capital: {{ outstanding_principal }}
Vea el cronograma: {{ statement_url }}
{{ lender_name }}""",
    ),
    ("schedule", "whatsapp", "en"): (
        "",
        """Hello {{ miner_name }}:
Your loan has a new schedule.
{{ installments_left }} installments of {{ installment_amount }} are left, until {{ last_due_date }}.
{% if next_due_date %}Next installment: {{ next_due_amount }} on {{ next_due_date }}.
{% endif %}Principal still to pay: {{ outstanding_principal }}
See the schedule: {{ statement_url }}
{{ lender_name }}""",
    ),
    ("schedule", "email", "es"): (
        "Nuevo cronograma de su crédito {{ loan_code }}",
        """Hola {{ miner_name }}:

Su crédito {{ loan_code }} tiene un nuevo cronograma.
Le quedan {{ installments_left }} cuotas de {{ installment_amount }}, hasta el {{ last_due_date }}.
{% if next_due_date %}Próxima cuota: {{ next_due_amount }} el {{ next_due_date }}.
{% endif %}Le falta pagar de capital: {{ outstanding_principal }}

Vea el cronograma completo aquí: {{ statement_url }}

¿Preguntas? Llámenos al {{ lender_phone }}.
{{ lender_name }}""",
    ),
    ("schedule", "email", "en"): (
        "New schedule for your loan {{ loan_code }}",
        """Hello {{ miner_name }},

Your loan {{ loan_code }} has a new schedule.
{{ installments_left }} installments of {{ installment_amount }} are left, until {{ last_due_date }}.
{% if next_due_date %}Next installment: {{ next_due_amount }} on {{ next_due_date }}.
{% endif %}Principal still to pay: {{ outstanding_principal }}

The full schedule: {{ statement_url }}

Questions? Call us on {{ lender_phone }}.
{{ lender_name }}""",
    ),
    # --- Reprogramación: the new cronograma ---------------------------------------------------------
    ("reschedule", "sms", "es"): (
        "",
        "Credito reprogramado: {{ installments_left }} cuotas de {{ installment_amount }}."
        "{% if next_due_date %} Prox. cuota {{ next_due_date }}.{% endif %} {{ statement_url }}",
    ),
    ("reschedule", "sms", "en"): (
        "",
        "Loan rescheduled: {{ installments_left }} installments of {{ installment_amount }}."
        "{% if next_due_date %} Next {{ next_due_date }}.{% endif %} {{ statement_url }}",
    ),
    ("reschedule", "whatsapp", "es"): (
        "",
        """Hola {{ miner_name }}:
Su crédito {{ loan_code }} fue reprogramado y tiene un nuevo cronograma.
Le quedan {{ installments_left }} cuotas de {{ installment_amount }}, hasta el {{ last_due_date }}.
{% if next_due_date %}Próxima cuota: {{ next_due_amount }} el {{ next_due_date }}.
{% endif %}{% if deferred_interest %}El interés del periodo de gracia ({{ deferred_interest }})
se reparte entre las nuevas cuotas; no se suma al capital.
{% endif %}Le falta pagar de capital: {{ outstanding_principal }}
Vea el cronograma: {{ statement_url }}
{{ lender_name }}""",
    ),
    ("reschedule", "whatsapp", "en"): (
        "",
        """Hello {{ miner_name }}:
Your loan {{ loan_code }} was rescheduled and has a new schedule.
{{ installments_left }} installments of {{ installment_amount }} are left, until {{ last_due_date }}.
{% if next_due_date %}Next installment: {{ next_due_amount }} on {{ next_due_date }}.
{% endif %}{% if deferred_interest %}The interest of the payment holiday ({{ deferred_interest }})
is spread over the new installments; it is not added to principal.
{% endif %}Principal still to pay: {{ outstanding_principal }}
See the schedule: {{ statement_url }}
{{ lender_name }}""",
    ),
    ("reschedule", "email", "es"): (
        "Su crédito {{ loan_code }} fue reprogramado",
        """Hola {{ miner_name }}:

Su crédito {{ loan_code }} fue reprogramado y tiene un nuevo cronograma.
Le quedan {{ installments_left }} cuotas de {{ installment_amount }}, hasta el {{ last_due_date }}.
{% if next_due_date %}Próxima cuota: {{ next_due_amount }} el {{ next_due_date }}.
{% endif %}{% if deferred_interest %}El interés del periodo de gracia ({{ deferred_interest }})
se reparte entre las nuevas cuotas en su propia columna; no se suma al capital.
{% endif %}Le falta pagar de capital: {{ outstanding_principal }}

Vea el cronograma completo aquí: {{ statement_url }}

¿Preguntas? Llámenos al {{ lender_phone }}.
{{ lender_name }}""",
    ),
    ("reschedule", "email", "en"): (
        "Your loan {{ loan_code }} was rescheduled",
        """Hello {{ miner_name }},

Your loan {{ loan_code }} was rescheduled and has a new schedule.
{{ installments_left }} installments of {{ installment_amount }} are left, until {{ last_due_date }}.
{% if next_due_date %}Next installment: {{ next_due_amount }} on {{ next_due_date }}.
{% endif %}{% if deferred_interest %}The interest of the payment holiday ({{ deferred_interest }})
is spread over the new installments in its own column; it is not added to principal.
{% endif %}Principal still to pay: {{ outstanding_principal }}

The full schedule: {{ statement_url }}

Questions? Call us on {{ lender_phone }}.
{{ lender_name }}""",
    ),
    # --- Paid off (constancia de no adeudo) ---------------------------------------------------------
    ("paid_off", "sms", "es"): (
        "",
        "{{ miner_name }}, su credito {{ loan_code }} esta pagado."
        "{% if overpayment_credit %} A su favor: {{ overpayment_credit }}.{% else %} Felicitaciones!{% endif %}"
        " Constancia: {{ statement_url }}",
    ),
    ("paid_off", "sms", "en"): (
        "",
        "{{ miner_name }}, loan {{ loan_code }} is paid off."
        "{% if overpayment_credit %} In your favour: {{ overpayment_credit }}.{% else %} Congratulations!{% endif %}"
        " Certificate: {{ statement_url }}",
    ),
    ("paid_off", "whatsapp", "es"): (
        "",
        """¡Felicitaciones, {{ miner_name }}!
Su crédito {{ loan_code }} de {{ loan_principal }} está pagado desde el {{ paid_off_on }}.
No nos debe nada por este crédito.
{% if overpayment_credit %}Tiene {{ overpayment_credit }} a su favor: llámenos para devolvérselo.
{% endif %}Su constancia de no adeudo: {{ statement_url }}
{{ lender_name }} · {{ lender_phone }}""",
    ),
    ("paid_off", "whatsapp", "en"): (
        "",
        """Congratulations, {{ miner_name }}!
Your loan {{ loan_code }} of {{ loan_principal }} is paid off since {{ paid_off_on }}.
You owe nothing on this loan.
{% if overpayment_credit %}You have {{ overpayment_credit }} in your favour: call us to get it back.
{% endif %}Your certificate of no debt: {{ statement_url }}
{{ lender_name }} · {{ lender_phone }}""",
    ),
    ("paid_off", "email", "es"): (
        "Constancia de no adeudo: crédito {{ loan_code }}",
        """Hola {{ miner_name }}:

¡Felicitaciones! Su crédito {{ loan_code }} de {{ loan_principal }} está pagado desde el {{ paid_off_on }}.
No nos debe nada por este crédito.
{% if overpayment_credit %}
Tiene {{ overpayment_credit }} a su favor: llámenos al {{ lender_phone }} para devolvérselo.
{% endif %}
Su constancia de no adeudo está aquí: {{ statement_url }}

Gracias por su confianza.
{{ lender_name }}""",
    ),
    ("paid_off", "email", "en"): (
        "Certificate of no debt: loan {{ loan_code }}",
        """Hello {{ miner_name }},

Congratulations! Your loan {{ loan_code }} of {{ loan_principal }} is paid off since {{ paid_off_on }}.
You owe nothing on this loan.
{% if overpayment_credit %}
You have {{ overpayment_credit }} in your favour: call us on {{ lender_phone }} to get it back.
{% endif %}
Your certificate of no debt (constancia de no adeudo): {{ statement_url }}

Thank you for your trust.
{{ lender_name }}""",
    ),
    # --- A new statement link an officer sends -------------------------------------------------------
    ("link", "sms", "es"): (
        "",
        "{{ miner_name }}, su estado de cuenta de {{ lender_name }}: {{ statement_url }} Vale hasta {{ expires_on }}.",
    ),
    ("link", "sms", "en"): (
        "",
        "{{ miner_name }}, your {{ lender_name }} statement: {{ statement_url }} Valid until {{ expires_on }}.",
    ),
    ("link", "whatsapp", "es"): (
        "",
        """Hola {{ miner_name }}:
Aquí puede ver su crédito, sus cuotas y lo que retuvo cada comprador: {{ statement_url }}
El enlace es personal y vale hasta el {{ expires_on }}.
{{ lender_name }} · {{ lender_phone }}""",
    ),
    ("link", "whatsapp", "en"): (
        "",
        """Hello {{ miner_name }},
Here you can see your loan, your installments and what each buyer withheld: {{ statement_url }}
The link is personal and valid until {{ expires_on }}.
{{ lender_name }} · {{ lender_phone }}""",
    ),
    ("link", "email", "es"): (
        "Su estado de cuenta en {{ lender_name }}",
        """Hola {{ miner_name }}:

Aquí puede ver su crédito, sus cuotas pagadas y lo que retuvo cada comprador de su mineral:
{{ statement_url }}

El enlace es personal: no lo comparta. Vale hasta el {{ expires_on }}.

¿Preguntas? Llámenos al {{ lender_phone }}.
{{ lender_name }}""",
    ),
    ("link", "email", "en"): (
        "Your statement at {{ lender_name }}",
        """Hello {{ miner_name }},

Here you can see your loan, the installments paid and what each buyer withheld from your ore:
{{ statement_url }}

The link is personal: do not share it. It is valid until {{ expires_on }}.

Questions? Call us on {{ lender_phone }}.
{{ lender_name }}""",
    ),
}


def seed_default_templates(model: Any) -> int:
    """Create the default templates that do not exist yet (``model`` is ``MessageTemplate``, or its
    historical version in a migration). An existing template — edited by the lender or not — is never
    touched, so running it again changes nothing. Returns how many it created."""
    existing = set(model.objects.values_list("event", "channel", "language"))
    missing = [
        model(event=event, channel=channel, language=language, subject=subject, body=body, is_active=True)
        for (event, channel, language), (subject, body) in DEFAULT_TEMPLATES.items()
        if (event, channel, language) not in existing
    ]
    model.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)
