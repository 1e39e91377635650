"""Files sent to `POST /v1/collections/{name}/documents`, written into the
collection's `uploads/` folder, where the ingest job reads them.

A multipart upload is streamed to disk by the form parser (parts over 1 MB
spill to temporary files) and counted against `service.max_upload_mb` as it
arrives (`rag.service.middleware.BodyLimit`). A JSON body carries text
documents: `{"documents": [{"name": "notes.md", "text": "...", "metadata":
{"team": "hr"}}]}`, the metadata kept as the Markdown file's front matter. A file
name is reduced to its last path part and must have an extension ingest
reads; an upload with the name of an earlier one replaces it (ingest then
updates that document).
"""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from ingest import front_matter
from rag.errors import ConfigError

MAX_NAME = 200
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")


class TextDocument(BaseModel):
    name: str = Field(..., min_length=1, max_length=MAX_NAME, description="A file name: notes.md")
    text: str = Field(..., min_length=1, description="The document's text")
    metadata: dict[str, str] = Field(
        default_factory=dict,
        max_length=front_matter.MAX_KEYS,
        description="Metadata to search by (filters); kept as the front matter of a "
        "Markdown document, so the name must end in .md",
    )


class TextUpload(BaseModel):
    documents: list[TextDocument] = Field(..., min_length=1, max_length=1000)


def safe_name(raw: str) -> str:
    """The last part of `raw` as a file name, or `ConfigError` saying what is wrong."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ConfigError(f"file name {raw!r} has control characters", "rename the file")
    if not name or name.startswith(".") or len(name) > MAX_NAME:
        raise ConfigError(
            f"file name {raw!r} is not usable",
            f"send a name of 1 to {MAX_NAME} characters, not starting with '.'",
        )
    return name


async def save_files(files: list[Any], folder: Path) -> list[Path]:
    """The form's uploaded files, copied into `folder`; names checked first."""
    uploads = [f for f in files if isinstance(f, UploadFile)]
    if not uploads:
        raise ConfigError("no files in the form", "send them as multipart fields named 'files'")
    names = [safe_name(f.filename or "") for f in uploads]
    _unique(names)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for upload, name in zip(uploads, names, strict=True):
        target = folder / name
        with target.open("wb") as out:
            await upload.seek(0)
            shutil.copyfileobj(upload.file, out, 1 << 20)
        saved.append(target)
    return saved


def save_texts(body: TextUpload, folder: Path) -> list[Path]:
    names = [safe_name(d.name) for d in body.documents]
    _unique(names)
    for name in names:
        if not name.lower().endswith(TEXT_SUFFIXES):
            raise ConfigError(
                f"text document {name!r} needs a text extension",
                "name it with one of " + ", ".join(TEXT_SUFFIXES),
            )
    for name, document in zip(names, body.documents, strict=True):
        _check_metadata(name, document.metadata)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for name, document in zip(names, body.documents, strict=True):
        head = front_matter.render(document.metadata) if document.metadata else ""
        target = folder / name
        target.write_text(head + document.text, encoding="utf-8")
        saved.append(target)
    return saved


def _check_metadata(name: str, metadata: dict[str, str]) -> None:
    if not metadata:
        return
    if not name.lower().endswith((".md", ".markdown")):
        raise ConfigError(
            f"metadata of {name!r} cannot be kept", "name it .md: it is kept as front matter"
        )
    problem = front_matter.check(metadata)
    if problem:
        raise ConfigError(problem)


def _unique(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"file name {name!r} is sent twice", "send each file once")
        seen.add(name)
