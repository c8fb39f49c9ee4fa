import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext

SUPPORTED = ("es", "en")
# Where the language of the pages is kept for the session (``asmcredit.preferences`` keeps it per user).
LANGUAGE_SESSION_KEY = "language"
_SESSION_KEY = re.compile(r"[a-z0-9]{8,64}")


def _accept_language(request: HttpRequest) -> str | None:
    header = request.headers.get("Accept-Language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in SUPPORTED:
            return code
    return None


class MalformedSessionCookieMiddleware:
    """Drop a session cookie that cannot be a session key before anything reads the session.

    Keys are 32 lowercase letters and digits; anything else (a NUL byte, say) could only fail later
    in the database driver with a 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        value = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if value is not None and not _SESSION_KEY.fullmatch(value):
            del request.COOKIES[settings.SESSION_COOKIE_NAME]
        return self.get_response(request)


class UserLanguageMiddleware:
    """Which language a response speaks.

    The officer web app speaks Spanish unless the user chose English with the header switch: kept in
    the session, and for a signed-in user also in their ``UserPreference``, which sign-in copies back
    into the new session (``asmcredit.signals``), so the choice outlives a sign-out. The session is
    read here because this runs before authentication. The browser's Accept-Language is ignored there,
    because shared branch laptops are often set to English. The API is a contract for integrators'
    code: it speaks English unless the client sends ``Accept-Language: es``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language: str | None
        if request.path.startswith("/api/"):
            language = _accept_language(request) or "en"
        else:
            language = request.session.get(LANGUAGE_SESSION_KEY) if hasattr(request, "session") else None
            if language not in SUPPORTED:
                language = "es"
        assert language is not None
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


def api_error(status: int, code: str, message: str) -> JsonResponse:
    """A response in the API's error shape (see ``asmcredit.api``), for answers given outside DRF."""
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


class ApiErrorMiddleware:
    """Keep the API's error shape for what Django answers before or around DRF.

    - A body longer than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused with a 413 before anything reads
      it: DRF's JSON parser reads the stream without Django's size check.
    - A path under ``/api/`` that matches no URL gets a JSON 404 instead of the HTML page (the web
      app keeps its own).
    Sits after ``UserLanguageMiddleware`` so its messages speak the API's language.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return api_error(
                413,
                "request_too_large",
                gettext("The request body is larger than %(limit)d bytes.") % {"limit": limit},
            )
        response = self.get_response(request)
        if response.status_code == 404 and not response.get("Content-Type", "").startswith("application/json"):
            return api_error(404, "not_found", gettext("Not found."))
        return response
