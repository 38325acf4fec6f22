"""Reading form posts strictly: the right content type, each parameter once (RFC 6749 §3.2)."""

from __future__ import annotations

from fastapi import Request

from labserver.web.errors import InvalidRequest

FORM = "application/x-www-form-urlencoded"


async def read_form(request: Request, error=InvalidRequest, known: frozenset[str] | None = None) -> dict[str, str]:
    """Return the form's fields, or raise ``error`` if the body is not one flat urlencoded form.

    With ``known``, other parameters are ignored, repeated or not (RFC 6749 §3.2: "MUST ignore
    unrecognized request parameters"); only a known one given twice is an error.
    """
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        raise error(f"send the parameters as {FORM}")
    try:
        form = await request.form()
    except Exception:  # the multipart/urlencoded parser's own errors
        raise error("the form body could not be parsed") from None
    fields = {}
    for name in form.keys():
        if known is not None and name not in known:
            continue
        values = form.getlist(name)
        if len(values) > 1:
            raise error(f"parameter {name} is repeated")
        if not isinstance(values[0], str):
            raise error(f"parameter {name} must be text")
        fields[name] = values[0]
    return fields


def required(fields: dict[str, str], name: str, error=InvalidRequest) -> str:
    value = fields.get(name, "")
    if not value:
        raise error(f"parameter {name} is missing")
    return value
