"""What every request passes before its view: text no database stores is refused at the door."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL = "\x00"
MESSAGE = "must not contain NUL characters"


def nul_field(request: HttpRequest) -> str | None:
    """The first part of the request holding a NUL character: the path, a parameter or a header."""
    # The API's views check their own path parts and name them (`customer`).
    if NUL in request.path and not request.path.startswith("/api/"):
        return "path"
    sources = [("query", request.GET)]
    # A URL-encoded form is read through `request.body`, which stays readable for the view. A
    # multipart body would be consumed here, leaving a view that reads the raw body nothing; its
    # text fields go through Django forms, whose fields refuse NUL themselves.
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        sources.append(("form", request.POST))
    for source, params in sources:
        for key, values in params.lists():
            if NUL in key or any(NUL in value for value in values):
                return f"{source}.{key.replace(NUL, '')}"
    for name, value in request.headers.items():
        if NUL in value:
            return f"header.{name}"
    return None


class RefuseNulMiddleware:
    """NUL in a path, query, form field or header answers 400 before any view reads it: PostgreSQL
    refuses NUL in text, so it would otherwise surface as a database error mid-request.

    A view marked `strips_nul = True` (a provider's webhook, whose text is taken as it comes and
    whose signature covers the NUL) is let through and strips NUL itself.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable, args, kwargs) -> HttpResponse | None:
        if getattr(view, "strips_nul", False):
            return None
        field = nul_field(request)
        if field is None:
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"errors": [{"field": field, "message": MESSAGE}]}, status=400)
        return HttpResponseBadRequest(f"Bad request: {field} {MESSAGE}.", content_type="text/plain")
