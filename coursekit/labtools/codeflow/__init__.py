"""Lesson 10's code flow: its steps (``steps``), the lesson's web app (``app``), the login in Chromium
(``browser``)."""
