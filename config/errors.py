"""The error pages (403, 404, 500): branded, in the language of the request, with a way back.

Under ``/api/`` the same errors answer in the API's JSON shape (``asmcredit.middleware.api_error``), as
the API's own errors do.

The 500 page may be shown because the database is down, so it is rendered with no request context:
the context processors read the session and the signed-in user (both in the database), and so would
the header of ``base.html``. Its template takes only the lender's name and the language, from settings
and from what ``UserLanguageMiddleware`` already decided (Spanish when that failed too).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext

from asmcredit.middleware import api_error


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return api_error(403, "permission_denied", gettext("You do not have permission to perform this action."))
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return api_error(404, "not_found", gettext("Not found."))
    return render(request, "404.html", {"request_path": request.path}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    language = getattr(request, "LANGUAGE_CODE", None) or settings.LANGUAGE_CODE
    with translation.override(language):
        if _is_api(request):
            return api_error(500, "server_error", gettext("A server error occurred."))
        content = loader.get_template("500.html").render(
            {"LENDER_NAME": settings.LENDER_NAME, "LANGUAGE_CODE": translation.get_language()}
        )
    return HttpResponseServerError(content)
