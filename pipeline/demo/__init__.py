"""Bundled sample sources for `run.py demo`, served offline from a loopback server.

`samples/` holds about 100 news items written for this project in the voice of Oslo Cancer Cluster
members (they are not real announcements): 12 feeds (WordPress RSS 2.0 with content:encoded and
media:content, plain RSS 2.0, Atom; English and Norwegian) and 3 listing pages (WordPress category,
a Norwegian hospital list with "12. mars 2025" dates, an EU project's news cards), plus an article page
with OpenGraph and JSON-LD for every item. One folder per source; an ``index.html`` or ``index.xml`` is
served at its folder's URL.

Placeholders in the files, rewritten by `DemoServer` on every response:
- ``{{base}}``: ``http://127.0.0.1:PORT``;
- ``{{date:SPEC|FORMAT}}``: SPEC is ``now``, ``-3d 09:30`` (09:30 Oslo time three days before the
  server's ``now``) or an offset such as ``-5h``; FORMAT is ``rfc822`` (RSS), ``rfc3339`` (Atom, HTML
  attributes, JSON-LD), ``en`` ("12 March 2025") or ``no`` ("12. mars 2025"). Without FORMAT, RSS gets
  RFC 822 and everything else RFC 3339.

Images under ``/images/NAME.png`` are drawn by the server; others are absolute ``https://example.org/``
URLs that are never fetched.

What the content exercises: all nine themes; trial identifiers (NCT numbers, EU CT numbers); the same
story from two or three sources (OCC and the incubator re-publishing Nykode's release and the Cancer
Crosslinks and ECHoS news; Ultimovacs and Zelluna on their combination; an English and a Norwegian
version of a Lytix release; DoMore's English and OUS's Norwegian story on the same AI pilot; Kreftforeningen
and OUS on the same research grants); noise (two job adverts, a cookie notice, quarterly and half-year
reports, a general meeting notice); and one summary with ``<script>``, ``onerror=`` and a ``javascript:``
link that sanitising must remove (Oncoinvent, "ESMO Gynaecological Cancers Congress").
"""

from pipeline.demo.server import DemoServer
from pipeline.demo.sources import DEMO_SOURCES, demo_config, demo_sources_yaml, read_base_config

__all__ = ["DEMO_SOURCES", "DemoServer", "demo_config", "demo_sources_yaml", "read_base_config"]
