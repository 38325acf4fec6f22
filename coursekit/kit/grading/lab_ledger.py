"""Which lab controls a graded check sent, counted where the submission cannot reach, so that a control sent by
anything else (the submission, with a lab's secret found in the kit's memory) is seen.

A lab numbers every control it obeys (``Lab-Control``, labserver.control.ledger) and its handle raises an audit
event with that number (labserver.launch.handle). The seal (coursekit.kit.grading.seal) hands each event here with
whether the check's own code sent it. A lab joins the ledger at the first control the check sends; from then on
each control that changes it must come from the check and be the next number (reads are anyone's). At the report,
each lab is asked for its count once more, so that a change after the check's last control is seen too.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

__all__ = ["LabLedger"]

DRIVEN = "a lab the checks drive was driven by other code (its controls used by the submission)"


class LabLedger:
    """The controls the checks sent, per lab: ``control()`` for each event, ``close()`` at the report."""

    def __init__(self) -> None:
        self._labs: dict[int, list] = {}  # id(handle) -> [handle, its lab's origin, last number, lab secret]
        self._connect = http.client.HTTPConnection  # bound now: the submission runs after this is made

    def control(self, handle: object, method: str, url: str, number: int, secret: str, by_check: bool) -> str | None:
        """Note one control a lab obeyed (``url``: the request's; ``number``: changing controls so far); a note if
        it changed the lab and was not the check's, if another changed it in between, or if the handle now talks
        to another server. Reads (GET) are anyone's: an exercise may hand its answer a lab's tables to read."""
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        reads = method in ("GET", "HEAD")
        entry = self._labs.get(id(handle))
        if entry is None:
            if by_check:
                self._labs[id(handle)] = [handle, origin, number, secret]
            return None
        expected, entry[2] = entry[2] + (0 if reads else 1), number
        return None if (by_check or reads) and number == expected and origin == entry[1] else DRIVEN

    def close(self) -> list[str]:
        """Ask each plain-http lab of the ledger for its count (a read); a note for any changed since the check's
        last control."""
        notes = []
        for entry in self._labs.values():
            _, url, last, secret = entry
            parts = urlsplit(url)
            if parts.scheme != "http":  # a TLS lab (lesson 08): checked by the check's own later controls
                continue
            try:
                connection = self._connect(parts.hostname, parts.port, timeout=5)
                connection.request("GET", "/lab/stats", headers={"Lab-Secret": secret})
                response = connection.getresponse()
                response.read()
                connection.close()
            except OSError:  # stopped: it obeys nobody any more
                continue
            number = response.getheader("Lab-Control", "")
            if number != str(last):
                notes.append(DRIVEN)
            entry[2] = int(number) if number.isdigit() else last
        return notes
