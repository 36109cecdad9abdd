"""Commands: digest."""

from __future__ import annotations
