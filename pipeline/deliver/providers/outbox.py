"""The embedded default: one `.eml` file per message in a folder.

Writes are atomic (a temporary file, then a hard link that fails when the name exists) and idempotent: a
message id that already has a file is not written again, so a resumed or repeated send never makes a
second copy.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pipeline.deliver.message import build_mime
from pipeline.deliver.providers.base import sent
from pipeline.errors import PartialBatchError, ProviderError
from pipeline.types import OutgoingMessage, RecipientResult

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def eml_name(message_id: str) -> str:
    """A file name for a message id: readable, and distinct even when unsafe characters were replaced."""
    safe = _UNSAFE.sub("_", message_id).strip("._") or "message"
    if safe != message_id:
        safe = f"{safe[:80]}-{hashlib.sha256(message_id.encode()).hexdigest()[:10]}"
    return f"{safe}.eml"


class OutboxProvider:
    name = "outbox"
    max_batch = 500

    def __init__(
        self,
        outbox_dir: str | os.PathLike[str],
        sender: str,
        *,
        reply_to: str = "",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.dir = Path(outbox_dir)
        self.sender = sender
        self.reply_to = reply_to
        self.now = now

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ProviderError(self.name, f"cannot create outbox folder {self.dir}: {e}") from e
        results: list[RecipientResult] = []
        for msg in messages:
            try:
                results.append(sent(msg, self._write(msg)))
            except OSError as e:
                # A full or read-only disk is not the recipient's fault: stop, leave the rest queued.
                err = ProviderError(self.name, f"cannot write {self.dir / eml_name(msg.message_id)}: {e}")
                if results:
                    raise PartialBatchError(err, tuple(results)) from e
                raise err from e
        return results

    def _write(self, msg: OutgoingMessage) -> str:
        path = self.dir / eml_name(msg.message_id)
        if path.exists():
            return path.name
        data = build_mime(msg, self.sender, reply_to=self.reply_to, now=self.now()).as_bytes()
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)  # atomic, and refuses to replace a file written meanwhile
            except FileExistsError:
                pass
            except OSError:
                os.replace(tmp, path)  # a file system without hard links: rename is atomic too
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path.name
