"""How many members a zip archive lists, read from its end record before anything else.

:class:`zipfile.ZipFile` builds one object per member its directory lists as it opens the
archive, so an archive of a few megabytes listing hundreds of thousands of members costs
seconds and hundreds of megabytes before any check can run. The count is in the end record
(and the zip64 end record), in the last 64 KiB of the file.
"""
from __future__ import annotations

import struct

__all__ = ["zip_entry_count"]


def zip_entry_count(file, file_size: int) -> int | None:
    """The largest member count the archive's end record(s) announce; None without one.

    Parameters
    ----------
    file : binary file object
        Seekable; left at offset 0.
    file_size : int
        Its size in bytes.

    Returns
    -------
    int or None
    """
    tail_size = min(file_size, 22 + 0xFFFF)  # end record plus the longest comment
    file.seek(file_size - tail_size)
    tail = file.read(tail_size)
    file.seek(0)
    at = tail.rfind(b"PK\x05\x06")  # the record the zip module uses
    if at < 0 or tail_size - at < 22:
        return None
    counts = list(struct.unpack_from("<HH", tail, at + 8))
    if at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":  # a zip64 locator
        locator_offset = struct.unpack_from("<Q", tail, at - 12)[0]
        end64_start = file_size - tail_size + at - 20 - 56
        for offset in {locator_offset, end64_start}:  # Pythons differ in which they trust
            if 0 <= offset <= file_size - 56:
                file.seek(offset)
                record = file.read(56)
                if record[:4] == b"PK\x06\x06":
                    counts += struct.unpack_from("<QQ", record, 24)
    file.seek(0)
    return max(counts)
