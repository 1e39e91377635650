"""Hostile input, made by code: broken and malicious PDFs, binary data named as
text, huge lines, odd names and symbolic links. Nothing here inflates a bomb:
the compressed bytes are written directly."""

from __future__ import annotations

import zlib

HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def stream(data: bytes, filters: str = "", extra: bytes = b"") -> bytes:
    named = f" /Filter {filters}".encode() if filters else b""
    head = b"<< /Length %d%s%s >>\nstream\n" % (len(data), named, extra)
    return head + data + b"\nendstream"


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF of these numbered objects (1 is the catalog) with a correct xref."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def one_page_pdf(
    content: bytes,
    kids: bytes = b"[3 0 R]",
    count: int = 1,
    contents: bytes = b"4 0 R",
    xobjects: bytes = b"",
    extra: tuple[bytes, ...] = (),
) -> bytes:
    """Catalog 1, page tree 2, page 3, its content 4, Helvetica 5, then `extra`."""
    resources = b"<< /Font << /F1 5 0 R >> %s>>" % (
        b"/XObject " + xobjects + b" " if xobjects else b""
    )
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids %s /Count %d >>" % (kids, count),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %s "
            b"/Resources %s >>" % (contents, resources),
            content,
            HELVETICA,
            *extra,
        ]
    )


def text_content(text: str) -> bytes:
    return b"BT /F1 12 Tf 72 700 Td (%s) Tj ET" % text.encode("latin-1")


def page_tree_loop_pdf() -> bytes:
    """The root's /Kids holds a page and a node whose /Kids points back at the root."""
    loop = b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"
    return one_page_pdf(
        stream(text_content("A page in a loop.")), kids=b"[3 0 R 6 0 R]", count=2, extra=(loop,)
    )


def deflate_bomb(mib: int) -> bytes:
    """A zlib stream of `mib` MiB of spaces, about 1 KB per MiB, built without
    compressing (or holding) the whole: one full-flushed deflate block of 1 MiB
    repeats byte for byte, and the Adler-32 is computed a MiB at a time."""
    chunk = b" " * (1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush(zlib.Z_FINISH)
    check = 1
    for _ in range(mib):
        check = zlib.adler32(chunk, check)
    return b"\x78\xda" + block * mib + end + check.to_bytes(4, "big")


def flate_bomb_pdf(mib: int = 1024) -> bytes:
    """A page whose content inflates to `mib` MiB through two FlateDecode layers."""
    twice = zlib.compress(deflate_bomb(mib), 9)  # about 1 MB compressed again: 2-3 KB
    return one_page_pdf(stream(twice, "[/FlateDecode /FlateDecode]"))


def contents_bomb_pdf(streams: int = 30, mib: int = 12) -> bytes:
    """One page whose /Contents array names the same `mib`-MiB stream `streams` times."""
    refs = b"[" + b"4 0 R " * streams + b"]"
    return one_page_pdf(stream(deflate_bomb(mib), "/FlateDecode"), contents=refs)


def text_bomb_pdf(words: int = 400_000) -> bytes:
    """A 4 KB file whose one page shows two million characters."""
    content = b"BT /F1 1 Tf 0 0 Td (" + b"word " * words + b") Tj ET"
    return one_page_pdf(stream(zlib.compress(content, 9), "/FlateDecode"))


def _form(content: bytes) -> bytes:
    head = (
        b" /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >>"
    )
    return stream(content, extra=head)


def form_bomb_pdf(draws: int = 5000) -> bytes:
    """A 100 KB form of text drawn `draws` times on one page: 500 MB of text."""
    form = _form(b"BT /F1 1 Tf 0 0 Td (" + b"word " * 20_000 + b") Tj ET")
    content = zlib.compress(b"/Fm1 Do\n" * draws, 9)
    return one_page_pdf(
        stream(content, "/FlateDecode"), xobjects=b"<< /Fm1 6 0 R >>", extra=(form,)
    )


def cpu_bomb_pdf(draws: int = 5000, operators: int = 5000) -> bytes:
    """A form of `operators` drawing operators, no text, drawn `draws` times:
    25 million operators for pypdf to walk on one page."""
    form = _form(zlib.compress(b"0 0 m 1 1 l S\n" * (operators // 3), 9))
    form = form.replace(b"/Length", b"/Filter /FlateDecode /Length", 1)
    content = zlib.compress(b"/Fm1 Do\n" * draws, 9)
    return one_page_pdf(
        stream(content, "/FlateDecode"), xobjects=b"<< /Fm1 6 0 R >>", extra=(form,)
    )


def page_count_bomb_pdf(pages: int = 50_000) -> bytes:
    """One page object listed `pages` times in the page tree."""
    kids = b"[" + b"3 0 R " * pages + b"]"
    return one_page_pdf(stream(text_content("The same page again.")), kids=kids, count=pages)
