"""Office files are ZIP archives whose entries carry the time they were written. Rewriting
them with one fixed time makes the same report the same bytes (so its audited hash means
something: export it twice, get the same sha256)."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime


def restamp(data: bytes, moment: datetime) -> bytes:
    """The archive `data` with every entry dated `moment` (UTC), order and contents kept."""
    when = moment.astimezone(UTC)
    # ZIP cannot date anything before 1980.
    date_time = max(
        (when.year, when.month, when.day, when.hour, when.minute, when.second),
        (1980, 1, 1, 0, 0, 0),
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            target.writestr(info, source.read(entry.filename))
    return out.getvalue()
