"""What the Word and PowerPoint loaders share: opening the file's zip safely.

An Office Open XML file (.docx, .pptx) is a zip of XML parts. Before
python-docx or python-pptx (which read every part into memory) see it:

- a file that starts with the OLE compound-file signature is not a zip: Office
  writes a password-protected document as an OLE file holding an
  `EncryptedPackage` stream (an `EncryptedFileError`); another OLE file is the
  legacy binary format (.doc, .ppt) under a new name;
- a file that is not a zip, or a zip without `[Content_Types].xml`, is corrupt;
- the sizes its zip directory declares are summed and a total over
  `ingest.max_unzipped_mb` is refused: a zip bomb is stopped before a byte is
  inflated. Python's zipfile never inflates a member past its declared size
  (a member that holds more fails its CRC check), so the sum is a true bound.

Both libraries parse XML with entity expansion off, so a "billion laughs"
part does not expand.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ingest.loaders.base import read_bytes
from ingest.loaders.limits import MB
from rag.errors import CorruptFileError, EncryptedFileError, LimitExceededError
from rag.settings import IngestSettings

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Stream names in an OLE directory are UTF-16LE.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")

# What python-docx and python-pptx raise on a damaged package: a missing part
# is a KeyError, a part of the wrong type a ValueError, broken XML lxml's
# XMLSyntaxError (a SyntaxError).
PARSE_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    SyntaxError,
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    EOFError,
    NotImplementedError,
    RecursionError,
)


def open_package(path: Path, settings: IngestSettings, kind: str) -> io.BytesIO:
    """The file's bytes, once they are known to be an Office Open XML zip
    within the bounds; `kind` names the format in messages ("Word")."""
    data = read_bytes(path, settings)
    if data.startswith(OLE_SIGNATURE):
        if _ENCRYPTED_PACKAGE in data:
            raise EncryptedFileError(
                path,
                f"a password-protected {kind} file",
                remedy=f"remove the password in {kind} (File > Info > Protect) and save again",
            )
        raise CorruptFileError(
            path, f"an OLE compound file: the legacy binary {kind} format, not Office Open XML"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise CorruptFileError(path, f"not a zip archive ({exc})") from None
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names:
        raise CorruptFileError(path, "a zip without [Content_Types].xml: not an Office file")
    unzipped = sum(m.file_size for m in members)
    if unzipped > settings.max_unzipped_mb * MB:
        raise LimitExceededError(
            path,
            f"its parts unzip to {unzipped / MB:,.0f} MB, over ingest.max_unzipped_mb "
            f"({settings.max_unzipped_mb:g}): a zip bomb?",
        )
    return io.BytesIO(data)


def corrupt(path: Path, exc: Exception) -> CorruptFileError:
    return CorruptFileError(path, f"{type(exc).__name__}: {exc}")
