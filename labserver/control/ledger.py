"""Number every lab control that changes a server (anything but a read), so that the program that owns a lab
can tell whether anyone else used its controls in between: each answer from /lab/ carries ``Lab-Control: <n>``,
the number of changing controls obeyed so far, this one included.

The lab secret keeps other users out; inside one program it cannot tell the program's parts apart. A course
grader needs exactly that: a check drives its lab's controls (the clock, the referee, the flaws) while the code it
judges must not. The grader counts the controls it sent (coursekit.kit.grading.seal); a number that skips one means a
control came from elsewhere. The count never goes back, not even on /lab/reset.
"""

from __future__ import annotations

HEADER = "Lab-Control"


class ControlLedger:
    """How many changing lab controls this server obeyed; ``take()`` numbers the next one."""

    def __init__(self) -> None:
        self.count = 0

    def take(self) -> int:
        self.count += 1
        return self.count


class NumberControls:
    """ASGI middleware: a control's answer carries the number the secret check gave it (request.state.control)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/lab/"):
            await self.app(scope, receive, send)
            return

        async def numbered(message) -> None:
            number = scope.get("state", {}).get("control")
            if message["type"] == "http.response.start" and number is not None:
                message = {**message, "headers": [*message.get("headers", []),
                                                  (HEADER.lower().encode(), str(number).encode())]}
            await send(message)

        await self.app(scope, receive, numbered)
