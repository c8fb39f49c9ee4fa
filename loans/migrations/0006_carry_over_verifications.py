"""Verifications recorded before visits existed become visits, so replaying a loan's visits gives back
the very timestamps it had: one visit at the delivery's moment and, when the installation came later,
another at the installation's moment (with the note last written)."""

from django.db import migrations
from django.db.models import Q
from django.utils import timezone


def carry_over(apps, schema_editor):  # type: ignore[no-untyped-def]
    loan_model = apps.get_model("loans", "Loan")
    visit_model = apps.get_model("loans", "VerificationVisit")
    verified = loan_model.objects.filter(
        Q(delivery_verified_at__isnull=False) | Q(installation_verified_at__isnull=False)
    ).only("pk", "delivery_verified_at", "installation_verified_at", "verified_by_id", "verification_note")
    for loan in verified.iterator(chunk_size=500):
        installed_at = loan.installation_verified_at
        delivered_at = loan.delivery_verified_at or installed_at
        findings = [(delivered_at, installed_at == delivered_at)]
        if installed_at is not None and installed_at != delivered_at:
            findings.append((installed_at, True))
        for position, (moment, installed) in enumerate(findings, start=1):
            visit = visit_model.objects.create(
                loan_id=loan.pk,
                visited_on=timezone.localdate(moment),
                delivered=True,
                installed=installed,
                note=loan.verification_note if position == len(findings) else "",
                recorded_by_id=loan.verified_by_id,
            )
            visit_model.objects.filter(pk=visit.pk).update(created=moment, updated=moment)


class Migration(migrations.Migration):
    dependencies = [("loans", "0005_verification_visits")]

    operations = [migrations.RunPython(carry_over, migrations.RunPython.noop)]
