"""The token workbench as a widget: paste or take a token, edit it, re-sign it, send it, read the lab's answer.

    workbench(lab, token, secret=secret, route="GET /api/admin")   # the last line of a cell: the widget shows

A thin ipywidgets view over coursekit.labtools.workbench: every button calls one of its functions. Where no
widget front end runs (nbval, nbconvert, a terminal) the same state shows as text, the text/plain of the
output, so a stored notebook holds a readable, reproducible view and nothing random.
"""

from __future__ import annotations

import html
import json

import ipywidgets as w
import requests

from coursekit.labtools import workbench as wb
from coursekit.labtools.attacks import certificate_pem

__all__ = ["Workbench", "workbench"]


def _colour(kind: str, text: str) -> str:
    """Text in one of the workbench's colours, preceded by the colour's name: colour is never the only cue."""
    hex_code, name = wb.COLOURS[kind]
    return f'<span style="color:{hex_code}"><b>{html.escape(text)}</b> <small>[{name}]</small></span>'


def _pre(text: str) -> str:
    return f'<pre style="margin:0.2em 0;white-space:pre-wrap;word-break:break-all">{html.escape(text)}</pre>'


class Workbench:
    """Decode, edit, re-sign and send a token to one lab server; shows as widgets, or as text without them."""

    def __init__(self, lab, token: str | None = None, *, secret: bytes | None = None,
                 secret_name: str = "the lab's secret", route: str | None = None,
                 flaws: tuple[str, ...] = ()) -> None:
        self.lab, self.secret, self.secret_name = lab, secret, secret_name
        self.original = token  # the token whose signature "keep" reuses
        self.parts: wb.Parts | None = None
        self.token = token or ""
        self.reply: wb.Reply | None = None
        self.problem = ""
        self._signers: dict[str, wb.Signer] = {}  # one generated key per kind, so sign and send agree
        routes = wb.routes(lab)

        def box(cls: str, widget):
            widget.add_class(cls)  # a stable handle for tests and for styling
            return widget

        wide = w.Layout(width="100%")
        self.token_box = box("jwt-wb-token", w.Textarea(self.token, placeholder="paste a JWT here",
                                                        layout=w.Layout(width="100%", height="5em")))
        self.header_box = box("jwt-wb-header", w.Textarea(layout=w.Layout(width="100%", height="6em")))
        self.claims_box = box("jwt-wb-claims", w.Textarea(layout=w.Layout(width="100%", height="14em")))
        self.sign_choice = box("jwt-wb-sign", w.Dropdown(description="Sign with", layout=wide,
                                                         style={"description_width": "6em"}))
        self.embed = box("jwt-wb-embed", w.Checkbox(False, description="put the generated key's public JWK in "
                                                                       "the header (jwk)", indent=False, layout=wide))
        self.embed_x5c = box("jwt-wb-embed-x5c", w.Checkbox(
            False, description="put a self-signed certificate of the generated key in the header (x5c)",
            indent=False, layout=wide))
        self.route = box("jwt-wb-route", w.Dropdown(options=routes, description="Send to",
                                                    style={"description_width": "6em"},
                                                    value=route if route in routes else routes[0]))
        self.flaw_boxes = {name: box("jwt-wb-flaw", w.Checkbox(False, indent=False, layout=wide, description=(
            f'send with the DELIBERATELY VULNERABLE lab flaw "{name}" switched on'))) for name in flaws}
        fit = w.Layout(width="auto")  # the whole label, not cut at a button's default width
        self.decode_button = box("jwt-wb-decode", w.Button(description="Decode the token above", layout=fit))
        self.user_choice = box("jwt-wb-user", w.Dropdown(options=wb.DEMO_NAMES, description="or log in as",
                                                         style={"description_width": "6em"}))
        self.login_button = box("jwt-wb-login", w.Button(description="Take a new token from the lab", layout=fit))
        self.sign_button = box("jwt-wb-sign-button", w.Button(description="Sign", layout=fit))
        self.send_button = box("jwt-wb-send", w.Button(description="Sign and send", button_style="primary",
                                                       layout=fit))
        self.segments_view, self.times_view, self.key_view = w.HTML(), w.HTML(), w.HTML()
        self.reply_view = box("jwt-wb-reply", w.HTML())
        self.decode_button.on_click(lambda _: self.decode(self.token_box.value))
        self.login_button.on_click(lambda _: self._guarded(self.take_token))
        self.sign_button.on_click(lambda _: self._guarded(self.sign))
        self.send_button.on_click(lambda _: self._guarded(self.send))
        self.sign_choice.observe(lambda _: self._show_key(), names="value")
        self.widget = box("jwt-workbench", w.VBox([
            w.HTML(f"<b>Token workbench</b> · {html.escape(wb.OFFLINE_NOTICE)} Lab: {html.escape(lab.url)}"),
            self.token_box, w.HBox([self.decode_button, self.user_choice, self.login_button]), self.segments_view, self.times_view,
            w.HTML("<b>Header</b> (JSON)"), self.header_box, w.HTML("<b>Claims</b> (JSON)"), self.claims_box,
            self.sign_choice, self.embed, self.embed_x5c, self.key_view, *self.flaw_boxes.values(),
            w.HBox([self.sign_button, self.route, self.send_button]),
            self.reply_view]))
        self.decode(self.token)

    # --- what the buttons do --------------------------------------------------------------------------

    def decode(self, token: str) -> None:
        """Take ``token`` apart into the editors; its signature becomes the one "keep" reuses."""
        self.token, self.reply = token.strip(), None
        try:
            self.parts = wb.read_token(self.token) if self.token else None
            self.problem = ""
        except ValueError as error:
            self.parts, self.problem = None, str(error)
        if self.parts:
            self.original = self.token
            self.header_box.value = json.dumps(self.parts.header, indent=2, ensure_ascii=False)
            self.claims_box.value = json.dumps(self.parts.claims, indent=2, ensure_ascii=False)
        names = wb.choices(self.lab, self.original if self.parts else None, secret=self.secret,
                           secret_name=self.secret_name)
        chosen = "keep" if self.parts else self.sign_choice.value  # a new token starts as it came
        self.sign_choice.options = [(label, name) for name, label in names.items()]
        self.sign_choice.value = chosen if chosen in names else next(iter(names))
        self._render()

    def take_token(self) -> str:
        """Log the chosen demo user in at the lab and start from the access token it answers."""
        token = wb.fresh_token(self.lab, self.user_choice.value)
        self.token_box.value = token
        self.decode(token)
        return token

    def sign(self) -> str:
        """Build the token from the editors and the chosen way to sign; show it and return it."""
        header, claims = (self._json(box, name) for box, name in ((self.header_box, "header"),
                                                                 (self.claims_box, "claims")))
        how = self._signer()
        self.token = wb.build(header, claims, how, embed_jwk=self.embed.value and how.public_jwk is not None,
                              embed_x5c=self.embed_x5c.value and how.certificate is not None)
        self.parts, self.problem = wb.read_token(self.token), ""
        self.token_box.value = self.token
        self._render()
        return self.token

    def send(self) -> wb.Reply:
        """Sign, then send the token to the chosen route; show and return the lab's answer."""
        flaws = tuple(name for name, checkbox in self.flaw_boxes.items() if checkbox.value)
        self.reply = wb.send(self.lab, self.route.value, self.sign(), flaws=flaws)
        self._render()
        return self.reply

    def _guarded(self, action) -> None:
        """Run a button's action; a mistake in the editors, or a lab that is gone, shows as a message."""
        try:
            action()
        except ValueError as error:
            self.problem = str(error)
            self._render()
        except requests.RequestException as error:
            self.problem = f"the lab server did not answer ({type(error).__name__}): is it still running?"
            self._render()

    def _json(self, box: w.Textarea, name: str) -> dict:
        try:
            value = json.loads(box.value)
        except ValueError as error:
            raise ValueError(f"the {name} editor does not hold valid JSON: {error}") from None
        if not isinstance(value, dict):
            raise ValueError(f"the {name} editor must hold a JSON object {{...}}")
        return value

    def _signer(self) -> wb.Signer:
        name = self.sign_choice.value
        if name not in self._signers or name == "keep":
            self._signers[name] = wb.signer(name, self.lab, self.original, secret=self.secret,
                                            secret_name=self.secret_name)
        return self._signers[name]

    def _show_key(self) -> None:
        signer = self._signers.get(self.sign_choice.value)
        self.key_view.value = "" if signer is None or signer.public_jwk is None else (
            "Public JWK of the generated key (to embed as <code>jwk</code>, or to serve in a JWK Set for "
            "<code>jku</code>):" + _pre(json.dumps(signer.public_jwk, indent=2))
            + "Its self-signed certificate (to carry in <code>x5c</code>, or to serve for <code>x5u</code>):"
            + _pre(certificate_pem(signer.certificate)))

    # --- how it looks --------------------------------------------------------------------------------

    def _render(self) -> None:
        self.segments_view.value = self._segments_html()
        self.times_view.value = "".join(
            f"<div><code>{note.claim}</code> {html.escape(note.text)} "
            f"{_colour('ok', 'valid') if note.ok else _colour('bad', 'INVALID')}</div>"
            for note in self._times())
        self._show_key()
        self.reply_view.value = self._reply_html()

    def _times(self) -> list[wb.TimeNote]:
        return wb.time_notes(self.parts.claims, self.lab.clock.now()) if self.parts else []

    def _segments_html(self) -> str:
        if self.problem:
            return f"<div>{_colour('bad', 'PROBLEM')} {html.escape(self.problem)}</div>"
        if not self.parts:
            return ""
        labels = ("HEADER", "PAYLOAD", "SIGNATURE")
        return "".join(
            f"<div style='font-family:monospace;word-break:break-all'>{_colour(kind, label)} "
            f"<span style='color:{wb.COLOURS[kind][0]}'>{html.escape(segment) or '(empty)'}</span></div>"
            for kind, label, segment in zip(("header", "payload", "signature"), labels, self.parts.segments))

    def _reply_html(self) -> str:
        if self.reply is None:
            return ""
        verdict = _colour("ok", "ACCEPTED") if self.reply.accepted else _colour("bad", "REFUSED")
        return f"<div><b>{self.reply.status}</b> {verdict}</div>" + _pre(str(self.reply))

    def __repr__(self) -> str:
        """The text view: what the widget shows, for notebooks without a widget front end."""
        lines = [f"Token workbench · {wb.OFFLINE_NOTICE}", f"Lab: {self.lab.url}"]
        lines.append("Start from: a pasted token, or a new one for " + " | ".join(self.user_choice.options))
        if self.problem:
            lines.append(f"PROBLEM: {self.problem}")
        if self.parts:
            # Decoded, not the raw segments: an RS256 or ES256 signature differs on every run, its size does not.
            lines += [f"HEADER [{wb.COLOURS['header'][1]}]: {json.dumps(self.parts.header, ensure_ascii=False)}",
                      f"PAYLOAD [{wb.COLOURS['payload'][1]}]: {json.dumps(self.parts.claims, ensure_ascii=False)}",
                      f"SIGNATURE [{wb.COLOURS['signature'][1]}]: {len(self.parts.signature)} bytes"]
            times = "; ".join(f"{n.claim} {n.text} ({'valid' if n.ok else 'INVALID'})" for n in self._times())
            lines += [f"Times by the lab clock: {times}"] if times else []
        lines.append("Sign with: " + " | ".join(label for label, _ in self.sign_choice.options))
        lines += [f'Lab flaw "{name}" (DELIBERATELY VULNERABLE): {"on" if box.value else "off"} for sending'
                  for name, box in self.flaw_boxes.items()]
        lines.append("Send to: " + " | ".join(self.route.options) + f" (chosen: {self.route.value})")
        if self.reply:
            lines.append(str(self.reply))
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs) -> dict:
        # The widget's own text/plain is its repr cut at 110 characters; ours is the whole text view.
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        return {**bundle, "text/plain": repr(self)}


def workbench(lab, token: str | None = None, *, secret: bytes | None = None,
              secret_name: str = "the lab's secret", route: str | None = None, flaws=()) -> Workbench:
    """A token workbench on ``lab``: ``token`` to start from; an HS256 ``secret`` the lesson knows (the lab's
    own, or a cracked or chosen one, called ``secret_name``); the ``route`` to send to first
    ("GET /api/admin"); lab ``flaws`` the learner may switch on for a request."""
    return Workbench(lab, token, secret=secret, secret_name=secret_name, route=route, flaws=tuple(flaws))
