"""The demo hospital as data: departments, demo users, a consumable catalogue, inpatients.

Everything is generated deterministically (a seeded ``random.Random``), so ``load_demo`` run
twice produces the same rows and the import finds nothing new the second time. The
manufacturers, GS1 company prefixes, MA registrants and registration numbers are invented
for the demo; they do not name real products.

The catalogue comes out as rows in ``import_master``'s consumables.csv layout (docs/contract.md),
one row per UDI-DI, so the demo loads through the same import path as a real hospital file.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from config import roles

from .udi import gtin_check_digit

SEED = 20260101
# Dates of the provincial platform's announcements used by the demo (in the past, fixed, so a
# second run finds the same prices).
BASE_PRICE_DATE = "2025-01-01"
PRICE_UPDATE_DATE = "2025-10-01"
DEMO_PASSWORD = "Demo@2026"
DEMO_EMAIL_DOMAIN = "demo.wuma.invalid"

# ----------------------------------------------------------------------------- departments

STORE, WARD, THEATRE = "store", "ward", "theatre"
DEPARTMENTS: list[tuple[str, str, str]] = [
    ("CK01", "中心库房", STORE),
    ("XN01", "心内科病区", WARD),
    ("GK01", "骨科病区", WARD),
    ("PW01", "普外科病区", WARD),
    ("SN01", "神经内科病区", WARD),
    ("HX01", "呼吸内科病区", WARD),
    ("MW01", "泌尿外科病区", WARD),
    ("XH01", "消化内科病区", WARD),
    ("SS01", "中心手术室", THEATRE),
    ("DG01", "介入导管室", THEATRE),
]


def department_rows() -> Iterator[tuple[int, dict[str, str]]]:
    """departments.csv rows (line 2 is the first data row, as in a file)."""
    for line, (code, name, kind) in enumerate(DEPARTMENTS, start=2):
        yield line, {"code": code, "name": name, "kind": kind}


# ----------------------------------------------------------------------------- users


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    full_name: str
    department: str | None = None  # department code
    superuser: bool = False

    @property
    def staff(self) -> bool:
        # Nurses and suppliers work in the bedside and supplier pages, not the admin.
        return self.role not in (roles.NURSE, roles.SUPPLIER)

    @property
    def email(self) -> str:
        return f"{self.username}@{DEMO_EMAIL_DOMAIN}"


DEMO_USERS: list[DemoUser] = [
    DemoUser("admin", roles.ADMINISTRATOR, "系统管理员", superuser=True),
    DemoUser("nurse_xn", roles.NURSE, "李敏", "XN01"),
    DemoUser("nurse_gk", roles.NURSE, "王芳", "GK01"),
    DemoUser("nurse_pw", roles.NURSE, "张丽", "PW01"),
    DemoUser("nurse_hx", roles.NURSE, "赵雪", "HX01"),
    DemoUser("nurse_sn", roles.NURSE, "孙悦", "SN01"),
    DemoUser("nurse_mw", roles.NURSE, "黄婷", "MW01"),
    DemoUser("nurse_xh", roles.NURSE, "何佳", "XH01"),
    DemoUser("nurse_ss", roles.NURSE, "陈静", "SS01"),
    DemoUser("nurse_dg", roles.NURSE, "刘洋", "DG01"),
    DemoUser("store01", roles.STOREKEEPER, "赵强", "CK01"),
    DemoUser("store02", roles.STOREKEEPER, "钱进", "CK01"),  # the second person of a count
    DemoUser("procure01", roles.PROCUREMENT, "孙伟"),
    DemoUser("pricing01", roles.PRICING_OFFICE, "周婷"),
    DemoUser("pricing02", roles.PRICING_OFFICE, "吴磊"),
    DemoUser("finance01", roles.FINANCE, "郑洁"),
    DemoUser("insurance01", roles.INSURANCE_OFFICE, "冯涛"),
    DemoUser("supplier01", roles.SUPPLIER, "恒康医疗器械（供应商）"),
    DemoUser("his01", roles.INTEGRATION, "HIS 接口（API 令牌）"),
]

# Admin permissions of the roles in the demo (the roles' own pages come with later issues).
_VIEW_MASTER = [
    "consumables.view_consumable",
    "consumables.view_deviceidentifier",
    "consumables.view_externalprice",
    "consumables.view_priceversion",
    "consumables.view_hospitallabel",
    "organisation.view_department",
]
_VIEW_HIS = ["billing.view_patient", "billing.view_encounter", "billing.view_doctororder"]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    roles.STOREKEEPER: _VIEW_MASTER + ["consumables.add_hospitallabel"],
    roles.PROCUREMENT: _VIEW_MASTER + [
        "consumables.add_consumable",
        "consumables.change_consumable",
        "consumables.add_deviceidentifier",
        "consumables.change_deviceidentifier",
    ],
    roles.PRICING_OFFICE: _VIEW_MASTER + [
        "consumables.add_priceversion",
        "consumables.add_externalprice",
        "consumables.change_externalprice",
    ],
    roles.FINANCE: _VIEW_MASTER + _VIEW_HIS,
    roles.INSURANCE_OFFICE: _VIEW_MASTER + _VIEW_HIS,
    roles.ADMINISTRATOR: ["organisation.*", "consumables.*", "inventory.*", "billing.*", "auth.*"],
}

# ----------------------------------------------------------------------------- makers


@dataclass(frozen=True)
class Maker:
    name: str
    province: str  # registration prefix of class II devices (苏械注准...)
    insurance: str  # 5-digit manufacturer part of the insurance code
    gs1_prefix: str | None = None  # 7-digit GS1 company prefix (690-699: China)
    ma_registrant: str | None = None  # 6-digit MA (IDcode) registrant


MAKERS: dict[str, Maker] = {
    "hk": Maker("上海恒康医疗器械有限公司", "沪", "20431", gs1_prefix="6937215"),
    "xl": Maker("北京心联医疗科技股份有限公司", "京", "10562", gs1_prefix="6948307"),
    "jm": Maker("深圳金脉介入医疗科技有限公司", "粤", "30718", gs1_prefix="6975102"),
    "gr": Maker("常州骨瑞医疗器械有限公司", "苏", "21905", gs1_prefix="6943826"),
    "jg": Maker("天津津骨医疗器械有限公司", "津", "12277", gs1_prefix="6957340"),
    "wk": Maker("新乡卫康卫生材料有限公司", "豫", "40316", gs1_prefix="6921568"),
    "gy": Maker("江西赣益医疗器械集团有限公司", "赣", "36120", gs1_prefix="6930471"),
    "as": Maker("浙江安舒医用高分子有限公司", "浙", "33084", gs1_prefix="6950623"),
    "fy": Maker("山东福瑜医用制品有限公司", "鲁", "37251", gs1_prefix="6962214"),
    "hl": Maker("苏州华罗微创医疗器械有限公司", "苏", "32469", gs1_prefix="6971893"),
    "bt": Maker("杭州博泰缝合材料有限公司", "浙", "33507", gs1_prefix="6982045"),
    "xd": Maker("成都心动医疗电子有限公司", "川", "51043", ma_registrant="100735"),
}

# ----------------------------------------------------------------------------- families

HIGH, LOW = "high", "low"
UNIT, LOT, NONE = "unit", "lot", "none"
SCAN, HIS = "scan", "his"


@dataclass(frozen=True)
class Family:
    """A product line: one consumable per (maker, spec)."""

    key: str
    name: str
    category: str  # first-level class of the insurance catalogue, in words
    ins_class: str  # 6-digit insurance category (2-digit class + 2 + 2)
    generic: str  # 3-digit generic-name part of the insurance code
    value_class: str
    tracking: str
    billed_by: str
    unit: str
    makers: tuple[str, ...]
    specs: tuple[str, ...]
    price: tuple[float, float]  # platform price range, yuan
    device_class: int  # NMPA class (2 or 3)
    device_cat: str  # NMPA 2017 catalogue sub-category (13 无源植入器械, 14 注输...)
    vbp: bool = False  # in a volume-based procurement programme (集采)
    box: int | None = None  # units in the box DI (low-value items have two package levels)
    specs_by_maker: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def maker_specs(self, maker: str) -> tuple[str, ...]:
        return self.specs_by_maker.get(maker, self.specs)


def _grid(first: list[str], second: list[str], fmt: str) -> tuple[str, ...]:
    return tuple(fmt.format(a, b) for a in first for b in second)


CAT_BASIC = "基础卫生材料"
CAT_VASCULAR = "血管介入治疗类材料"
CAT_ORTHO = "骨科材料"
CAT_PACING = "起搏器类材料"
CAT_STAPLER = "吻合器及附件"
CAT_SUTURE = "手术缝线"
CAT_INJECTION = "注射穿刺类材料"
CAT_NONVASC = "非血管介入治疗类材料"

FAMILIES: list[Family] = [
    Family(
        "stent", "冠状动脉药物洗脱支架系统", CAT_VASCULAR, "020101", "001", HIGH, UNIT, SCAN,
        "套", ("xl", "jm", "hk"),
        _grid(["2.25", "2.50", "2.75", "3.00", "3.50", "4.00"], ["14", "18", "24", "29"],
              "{}×{}mm"),
        (690, 740), 3, "13", vbp=True,
        specs_by_maker={
            "hk": _grid(["2.50", "2.75", "3.00", "3.50"], ["15", "20", "25"], "{}×{}mm"),
        },
    ),
    Family(
        "balloon", "冠状动脉球囊扩张导管", CAT_VASCULAR, "020201", "002", HIGH, UNIT, SCAN, "根",
        ("jm", "xl"),
        _grid(["1.50", "2.00", "2.50", "3.00", "3.50"], ["10", "15", "20"], "{}×{}mm"),
        (260, 320), 3, "03", vbp=True,
        specs_by_maker={"xl": _grid(["2.00", "2.50", "3.00"], ["12", "15"], "{}×{}mm NC")},
    ),
    Family(
        "cvc", "一次性使用中心静脉导管包", CAT_VASCULAR, "020401", "011", HIGH, UNIT, SCAN, "套",
        ("hk",),
        ("单腔 16G 20cm", "单腔 16G 16cm", "双腔 7Fr 16cm", "双腔 7Fr 20cm", "三腔 7Fr 16cm",
         "三腔 7Fr 20cm", "双腔 5Fr 13cm（儿童）", "单腔 4Fr 8cm（儿童）"),
        (180, 650), 3, "14",
    ),
    Family(
        "sheath", "一次性使用动脉鞘管套件", CAT_VASCULAR, "020301", "008", HIGH, UNIT, SCAN, "套",
        ("jm",), ("5F 11cm", "6F 11cm", "7F 11cm", "6F 23cm", "桡动脉 5F 10cm",
                  "桡动脉 6F 10cm"),
        (120, 380), 3, "03",
    ),
    Family(
        "guidewire", "冠状动脉导引导丝", CAT_VASCULAR, "020302", "009", HIGH, UNIT, SCAN, "根",
        ("jm",), ('0.014" 180cm 柔软型', '0.014" 180cm 中等支撑', '0.014" 190cm 超滑',
                  '0.014" 300cm 交换型', '0.014" 180cm 强支撑', '0.014" 180cm 慢性闭塞'),
        (580, 1600), 3, "03",
    ),
    Family(
        "pacemaker", "植入式心脏起搏器", CAT_PACING, "070101", "001", HIGH, UNIT, SCAN, "台",
        ("xd",), ("双腔 DDDR", "双腔 DDDR（MRI 兼容）", "单腔 VVIR", "单腔 VVIR（MRI 兼容）",
                  "单腔 SSIR"),
        (23000, 46000), 3, "12",
    ),
    Family(
        "lead", "心脏起搏电极导线", CAT_PACING, "070201", "002", HIGH, UNIT, SCAN, "根",
        ("xd",), ("主动固定 58cm", "主动固定 52cm", "被动固定 58cm", "被动固定 52cm"),
        (4200, 6800), 3, "12",
    ),
    Family(
        "screw", "金属接骨螺钉（非灭菌）", CAT_ORTHO, "030201", "005", HIGH, UNIT, SCAN, "枚",
        ("gr", "jg"),
        tuple(f"皮质骨螺钉 Φ3.5×{n}mm" for n in range(12, 42, 2))
        + tuple(f"松质骨螺钉 Φ4.0×{n}mm" for n in range(20, 52, 4))
        + tuple(f"锁定螺钉 Φ5.0×{n}mm" for n in range(26, 50, 4)),
        (45, 160), 3, "13", vbp=True,
        specs_by_maker={"jg": tuple(f"锁定螺钉 Φ3.5×{n}mm" for n in range(12, 42, 2))},
    ),
    Family(
        "plate", "金属锁定接骨板（非灭菌）", CAT_ORTHO, "030101", "003", HIGH, UNIT, SCAN, "块",
        ("gr", "jg"),
        _grid(["桡骨远端锁定板 左", "桡骨远端锁定板 右"], ["3孔", "4孔", "5孔"], "{} {}")
        + _grid(["锁骨锁定板"], ["6孔", "7孔", "8孔"], "{} {}")
        + _grid(["胫骨近端外侧锁定板"], ["5孔", "7孔", "9孔"], "{} {}"),
        (680, 1600), 3, "13", vbp=True,
        specs_by_maker={
            "jg": _grid(["肱骨近端锁定板"], ["3孔", "4孔", "5孔"], "{} {}")
            + _grid(["股骨远端锁定板 左"], ["7孔", "9孔", "11孔"], "{} {}"),
        },
    ),
    Family(
        "stapler_circ", "一次性使用管型吻合器", CAT_STAPLER, "120101", "001", HIGH, UNIT, SCAN,
        "把", ("hl",), tuple(f"{n}mm" for n in (21, 23, 25, 26, 28, 29, 31, 32, 33)),
        (1800, 3200), 2, "02",
    ),
    Family(
        "stapler_lin", "腔镜直线切割吻合器及钉仓", CAT_STAPLER, "120201", "002", HIGH, UNIT, SCAN,
        "个", ("hl",),
        ("吻合器 45mm", "吻合器 60mm")
        + _grid(["钉仓 45mm", "钉仓 60mm"], ["白色", "蓝色", "金色", "绿色"], "{} {}"),
        (900, 4200), 2, "02",
    ),
    Family(
        "iv_cannula", "静脉留置针", CAT_INJECTION, "140301", "004", LOW, LOT, SCAN, "支",
        ("gy", "fy"),
        _grid(["18G", "20G", "22G", "24G", "26G"], ["Y型密闭式", "直型"], "{} {}"),
        (6, 32), 3, "14", box=50,
    ),
    Family(
        "syringe", "一次性使用无菌注射器", CAT_INJECTION, "140101", "001", LOW, LOT, SCAN, "支",
        ("fy", "gy"),
        ("1ml 0.45×16TWLB", "2ml 0.6×25TWLB", "2.5ml 0.6×25TWLB", "5ml 0.7×32TWLB",
         "10ml 0.8×38TWLB", "20ml 1.2×38TWLB", "30ml 无针", "50ml 无针"),
        (0.3, 3.2), 3, "14", box=100,
    ),
    Family(
        "infusion", "一次性使用输液器", CAT_INJECTION, "140201", "002", LOW, LOT, SCAN, "套",
        ("fy",),
        ("带针 0.55×20mm", "带针 0.7×25mm", "带针 0.8×28mm", "精密过滤 5μm",
         "精密过滤 2μm", "避光 带针 0.7mm", "避光精密过滤 2μm", "输血器 带针 1.2mm"),
        (1.5, 26), 3, "14", box=100,
    ),
    Family(
        "blood_needle", "一次性使用静脉血样采集针", CAT_INJECTION, "140401", "005", LOW, LOT,
        SCAN, "支", ("fy",), _grid(["21G", "22G", "23G"], ["软接式", "硬接式"], "{} {}"),
        (0.3, 1.6), 2, "14", box=100,
    ),
    Family(
        "dressing", "透明敷料（留置针敷贴）", CAT_BASIC, "010201", "002", LOW, LOT, SCAN, "片",
        ("wk",), ("6cm×7cm", "6cm×8cm", "10cm×12cm", "10cm×25cm", "5cm×5.7cm（儿童）",
                  "8.5cm×11.5cm 带边框"),
        (1.5, 18), 2, "14", box=50,
    ),
    Family(
        "nasal_o2", "一次性使用鼻氧管", CAT_BASIC, "010401", "006", LOW, LOT, SCAN, "根",
        ("as",), _grid(["成人", "儿童", "婴儿"], ["2.0m", "2.1m"], "{} {}"),
        (2, 8), 2, "08", box=50,
    ),
    Family(
        "o2_tube", "一次性使用吸氧管", CAT_BASIC, "010402", "007", LOW, LOT, SCAN, "根",
        ("as",), ("单腔 成人", "双腔 成人", "双腔 儿童", "面罩式 成人", "面罩式 儿童",
                  "雾化面罩 成人"),
        (2.5, 12), 2, "08", box=50,
    ),
    Family(
        "gauze", "医用脱脂纱布块", CAT_BASIC, "010101", "001", LOW, NONE, HIS, "包",
        ("wk",),
        ("5cm×7cm-8层 10片/包", "7.5cm×7.5cm-8层 10片/包", "10cm×10cm-8层 10片/包",
         "10cm×20cm-8层 5片/包", "纱布垫 30cm×40cm-4层", "纱布绷带 6cm×600cm",
         "纱布绷带 8cm×600cm", "腹部垫 40cm×40cm"),
        (0.8, 9), 2, "14", box=50,
    ),
    Family(
        "catheter", "一次性使用无菌导尿管", CAT_NONVASC, "040501", "002", LOW, LOT, SCAN, "根",
        ("as", "gy"),
        _grid(["双腔"], ["Fr10", "Fr12", "Fr14", "Fr16", "Fr18", "Fr20"], "{} {}")
        + _grid(["三腔"], ["Fr16", "Fr18", "Fr20", "Fr22"], "{} {}"),
        (5, 58), 2, "14", box=20,
        specs_by_maker={"gy": _grid(["硅胶 双腔"], ["Fr12", "Fr14", "Fr16", "Fr18"], "{} {}")},
    ),
    Family(
        "gastric", "一次性使用胃管", CAT_NONVASC, "040601", "003", LOW, LOT, SCAN, "根",
        ("as",), ("Fr12", "Fr14", "Fr16", "Fr18", "Fr20", "鼻肠管 Fr10"),
        (3, 45), 2, "14", box=50,
    ),
    Family(
        "drain_bag", "一次性使用引流袋", CAT_NONVASC, "040701", "004", LOW, LOT, SCAN, "个",
        ("as",), ("1000ml 防逆流", "2000ml 防逆流", "精密计尿袋 2000ml", "胸腔引流瓶 单腔",
                  "负压引流球 200ml", "负压引流球 400ml"),
        (2, 60), 2, "14", box=50,
    ),
    Family(
        "suture_pga", "可吸收性外科缝线（聚乙醇酸）", CAT_SUTURE, "130101", "001", LOW, LOT, SCAN,
        "根", ("bt",),
        _grid(["5-0", "4-0", "3-0", "2-0", "0", "1"], ["75cm 圆针", "90cm 角针"], "{} {}"),
        (28, 96), 3, "02", box=12,
    ),
    Family(
        "suture_pp", "聚丙烯不可吸收缝线", CAT_SUTURE, "130201", "002", LOW, LOT, SCAN, "根",
        ("bt",), ("6-0 双针 60cm", "5-0 双针 75cm", "4-0 双针 90cm", "3-0 单针 75cm",
                  "2-0 单针 75cm"),
        (45, 160), 3, "02", box=12,
    ),
    Family(
        "suture_silk", "非吸收性外科缝线（丝线）", CAT_SUTURE, "130301", "003", LOW, LOT, SCAN,
        "包", ("bt",), ("4-0 编织 10根/包", "3-0 编织 10根/包", "2-0 编织 10根/包",
                        "0 编织 10根/包", "1 编织 10根/包"),
        (6, 22), 2, "02", box=12,
    ),
]

# Items whose four prices the demo deliberately breaks (for the price audit and reports):
# (family, maker, spec index, what happens at PRICE_UPDATE_DATE).
MISALIGNED: list[tuple[str, str, int, str]] = [
    ("iv_cannula", "gy", 4, "platform_drop"),  # 挂网价降了，采购价未跟进
    ("catheter", "as", 2, "platform_drop"),
    ("stent", "jm", 9, "vbp_renewal"),  # 集采续约降价，采购价仍是旧中选价
    ("plate", "gr", 3, "vbp_renewal"),
    ("stapler_circ", "hl", 4, "platform_drop"),
]

# ----------------------------------------------------------------------------- catalogue

CENT = Decimal("0.01")


def _yuan(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _price(rng: random.Random, low: float, high: float) -> Decimal:
    value = rng.uniform(low, high)
    if high >= 1000:
        return _yuan(round(value, -1))
    if high >= 100:
        return _yuan(round(value))
    return _yuan(value)


def gtin14(indicator: str, body12: str) -> str:
    body = indicator + body12
    return body + gtin_check_digit(body)


def ma_di(registrant: str, package: int, item: int) -> str:
    """An MA (IDcode) DI: registrant, then package digit + item code + a check character.

    No public check-character algorithm could be confirmed (shared/udi/NOTES.md), so the
    demo's character is its own (digit sum mod 10); the parser does not refuse on it.
    """
    product = f"{package}{item:06d}"
    check = sum(int(c) for c in product) % 10
    return f"MA.156.M0.{registrant}.{product}{check}"


def _registration(rng: random.Random, maker: Maker, family: Family) -> str:
    year = rng.randint(2017, 2023)
    serial = rng.randint(1, 999)
    if family.device_class == 3:
        return f"国械注准{year}3{family.device_cat}{serial:04d}"
    return f"{maker.province}械注准{year}2{family.device_cat}{serial:04d}"


@dataclass
class DemoItem:
    """One consumable of the demo catalogue with its codes and prices."""

    family: str
    maker: str
    spec_index: int
    material_code: str
    name: str
    spec: str
    unit: str
    manufacturer: str
    registration_no: str
    category: str
    value_class: str
    tracking: str
    billed_by: str
    charge_code: str
    order_code: str
    insurance_code: str
    dis: list[tuple[str, int]]  # (udi_di, units_per_package), smallest first
    platform_price: Decimal
    vbp_price: Decimal | None
    purchase_price: Decimal
    charge_price: Decimal
    update: str | None = None  # misalignment applied at PRICE_UPDATE_DATE
    platform_after: Decimal | None = None
    vbp_after: Decimal | None = None

    def rows(self, *, effective_from: str, platform: Decimal, vbp: Decimal | None):
        for udi_di, units in self.dis:
            yield {
                "material_code": self.material_code,
                "name": self.name,
                "spec": self.spec,
                "unit": self.unit,
                "manufacturer": self.manufacturer,
                "registration_no": self.registration_no,
                "category": self.category,
                "value_class": self.value_class,
                "tracking": self.tracking,
                "chargeable": "1",
                "billed_by": self.billed_by,
                "charge_code": self.charge_code,
                "order_code": self.order_code,
                "insurance_code": self.insurance_code,
                "udi_di": udi_di,
                "units_per_package": str(units),
                "package_level": "最小销售单元" if units == 1 else f"箱（{units}{self.unit}）",
                "platform_price": str(platform),
                "vbp_price": "" if vbp is None else str(vbp),
                "purchase_price": str(self.purchase_price),
                "charge_price": str(self.charge_price),
                "price_effective_from": effective_from,
            }


def catalogue() -> list[DemoItem]:
    """The whole demo catalogue, the same on every call."""
    rng = random.Random(SEED)
    class_seq: dict[str, int] = {}
    item_refs: dict[str, int] = {}
    misaligned = {(f, m, i): what for f, m, i, what in MISALIGNED}
    items: list[DemoItem] = []
    for family in FAMILIES:
        ins_class2 = family.ins_class[:2]
        for maker_key in family.makers:
            maker = MAKERS[maker_key]
            registration = _registration(rng, maker, family)
            vbp_base = _price(rng, *family.price) if family.vbp else None
            for index, spec in enumerate(family.maker_specs(maker_key)):
                seq = class_seq[ins_class2] = class_seq.get(ins_class2, 0) + 1
                if maker_key not in item_refs:
                    item_refs[maker_key] = 10000 + rng.randint(0, 80)
                ref = item_refs[maker_key] = item_refs[maker_key] + 1
                if maker.gs1_prefix:
                    body12 = f"{maker.gs1_prefix}{ref:05d}"
                    dis = [(gtin14("0", body12), 1)]
                    if family.box:
                        dis.append((gtin14("1", body12), family.box))
                else:
                    dis = [(ma_di(maker.ma_registrant, 1, ref), 1)]
                    if family.box:
                        dis.append((ma_di(maker.ma_registrant, 2, ref), family.box))
                if vbp_base is not None:
                    # One VBP price per product line and size class, as the tender lists it.
                    vbp = (vbp_base * (1 + Decimal("0.04") * (index % 3))).quantize(CENT)
                    platform, purchase = vbp, vbp
                else:
                    vbp = None
                    platform = _price(rng, *family.price)
                    discount = Decimal(str(rng.choice([1, 1, 1, 0.98, 0.95, 0.92])))
                    purchase = (platform * discount).quantize(CENT)
                item = DemoItem(
                    family=family.key,
                    maker=maker_key,
                    spec_index=index,
                    material_code=f"WZ{ins_class2}{seq:05d}",
                    name=family.name,
                    spec=spec,
                    unit=family.unit,
                    manufacturer=maker.name,
                    registration_no=registration,
                    category=family.category,
                    value_class=family.value_class,
                    tracking=family.tracking,
                    billed_by=family.billed_by,
                    charge_code="",
                    order_code="",
                    insurance_code=(
                        f"C{family.ins_class}{family.generic}{index + 1:05d}{maker.insurance}"
                    ),
                    dis=dis,
                    platform_price=platform,
                    vbp_price=vbp,
                    purchase_price=purchase,
                    charge_price=purchase,  # zero mark-up (零差率)
                )
                what = misaligned.get((family.key, maker_key, index))
                if what == "platform_drop":
                    item.update = what
                    item.platform_after = (purchase * Decimal("0.90")).quantize(CENT)
                    item.vbp_after = vbp
                elif what == "vbp_renewal":
                    item.update = what
                    item.vbp_after = (vbp * Decimal("0.93")).quantize(CENT)
                    item.platform_after = item.vbp_after
                items.append(item)
    # HIS charge and order codes are numbered by other systems, in their own order.
    charge_numbers = rng.sample(range(100000, 999999), len(items))
    order_numbers = rng.sample(range(100000, 999999), len(items))
    for item, charge_no, order_no in zip(items, charge_numbers, order_numbers, strict=True):
        item.charge_code = f"HC{item.material_code[2:4]}{charge_no:06d}"
        item.order_code = f"YZ{order_no:06d}"
    return items


def consumable_rows(items: list[DemoItem]) -> Iterator[tuple[int, dict[str, str]]]:
    """consumables.csv rows of the catalogue at BASE_PRICE_DATE (every price aligned)."""
    line = 1
    for item in items:
        for row in item.rows(
            effective_from=BASE_PRICE_DATE, platform=item.platform_price, vbp=item.vbp_price
        ):
            line += 1
            yield line, row


def price_update_rows(items: list[DemoItem]) -> Iterator[tuple[int, dict[str, str]]]:
    """The platform's announcement of PRICE_UPDATE_DATE: new platform/VBP prices for a few
    items, the hospital's prices unchanged, so those items break the four-price rule."""
    line = 1
    for item in items:
        if not item.update:
            continue
        for row in item.rows(
            effective_from=PRICE_UPDATE_DATE, platform=item.platform_after, vbp=item.vbp_after
        ):
            line += 1
            yield line, row


# ----------------------------------------------------------------------------- inpatients

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = [
    "建国", "秀英", "桂英", "志强", "丽华", "明", "军", "洪涛", "淑芬", "海燕", "德明", "玉兰",
    "振华", "春梅", "晓东", "国平", "红霞", "永刚", "凤英", "文斌", "宝山", "金凤", "立新",
]
INSURANCE_TYPES = ["职工医保", "职工医保", "居民医保", "居民医保", "自费"]
# Two of today's inpatients have the other national types: a retired cadre (离休) on the
# cardiology ward, a work injury (工伤保险) on orthopaedics; the nurse scans for them alike.
OTHER_INSURANCE = {2: "离休", 7: "工伤保险"}

# Ward -> (doctors, families ordered for its patients, how many patients)
WARD_CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...], int]] = {
    "XN01": (("陈建华", "林志强"), ("stent", "balloon", "iv_cannula", "nasal_o2", "pacemaker",
                                    "syringe"), 5),
    "GK01": (("高振宇", "马立军"), ("screw", "plate", "iv_cannula", "gauze", "catheter"), 4),
    "PW01": (("许文涛", "韩冬梅"), ("stapler_circ", "stapler_lin", "suture_pga", "catheter",
                                    "cvc", "gastric", "drain_bag"), 4),
    "SN01": (("邓慧敏",), ("iv_cannula", "infusion", "nasal_o2", "gastric"), 2),
    "HX01": (("曹永明", "彭晓燕"), ("o2_tube", "nasal_o2", "iv_cannula", "infusion", "syringe"), 3),
    "MW01": (("曾国强",), ("catheter", "drain_bag", "suture_pga", "iv_cannula"), 2),
}


@dataclass(frozen=True)
class DemoOrder:
    order_id: str
    order_code: str
    quantity: int
    hours_after_admission: int
    doctor: str


@dataclass(frozen=True)
class DemoEncounter:
    patient_id: str
    patient_name: str
    visit_no: str
    department: str
    insurance_type: str
    days_ago: int  # admitted this many days before the first load, at 08:00-11:59
    minute_of_morning: int
    orders: tuple[DemoOrder, ...]


def inpatients(items: list[DemoItem]) -> list[DemoEncounter]:
    """About 20 inpatients of the wards, with doctor orders for consumables by order code."""
    rng = random.Random(SEED + 1)
    by_family: dict[str, list[DemoItem]] = {}
    for item in items:
        by_family.setdefault(item.family, []).append(item)
    encounters: list[DemoEncounter] = []
    n = 0
    for ward, (doctors, families, count) in WARD_CASES.items():
        for _ in range(count):
            n += 1
            visit_no = f"ZY2026{31000 + n * 7:06d}"
            wanted = rng.sample(families, k=min(len(families), rng.randint(2, 4)))
            orders = []
            for k, family in enumerate(wanted, start=1):
                item = rng.choice(by_family[family])
                quantity = 1 if item.value_class == HIGH else rng.choice([1, 2, 2, 3, 5])
                if family == "screw":
                    quantity = rng.choice([4, 6, 8])
                orders.append(
                    DemoOrder(
                        order_id=f"{visit_no}-{k:02d}",
                        order_code=item.order_code,
                        quantity=quantity,
                        hours_after_admission=2 + k * rng.randint(1, 20),
                        doctor=rng.choice(doctors),
                    )
                )
            encounters.append(
                DemoEncounter(
                    patient_id=f"P{10230000 + n * 13:08d}",
                    patient_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                    visit_no=visit_no,
                    department=ward,
                    insurance_type=OTHER_INSURANCE.get(n, rng.choice(INSURANCE_TYPES)),
                    days_ago=rng.randint(1, 9),
                    minute_of_morning=rng.randint(0, 239),
                    orders=tuple(orders),
                )
            )
    return encounters
