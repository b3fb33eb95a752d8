"""What an import did: counts, and every refused row with its line number and reason."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from config.errors import DomainError


class ImportFileError(DomainError):
    """The file as a whole cannot be imported (missing, unreadable, required columns absent):
    a refusal like any other (400, worded in config/error_codes.py), told apart by its class."""


@dataclass
class RowError:
    """One refused row. ``message``: Chinese first, then `` / `` and English.

    ``line`` is the spreadsheet row (1 = header, 2 = first data row); 0 means the whole file.
    """

    line: int
    code: str
    message: str
    file: str = ""

    def __str__(self) -> str:
        where = f"{self.file} " if self.file else ""
        if self.line:
            where += f"第 {self.line} 行 / line {self.line}"
        else:
            where += "整个文件 / whole file"
        return f"{where}: {self.code} {self.message}"


def row_error(line: int, code: str, zh: str, en: str) -> RowError:
    return RowError(line=line, code=code, message=f"{zh} / {en}")


_LABELS = {
    "rows": "读取数据行 / data rows read",
    "created": "耗材新增 / consumables created",
    "updated": "耗材更新 / consumables updated",
    "unchanged": "耗材未变 / consumables unchanged",
    "device_identifiers_created": "UDI-DI 新增 / device identifiers created",
    "device_identifiers_updated": "UDI-DI 更新 / device identifiers updated",
    "external_prices_created": "挂网价/集采价 新增 / platform and VBP prices created",
    "external_prices_updated": "挂网价/集采价 更正 / platform and VBP prices corrected",
    "prices_approved": "初始价格（已生效）/ initial prices approved",
    "prices_proposed": "调价申请（待双人审核）/ price changes proposed for review",
    "departments_created": "科室新增 / departments created",
    "departments_updated": "科室更新 / departments updated",
    "departments_unchanged": "科室未变 / departments unchanged",
    "suppliers_created": "供应商新增 / suppliers created",
    "suppliers_updated": "供应商更新 / suppliers updated",
    "suppliers_unchanged": "供应商未变 / suppliers unchanged",
}


@dataclass
class ImportReport:
    """Counts of one import. Consumable counts are per material code, not per row.

    ``updated``: an existing consumable whose fields changed or that got a new or corrected
    DI, platform/VBP price or price version; ``unchanged``: nothing of it changed.
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    device_identifiers_created: int = 0
    external_prices_created: int = 0
    prices_approved: int = 0
    prices_proposed: int = 0
    departments_created: int = 0
    departments_updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    device_identifiers_updated: int = 0
    external_prices_updated: int = 0
    departments_unchanged: int = 0
    suppliers_created: int = 0
    suppliers_updated: int = 0
    suppliers_unchanged: int = 0
    failed: bool = False  # the database refused the load: nothing was written

    @property
    def rows_refused(self) -> int:
        return len({(e.file, e.line) for e in self.errors if e.line})

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in _LABELS}

    def merge(self, other: ImportReport) -> ImportReport:
        for name in self.counts():
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)
        self.failed = self.failed or other.failed
        return self

    def zero_counts(self) -> None:
        """After a rollback: nothing was written."""
        for name in self.counts():
            if name != "rows":
                setattr(self, name, 0)

    def lines(self) -> list[str]:
        """The human report, Chinese then English."""
        if self.failed:
            head = "导入失败，未写入任何数据 / import failed, nothing was written"
        elif self.errors:
            head = (
                f"导入完成，{self.rows_refused} 行未导入 / "
                f"import finished, {self.rows_refused} rows refused"
            )
        else:
            head = "导入完成，全部行已导入 / import finished, all rows loaded"
        out = [head]
        out += [f"  {label}: {getattr(self, name)}" for name, label in _LABELS.items()]
        out += [str(error) for error in self.errors]
        return out
