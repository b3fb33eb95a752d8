"""Reading barcodes from a photo (phone or PDA camera): pure functions, no database.

``decode_image(data)`` takes the bytes of a JPEG, PNG or WebP and returns the codes found,
each with the text a scanner would have sent: GS1 symbols keep their AIM symbology
identifier (``]d2``, ``]C1``, ``]Q3``...) and real ASCII 29 separators, so the text goes
straight into ``parse_code`` and ``POST /api/v1/codes/resolve``; other symbols give their
plain content (an in-hospital label reads ``YN…``), the identifier being in ``symbology``.

zxing-cpp reads first (all the symbologies of medical packaging, DataMatrix included), in
``TextMode.Plain`` (the default HRI mode would turn GS1 data into ``(01)…``). pyzbar is a
fallback for linear codes only, when zxing-cpp finds nothing; it gives no symbology
identifier. See /work/shared/udi/NOTES.md for what was measured.

Big photos are read at most ``FIRST_PASS_SIZE`` pixels on the long side first (fast), as is
and slightly blurred (camera noise), then, when nothing was found, at up to
``SECOND_PASS_SIZE``. Any failure to read the image is an
``ImageError`` with a stable ``reason``; nothing else escapes.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

from PIL import Image, ImageFilter, UnidentifiedImageError

from consumables.udi import CodeParseError, parse_code

logger = logging.getLogger(__name__)

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 64_000_000  # a 50-megapixel phone photo passes; a decompression bomb does not
FIRST_PASS_SIZE = 2048
SECOND_PASS_SIZE = 4096
MAX_CODES = 20
FORMATS = ("JPEG", "PNG", "WEBP")  # the JPEG opener also gives MPO (multi-picture JPEG)
ZXING_FORMATS = (
    "DataMatrix,QRCode,MicroQRCode,Code128,EAN13,EAN8,UPCA,UPCE,ITF,DataBar,DataBarExp,"
    "DataBarLtd,Code39,Code93,Codabar,PDF417,Aztec"
)
PYZBAR_FORMATS = {
    "CODE128": "Code128",
    "EAN13": "EAN13",
    "EAN8": "EAN8",
    "UPCA": "UPCA",
    "UPCE": "UPCE",
    "I25": "ITF",
    "DATABAR": "DataBar",
    "DATABAR_EXP": "DataBarExp",
    "CODE39": "Code39",
    "CODE93": "Code93",
    "CODABAR": "Codabar",
}

MESSAGES = {
    "EMPTY": ("上传的文件为空", "The uploaded file is empty"),
    "TOO_LARGE": ("图片不能超过 8 MB，请压缩后重试", "The image must not exceed 8 MB"),
    "TOO_MANY_PIXELS": (
        "图片像素过多（超过 6400 万像素），请降低分辨率后重试",
        "The image has too many pixels (more than 64 megapixels)",
    ),
    "UNSUPPORTED_FORMAT": (
        "只支持 JPEG、PNG、WebP 图片（HEIC 请在相机设置中改为“兼容性最佳”）",
        "Only JPEG, PNG and WebP images are accepted",
    ),
    "NOT_AN_IMAGE": (
        "文件不是图片或已损坏，请重新拍照上传",
        "The file is not an image or is damaged",
    ),
}


class ImageError(ValueError):
    """The upload cannot be read as an image. ``reason`` is one of ``MESSAGES``."""

    def __init__(self, reason: str, **detail):
        self.reason = reason
        self.message, self.message_en = MESSAGES[reason]
        self.detail = detail
        super().__init__(f"{reason}: {self.message_en}")


@dataclass(frozen=True)
class DecodedCode:
    text: str  # what to send to parse_code / codes/resolve
    format: str  # zxing-cpp format name: "DataMatrix", "Code128", "EAN13", "QRCode"...
    symbology: str | None  # AIM identifier ("]d2", "]C1", "]C0"...); None from pyzbar
    gs1: bool = False
    decoder: str = "zxing-cpp"
    parsed: dict | None = field(default=None, compare=False)

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "format": self.format,
            "symbology": self.symbology,
            "parsed": self.parsed,
        }


# --------------------------------------------------------------------------- the image


def _sniff(data: bytes) -> str:
    """A name for well-known formats we refuse (for the message), else ''."""
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1", b"ftyphevc"):
        return "HEIC"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:2] == b"BM":
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return ""


def open_image(data: bytes) -> Image.Image:
    """The upload as a grayscale image (transparency flattened onto white), fully loaded.
    Raises ``ImageError``."""
    if not data:
        raise ImageError("EMPTY")
    if len(data) > MAX_BYTES:
        raise ImageError("TOO_LARGE", size=len(data), max_bytes=MAX_BYTES)
    Image.init()  # register every plugin: Image.open(formats=...) only knows loaded ones
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        sniffed = _sniff(data)
        if sniffed:
            raise ImageError("UNSUPPORTED_FORMAT", format=sniffed) from None
        raise ImageError("NOT_AN_IMAGE") from None
    except Exception as exc:  # Pillow raises many kinds on garbage: all mean the same here
        raise ImageError("NOT_AN_IMAGE", error=type(exc).__name__) from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError("TOO_MANY_PIXELS", width=width, height=height, max_pixels=MAX_PIXELS)
    if width < 1 or height < 1:
        raise ImageError("NOT_AN_IMAGE")
    try:
        if image.format in ("JPEG", "MPO"):
            # Let libjpeg scale down while decoding (DCT scaling): much faster for big photos.
            image.draft("L", (SECOND_PASS_SIZE, SECOND_PASS_SIZE))
        return _grayscale(image)
    except Exception as exc:  # truncated or corrupt data shows only when decoding pixels
        raise ImageError("NOT_AN_IMAGE", error=type(exc).__name__) from None


def _grayscale(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    elif image.mode == "I" or image.mode.startswith("I;16"):
        image = image.convert("F").point(lambda v: v / 256)  # 16-bit PNG samples -> 0..255
    image = image.convert("L")
    image.load()
    return image


def _fit(image: Image.Image, size: int) -> Image.Image:
    if max(image.size) <= size:
        return image
    smaller = image.copy()
    smaller.thumbnail((size, size), Image.Resampling.BILINEAR)
    return smaller


# ------------------------------------------------------------------------------ readers


def _zxing(image: Image.Image) -> list[DecodedCode]:
    import zxingcpp

    found = []
    formats = zxingcpp.barcode_formats_from_str(ZXING_FORMATS)
    for barcode in zxingcpp.read_barcodes(
        image, formats=formats, text_mode=zxingcpp.TextMode.Plain
    ):
        if not barcode.valid:
            continue
        symbology = barcode.symbology_identifier or None
        gs1 = barcode.content_type == zxingcpp.ContentType.GS1
        content = barcode.text
        if gs1:
            # GS1 data is ASCII; the raw bytes keep every FNC1 as ASCII 29.
            content = bytes(barcode.bytes).decode("ascii", errors="replace")
        text = f"{symbology}{content}" if gs1 and symbology else content
        found.append(DecodedCode(text, barcode.format.name, symbology, gs1=gs1))
    return found


_pyzbar = None


def _pyzbar_module():
    """pyzbar needs the libzbar0 system library; without it the fallback is skipped."""
    global _pyzbar
    if _pyzbar is None:
        try:
            from pyzbar import pyzbar
        except ImportError as exc:  # libzbar missing: pyzbar raises ImportError
            logger.warning("pyzbar unavailable (%s): no fallback for linear codes", exc)
            pyzbar = False
        _pyzbar = pyzbar
    return _pyzbar or None


def _pyzbar_codes(image: Image.Image) -> list[DecodedCode]:
    pyzbar = _pyzbar_module()
    if pyzbar is None:
        return []
    symbols = [getattr(pyzbar.ZBarSymbol, name) for name in PYZBAR_FORMATS]
    found = []
    for result in pyzbar.decode(image, symbols=symbols):
        text = result.data.decode("utf-8", errors="replace")
        found.append(
            DecodedCode(text, PYZBAR_FORMATS.get(result.type, result.type), None, decoder="pyzbar")
        )
    return found


# ------------------------------------------------------------------------------ parsing


def parsed_fields(text: str) -> dict | None:
    """What ``parse_code`` reads in ``text`` (issuer, di, lot, serial, expiry), or None when
    it refuses the text."""
    try:
        parsed = parse_code(text)
    except CodeParseError:
        return None
    return {
        "issuer": parsed.issuer,
        "di": parsed.di,
        "lot": parsed.lot,
        "serial": parsed.serial,
        "expiry": parsed.expiry.isoformat() if parsed.expiry else None,
        "warnings": list(parsed.warnings),
    }


def _unique(codes: list[DecodedCode]) -> list[DecodedCode]:
    seen, out = set(), []
    for code in codes:
        key = (code.text, code.format)
        if key not in seen:
            seen.add(key)
            out.append(code)
    return out[:MAX_CODES]


# ----------------------------------------------------------------------------- entry points


def decode_pil(image: Image.Image) -> list[DecodedCode]:
    """Codes in a grayscale PIL image (see ``decode_image``)."""
    first = _fit(image, FIRST_PASS_SIZE)
    # Camera noise breaks thin bars long before it breaks a DataMatrix: a second look at a
    # slightly blurred copy finds Code 128s the first look missed (on 36 synthetic noisy,
    # rotated JPEG photos: 10 read as is, 27 blurred, 29 either way; a median filter read 17
    # and costs twice as long). The two answers are merged.
    denoised = first.filter(ImageFilter.GaussianBlur(1))
    codes = _zxing(first) + _zxing(denoised)
    if not codes and first is not image:
        codes = _zxing(_fit(image, SECOND_PASS_SIZE))
    if not codes:
        codes = _pyzbar_codes(first) or _pyzbar_codes(denoised)
    return [
        DecodedCode(c.text, c.format, c.symbology, c.gs1, c.decoder, parsed_fields(c.text))
        for c in _unique(codes)
    ]


def decode_image(data: bytes) -> list[DecodedCode]:
    """Every barcode found in the image bytes ``data`` (JPEG, PNG or WebP, at most 8 MB).

    Returns an empty list when the image holds no readable code; raises ``ImageError`` when
    the bytes are not such an image.
    """
    return decode_pil(open_image(data))
