"""``GET /api/v1/journal/?period=YYYY-MM``: the journal lines of a month for the lender's core system,
keyset-paged (``after`` = the last line id seen), with the ETag every GET answer carries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounting.models import JournalLine
from asmcredit import roles
from asmcredit.api import ApiViewMixin

MAX_LIMIT = 5000


class JournalQuerySerializer(serializers.Serializer):
    period = serializers.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$", help_text="YYYY-MM")
    currency = serializers.ChoiceField(choices=["PEN", "USD"], required=False)
    after = serializers.IntegerField(min_value=0, max_value=2**63 - 1, required=False, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, required=False, default=1000)

    def validate_period(self, value: str) -> str:
        # The pattern admits year 0000, which no calendar has.
        try:
            dt.datetime.strptime(value, "%Y-%m")
        except ValueError:
            raise serializers.ValidationError("Not a month: YYYY-MM, year 0001 or later.") from None
        return value


class JournalLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entry = serializers.IntegerField()
    value_date = serializers.DateField()
    event_date = serializers.DateField(help_text="The event's own date (earlier when its month was closed).")
    period = serializers.CharField()
    currency = serializers.CharField()
    event = serializers.CharField()
    source_type = serializers.CharField(allow_null=True)
    source_id = serializers.IntegerField(allow_null=True)
    loan = serializers.CharField(allow_null=True)
    account = serializers.CharField()
    debit = serializers.DecimalField(max_digits=14, decimal_places=2)
    credit = serializers.DecimalField(max_digits=14, decimal_places=2)
    memo = serializers.CharField()


class JournalPageSerializer(serializers.Serializer):
    period = serializers.CharField()
    next = serializers.URLField(allow_null=True, help_text="The next page (keyset: ``after`` = the last line id).")
    results = JournalLineSerializer(many=True)


def line_row(line: Any) -> dict[str, Any]:
    entry = line.entry
    return {
        "id": line.pk,
        "entry": entry.pk,
        "value_date": entry.value_date.isoformat(),
        "event_date": entry.source_value_date.isoformat(),
        "period": entry.period.strftime("%Y-%m"),
        "currency": entry.currency,
        "event": entry.event,
        "source_type": entry.source_type.model if entry.source_type_id else None,
        "source_id": entry.source_id,
        "loan": line.loan.code if line.loan_id else None,
        "account": line.account.code,
        "debit": str(line.debit),
        "credit": str(line.credit),
        "memo": entry.memo,
    }


class JournalView(ApiViewMixin, APIView):
    pagination_class = None

    @extend_schema(
        summary="The journal lines of a month (accountant or lender admin), keyset-paged",
        tags=["accounting"],
        parameters=[JournalQuerySerializer],
        responses={200: JournalPageSerializer},
    )
    def get(self, request: Request) -> Response:
        if not roles.has_role(request.user, *roles.ACCOUNTING_READERS):
            raise PermissionDenied()
        query = JournalQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        period = dt.datetime.strptime(values["period"], "%Y-%m").date()
        lines = (
            JournalLine.objects.filter(entry__period=period, pk__gt=values["after"])
            .select_related("entry", "entry__source_type", "account", "loan")
            .order_by("pk")
        )
        if values.get("currency"):
            lines = lines.filter(entry__currency=values["currency"])
        page = list(lines[: values["limit"] + 1])
        more = len(page) > values["limit"]
        page = page[: values["limit"]]
        following = None
        if more:
            params = request.query_params.copy()
            params["after"] = str(page[-1].pk)
            following = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response({"period": values["period"], "next": following, "results": [line_row(x) for x in page]})
