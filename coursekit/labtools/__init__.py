"""The tools a lesson drives: lab servers (``lab``), a client for them, the attack kit, signing keys, a local CA,
a recording relay, headless Chromium and the attacker's web page (``web/``), and the probes checks use."""
