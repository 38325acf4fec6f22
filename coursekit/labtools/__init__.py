"""The tools a lesson drives: lab servers (``lab``), a client for them, the attack kit, signing keys, a local CA,
a recording relay, headless Chromium and the attacker's web page (``web/``), the probes checks use, and the
token workbench (``workbench``: decode, edit, re-sign, send; ``workbench_widget``: the same as a widget)."""
