"""The HTTP edge: routes, errors in the standard shape, request limits, response headers and the OpenAPI document."""
