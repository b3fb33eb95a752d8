"""Label images for in-hospital labels (院内码): pure functions, no database, no files.

A label carries two symbols:

- a Code 128 of the label text (``YN`` + 12 digits), encoded by python-barcode;
- a small DataMatrix: a GS1 DataMatrix of the unit's UDI when the unit has a GS1 DI,
  ``(01)DI (17)expiry (10)lot (21)label``, else a plain DataMatrix of the label text.
  The label text is the unit's serial (``TrackedUnit.serial``), so both symbols name the same
  unit when scanned. Encoded by zxing-cpp (``gs1=True``, square-bracket AI syntax so that
  a lot may contain parentheses); lots or DIs that GS1 cannot carry fall back to the plain
  DataMatrix.

Every symbol is a matrix of modules (``Symbol``); ``to_svg`` draws it as a small inline SVG
that scales to its CSS box, ``to_png`` as PNG bytes, ``png_data_uri`` as a ``data:`` URI.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
from dataclasses import dataclass

from barcode import Code128
from barcode.errors import BarcodeError
from PIL import Image, ImageOps

from consumables.udi import GS, is_valid_gtin

# GS1 General Specifications, figure 7.11-1: the 82 characters allowed in AI 10 and 21.
_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
CODE128_QUIET_ZONE = 10  # modules each side (ISO/IEC 15417: at least 10X)
DATAMATRIX_QUIET_ZONE = 1  # modules each side (ISO/IEC 16022 asks for 1X)


class LabelError(ValueError):
    """The text cannot be encoded in the asked symbology."""


@dataclass(frozen=True)
class Symbol:
    """A barcode as modules: ``rows`` of ``"0"``/``"1"`` (a linear code has one row).

    ``content`` is what a scanner reads back, without symbology identifier; for GS1 the
    element string with ASCII 29 between a variable-length field and the next AI.
    """

    kind: str  # "code128" | "datamatrix"
    rows: tuple[str, ...]
    content: str
    gs1: bool = False
    quiet_zone: int = 0
    hri: str = ""  # human-readable text: GS1 as (01)…(17)…(10)…(21)…, else the content

    @property
    def width(self) -> int:
        return len(self.rows[0])

    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def linear(self) -> bool:
        return self.height == 1


# ------------------------------------------------------------------------------ encoders


def code128(text: str) -> Symbol:
    """Code 128 of ``text`` (printable ASCII), by python-barcode (it picks sets B/C)."""
    if not text or any(not " " <= c <= "~" for c in text):
        raise LabelError(f"Code 128 label text must be printable ASCII, got {text!r}")
    try:
        (modules,) = Code128(text).build()
    except BarcodeError as exc:
        raise LabelError(str(exc)) from exc
    return Symbol("code128", (modules,), text, quiet_zone=CODE128_QUIET_ZONE)


def gtin14(di: str | None) -> str | None:
    """A GS1 DI as GTIN-14 (GTIN-8/12/13 are left-padded with zeros), else None."""
    di = (di or "").strip()
    if not is_valid_gtin(di):
        return None
    return di.zfill(14)


def gs1_element_string(
    di: str, *, expiry: dt.date | None = None, lot: str | None = None, serial: str | None = None
) -> str:
    """``01<GTIN-14>[17<YYMMDD>][10<lot>][<GS>21<serial>]``: what a GS1 scanner transmits
    (after its symbology identifier). Raises ``LabelError`` for values GS1 cannot carry."""
    return _gs1_fields(di, expiry, lot, serial, "{ai}{value}", GS)


def gs1_hri(
    di: str, *, expiry: dt.date | None = None, lot: str | None = None, serial: str | None = None
) -> str:
    """The human-readable form ``(01)…(17)…(10)…(21)…`` of the same data."""
    return _gs1_fields(di, expiry, lot, serial, "({ai}){value}", "")


def _gs1_fields(di, expiry, lot, serial, pattern: str, separator: str) -> str:
    gtin = gtin14(di)
    if gtin is None:
        raise LabelError(f"Not a GS1 GTIN: {di!r}")
    fields = [("01", gtin, False)]
    if expiry is not None:
        fields.append(("17", expiry.strftime("%y%m%d"), False))
    for ai, value in (("10", lot), ("21", serial)):
        if value:
            if not _CSET82.fullmatch(value):
                raise LabelError(f"AI ({ai}) takes up to 20 GS1 characters, got {value!r}")
            fields.append((ai, value, True))
    out, after_variable = "", False
    for ai, value, variable in fields:
        if after_variable:
            out += separator
        out += pattern.format(ai=ai, value=value)
        after_variable = variable
    return out


def _zxing_datamatrix(content: str, *, gs1: bool):
    import zxingcpp

    # Square symbols only: a rectangular one (Zint's choice for some lengths) has modules
    # too small for a 13 mm box. ``force_square`` is checked below, as zxing-cpp ignores
    # unknown options silently (and aborts the process on some malformed ones: never pass
    # anything but these constants).
    try:
        barcode = zxingcpp.create_barcode(
            content, zxingcpp.BarcodeFormat.DataMatrix, gs1=gs1, force_square=True
        )
    except (ValueError, RuntimeError) as exc:
        raise LabelError(str(exc)) from exc
    height, width = barcode.to_image(scale=1, add_quiet_zones=False).shape
    if height != width:
        raise LabelError(f"DataMatrix came out {width}x{height}, not square")
    return barcode


def _symbol_rows(barcode) -> tuple[str, ...]:
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    pixels = bytes(memoryview(image))
    return tuple(
        "".join("1" if p < 128 else "0" for p in pixels[y * width : (y + 1) * width])
        for y in range(height)
    )


def datamatrix(text: str) -> Symbol:
    """A plain (non-GS1) DataMatrix of ``text``; scanners report it as ``]d1``."""
    if not text or any(not " " <= c <= "~" for c in text):
        raise LabelError(f"DataMatrix text must be printable ASCII, got {text!r}")
    barcode = _zxing_datamatrix(text, gs1=False)
    return Symbol("datamatrix", _symbol_rows(barcode), text, quiet_zone=DATAMATRIX_QUIET_ZONE)


def gs1_datamatrix(
    di: str, *, expiry: dt.date | None = None, lot: str | None = None, serial: str | None = None
) -> Symbol:
    """A GS1 DataMatrix (FNC1 first, ``]d2``) of the UDI."""
    content = gs1_element_string(di, expiry=expiry, lot=lot, serial=serial)
    # zxing-cpp (Zint) takes the AI syntax with square brackets, which cannot clash with a lot
    # containing "(" or ")"; raw element strings with ASCII 29 are refused by it.
    brackets = _gs1_fields(di, expiry, lot, serial, "[{ai}]{value}", "")
    barcode = _zxing_datamatrix(brackets, gs1=True)
    read_back = bytes(barcode.bytes).decode("ascii")
    if barcode.symbology_identifier != "]d2" or read_back != content:
        # Never print a symbol that does not say what we meant (NOTES.md: zxing-cpp ignores
        # unknown options silently).
        raise LabelError(f"GS1 DataMatrix came out as {barcode.symbology_identifier}{read_back!r}")
    return Symbol(
        "datamatrix",
        _symbol_rows(barcode),
        content,
        gs1=True,
        quiet_zone=DATAMATRIX_QUIET_ZONE,
        hri=gs1_hri(di, expiry=expiry, lot=lot, serial=serial),
    )


def label_datamatrix(
    label: str, *, udi_di: str | None = None, lot: str | None = None, expiry=None
) -> Symbol:
    """The DataMatrix printed on an in-hospital label: GS1 with the label as serial when the
    unit has a GS1 DI (and lot/expiry GS1 can carry), else the label text alone."""
    if gtin14(udi_di):
        try:
            return gs1_datamatrix(udi_di, expiry=expiry, lot=lot or None, serial=label)
        except LabelError:
            pass
    return datamatrix(label)


# ------------------------------------------------------------------------------ renderers


def _runs(row: str):
    """(start, length) of each run of dark modules in ``row``."""
    for match in re.finditer(r"1+", row):
        yield match.start(), match.end() - match.start()


def to_svg(symbol: Symbol, *, title: str = "", quiet_zone: int | None = None) -> str:
    """An inline ``<svg>`` (no XML prologue) with a viewBox in modules: it fills the CSS box
    it is given (``preserveAspectRatio="none"`` for bars, square modules for matrices)."""
    quiet = symbol.quiet_zone if quiet_zone is None else quiet_zone
    width = symbol.width + 2 * quiet
    if symbol.linear:
        height, top, aspect = 1, 0, "none"
        path = "".join(f"M{x + quiet} 0h{n}v1h-{n}z" for x, n in _runs(symbol.rows[0]))
    else:
        height, top, aspect = symbol.height + 2 * quiet, quiet, "xMidYMid meet"
        path = "".join(
            f"M{x + quiet} {y + top}h{n}v1h-{n}z"
            for y, row in enumerate(symbol.rows)
            for x, n in _runs(row)
        )
    label = _escape(title or symbol.hri or symbol.content)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="symbol symbol-{symbol.kind}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="{aspect}" '
        f'shape-rendering="crispEdges" role="img" aria-label="{label}">'
        f'<rect width="{width}" height="{height}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>'
    )


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def to_image(symbol: Symbol, *, scale: int = 4, bar_height: int = 60) -> Image.Image:
    """A grayscale PIL image: ``scale`` pixels per module, with the quiet zone;
    a linear symbol is ``bar_height`` modules tall."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    rows = symbol.rows * bar_height if symbol.linear else symbol.rows
    pixels = bytes(0 if c == "1" else 255 for row in rows for c in row)
    image = Image.frombytes("L", (symbol.width, len(rows)), pixels)
    image = ImageOps.expand(image, border=symbol.quiet_zone, fill=255)
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


def to_png(symbol: Symbol, *, scale: int = 4, bar_height: int = 60) -> bytes:
    buffer = io.BytesIO()
    to_image(symbol, scale=scale, bar_height=bar_height).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# --------------------------------------------------------------------------- whole label


@dataclass(frozen=True)
class LabelSymbols:
    code128: Symbol
    datamatrix: Symbol

    @property
    def code128_svg(self) -> str:
        return to_svg(self.code128)

    @property
    def datamatrix_svg(self) -> str:
        return to_svg(self.datamatrix)


def label_symbols(
    label: str, *, udi_di: str | None = None, lot: str | None = None, expiry=None
) -> LabelSymbols:
    """Both symbols of an in-hospital label."""
    return LabelSymbols(
        code128=code128(label),
        datamatrix=label_datamatrix(label, udi_di=udi_di, lot=lot, expiry=expiry),
    )
