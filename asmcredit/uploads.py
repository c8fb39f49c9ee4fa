"""Checking what staff upload: photos from a phone's camera and scanned documents.

A file is judged by its content, never by its name or the type the browser claims: an image must
open and decode with Pillow, a PDF must start like one. Photos are re-encoded (see ``photo_prepare``),
which also drops anything hidden in the original file; documents are kept as they were filed.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MEGABYTE = 1024 * 1024
PHOTO_MAX_BYTES = 15 * MEGABYTE  # a full-resolution photo from a current phone is 3–8 MB
DOCUMENT_MAX_BYTES = 10 * MEGABYTE
# Far above any phone camera (50 MP) and far below what would exhaust a worker's memory when decoded.
MAX_PIXELS = 60_000_000
PHOTO_MAX_SIDE = 2560  # enough to read a serial plate, a fraction of the original's bytes
THUMBNAIL_SIDE = 320
PHOTO_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}  # MPO: the multi-picture JPEG some cameras write
DOCUMENT_IMAGE_FORMATS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png"}

CONTENT_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo ready to store: upright, without its metadata, and a thumbnail for the loan page."""

    image: ContentFile
    thumbnail: ContentFile
    width: int
    height: int
    original_name: str


def _name(upload: Any) -> str:
    return str(getattr(upload, "name", "") or "")[:200]


def _too_large(upload: Any, limit: int) -> ValidationError:
    return ValidationError(
        _("%(name)s is larger than %(limit)s MB.")
        % {"name": _name(upload) or _("The file"), "limit": limit // MEGABYTE},
        code="too_large",
    )


def _open_image(upload: IO[bytes] | Any, formats: set[str]) -> Image.Image:
    """The upload opened as an image of one of ``formats`` and fully decoded, or a ValidationError."""
    not_an_image = ValidationError(
        _("%(name)s is not a photo (JPEG, PNG or WebP).") % {"name": _name(upload) or _("The file")}, code="not_image"
    )
    upload.seek(0)
    try:
        image = Image.open(upload)
        if image.format not in formats:
            raise not_an_image
        if image.width * image.height > MAX_PIXELS:
            raise ValidationError(
                _("%(name)s has too many pixels to be a photo.") % {"name": _name(upload)}, code="too_many_pixels"
            )
        image.load()  # decodes every pixel: a truncated or forged file fails here, not later
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise not_an_image from exc
    return image


def _jpeg(image: Image.Image, *, max_side: int, quality: int) -> tuple[bytes, int, int]:
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue(), copy.width, copy.height


def photo_prepare(upload: Any) -> PreparedPhoto:
    """Check a photo (size, real image) and re-encode it as JPEG.

    The EXIF orientation is applied to the pixels, then all metadata is dropped: the photo shows
    upright in every browser, and the camera's own GPS tag does not travel with it (the visit's
    location is recorded on purpose, separately, when the technician chooses to).
    """
    if upload.size > PHOTO_MAX_BYTES:
        raise _too_large(upload, PHOTO_MAX_BYTES)
    with _open_image(upload, PHOTO_FORMATS) as opened:
        upright = ImageOps.exif_transpose(opened)
        if upright.mode != "RGB":
            # Transparency (PNG, WebP) goes on white, as it would print.
            rgba = upright.convert("RGBA")
            upright = Image.new("RGB", rgba.size, "white")
            upright.paste(rgba, mask=rgba.getchannel("A"))
        body, width, height = _jpeg(upright, max_side=PHOTO_MAX_SIDE, quality=85)
        thumb, _w, _h = _jpeg(upright, max_side=THUMBNAIL_SIDE, quality=80)
    key = uuid.uuid4().hex
    return PreparedPhoto(
        image=ContentFile(body, name=f"{key}.jpg"),
        thumbnail=ContentFile(thumb, name=f"{key}-thumb.jpg"),
        width=width,
        height=height,
        original_name=_name(upload),
    )


def document_kind(upload: Any) -> str:
    """``pdf``, ``jpg`` or ``png`` for a document scan within the size limit, else a ValidationError."""
    if upload.size > DOCUMENT_MAX_BYTES:
        raise _too_large(upload, DOCUMENT_MAX_BYTES)
    upload.seek(0)
    head = upload.read(1024)
    upload.seek(0)
    if head.lstrip().startswith(b"%PDF-"):
        return "pdf"
    try:
        with _open_image(upload, set(DOCUMENT_IMAGE_FORMATS)) as image:
            return DOCUMENT_IMAGE_FORMATS[str(image.format)]
    except ValidationError:
        raise ValidationError(
            _("%(name)s is not a PDF or an image (JPEG, PNG).") % {"name": _name(upload) or _("The file")},
            code="not_document",
        ) from None
    finally:
        upload.seek(0)


def validate_document_file(upload: Any) -> None:
    """Model-field validator, so the admin refuses what the upload form refuses."""
    document_kind(upload)


def document_upload_renamed(upload: Any) -> str:
    """Give a checked document a random name with the extension of what it really is; returns the kind.

    The name a phone or scanner gave the file (often the holder's DNI) stays out of the storage path.
    """
    kind = document_kind(upload)
    upload.name = f"{uuid.uuid4().hex}.{kind}"
    return kind


def content_type_for(name: str) -> str:
    """The type a stored file is served with, from the extension given to it when it was checked."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension == "jpeg":
        extension = "jpg"
    return CONTENT_TYPES.get(extension, "application/octet-stream")


@contextmanager
def stored_files_undone_on_error() -> Iterator[list[str]]:
    """Collects the names of files written to storage for rows being inserted; if the block fails (and
    its transaction rolls back), deletes them, as no row will ever point to them."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
