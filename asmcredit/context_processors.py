from django.conf import settings
from django.http import HttpRequest


def lender(request: HttpRequest) -> dict[str, object]:
    return {"LENDER_NAME": settings.LENDER_NAME}
