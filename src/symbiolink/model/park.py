"""The park model: parks, companies and their streams (``symbiolink-park/1``).

Each attribute is declared once, here, with its meaning and unit; validation, the spreadsheet
template, the CSV/Excel readers and ``docs/park-file.md`` are all derived from these declarations
(see :mod:`symbiolink.model.schema`).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from symbiolink.model.units import to_canonical

FORMAT: Literal["symbiolink-park/1"] = "symbiolink-park/1"

Direction = Literal["supply", "demand"]
StreamKind = Literal["material", "energy", "water"]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$"


def attr(
    meaning: str,
    *,
    unit: str | None = None,
    example: Any = None,
    accepted: str | None = None,
    code: bool = False,
    default: Any = None,
    required: bool = False,
    **constraints: Any,
) -> Any:
    """Declare one attribute of the park file: its meaning, unit, an example and what it accepts."""
    extra: dict[str, Any] = {}
    if unit:
        extra["unit"] = unit
    if example is not None:
        extra["example"] = example
    if accepted:
        extra["accepted"] = accepted
    if code:
        extra["code"] = True
    if required:
        return Field(description=meaning, json_schema_extra=extra, **constraints)
    return Field(default=default, description=meaning, json_schema_extra=extra, **constraints)


Id = Annotated[str, Field(min_length=1, max_length=128, pattern=ID_PATTERN)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
ID_ACCEPTED = "letters, digits and . _ : - (no spaces), starting with a letter or digit, at most 128 characters"


#: Deepest nesting of objects and lists a value may have (``properties.contaminants.COD`` is 2).
MAX_NESTING = 16
#: The largest whole number a double (and so a spreadsheet cell) holds exactly: 2^53.
MAX_EXACT_INTEGER = 2**53
#: The largest number a workbook keeps: openpyxl writes 16 significant digits, and the largest
#: doubles (up to 1.7976931348623157e308) written so read back as infinity.
MAX_NUMBER = 1e308
#: Characters no text may hold: control characters but tab, line feed and carriage return (a
#: workbook cannot hold them, and NUL no PostgreSQL text), surrogates (not characters: they cannot
#: be written as UTF-8) and the noncharacters U+FFFE and U+FFFF.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_TEXT_ACCEPTED = "text without control characters (tabs and line breaks are fine)"


def storable_problem(value: Any) -> tuple[str, str] | None:
    r"""Why ``value`` cannot be stored and written back as it is, and what would be accepted; or
    ``None`` if it can. Text (keys of objects too) must be free of control characters and lone
    surrogates, numbers finite and at most :data:`MAX_NUMBER`, whole numbers at most
    :data:`MAX_EXACT_INTEGER` in size, and
    nesting at most :data:`MAX_NESTING` levels.

    Examples
    --------
    >>> storable_problem({"COD": 80.0, "note": "from line 2"}) is None
    True
    >>> storable_problem(["ok", "bad\x00"])[0]
    'contains U+0000, a control character, at position 3'
    >>> storable_problem({"\x1b[31m": 1})[0]
    'a key contains U+001B, a control character, at position 0'
    >>> storable_problem(float("nan"))
    ('is not a finite number', 'a finite number')
    """
    stack: list[tuple[Any, int, bool]] = [(value, 0, False)]
    while stack:
        v, depth, key = stack.pop()
        if isinstance(v, str):
            if key and not v.strip():
                return "has an empty key", "keys that are not empty"
            m = _NOT_TEXT.search(v)
            if m is not None:
                char = m.group()
                what = (
                    "half of a surrogate pair, not a character"
                    if "\ud800" <= char <= "\udfff"
                    else "not a character"
                    if char in "\ufffe\uffff"
                    else "a control character"
                )
                where = "a key contains" if key else "contains"
                return f"{where} U+{ord(char):04X}, {what}, at position {m.start()}", _TEXT_ACCEPTED
        elif isinstance(v, float):
            if not math.isfinite(v):
                return "is not a finite number", "a finite number"
            if abs(v) > MAX_NUMBER:
                return (
                    f"is beyond ±{MAX_NUMBER:g}, where a workbook rounds it to infinity",
                    f"numbers up to ±{MAX_NUMBER:g}",
                )
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_EXACT_INTEGER:
            return (
                f"is a whole number of {len(str(abs(v)))} digits, more than a spreadsheet keeps exactly",
                f"whole numbers up to {MAX_EXACT_INTEGER:,} (2^53), or a decimal number such as 1.5e20",
            )
        elif isinstance(v, dict | list):
            if depth >= MAX_NESTING:
                return (
                    f"is nested more than {MAX_NESTING} levels deep",
                    f"at most {MAX_NESTING} levels of objects and lists",
                )
            if isinstance(v, dict):
                stack.extend((k, depth, True) for k in v)
                stack.extend((x, depth + 1, False) for x in v.values())
            else:
                stack.extend((x, depth + 1, False) for x in v)
    return None


def _storable(value: Any) -> Any:
    problem = storable_problem(value)
    if problem is not None:
        raise PydanticCustomError("not_storable", problem[0], {"accepted": problem[1]})
    return value


class Storable(BaseModel):
    """A model whose every value, extra keys included, can be stored and written back to each
    format: see :func:`storable_problem`. Park items and the API's request bodies build on it."""

    __pydantic_extra__: dict[str, Annotated[Any, AfterValidator(_storable)]]

    @field_validator("*", mode="after")
    @classmethod
    def _values_are_storable(cls, value: Any) -> Any:
        return value if isinstance(value, BaseModel) else _storable(value)

    @model_validator(mode="after")
    def _extra_keys_are_storable(self) -> Storable:
        # The values of extra keys are checked by __pydantic_extra__; the keys themselves here.
        if self.model_extra:
            _storable(dict.fromkeys(self.model_extra))
        return self


class _Strict(Storable):
    model_config = ConfigDict(
        extra="allow",
        allow_inf_nan=False,
        str_strip_whitespace=True,
        frozen=False,
        validate_default=False,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _text_as_a_sheet_keeps_it(cls, value: Any, info: ValidationInfo) -> Any:
        # As in a spreadsheet, where an empty cell is absent and a line ends in a line feed (a
        # workbook's XML turns CR into LF): so the three formats agree.
        if not isinstance(value, str):
            return value
        if not value.strip() and info.field_name:
            return None if not cls.model_fields[info.field_name].is_required() else value
        return _line_feeds(value)


class Park(_Strict):
    """An industrial park (or any site that groups companies)."""

    id: Id = attr(
        "Unique id of the park in this file.", example="hp-1", accepted=ID_ACCEPTED, required=True
    )
    name: Text = attr("Name of the park.", example="Nam Cau Kien industrial park", required=True)
    country: str | None = attr(
        "Country, ISO 3166-1 alpha-2.",
        example="VN",
        accepted="two capital letters such as VN, DK",
        pattern=r"^[A-Z]{2}$",
    )
    lat: Latitude | None = attr(
        "Latitude of the park's centre.",
        unit="degree",
        example=20.93,
        accepted="a number from -90 to 90",
    )
    lon: Longitude | None = attr(
        "Longitude of the park's centre.",
        unit="degree",
        example=106.62,
        accepted="a number from -180 to 180",
    )
    province: Text | None = attr(
        "Province or region the park is in (for national totals), in any spelling people use.",
        example="Hai Phong",
    )


class Company(_Strict):
    """A company (a plant, a utility, a farm, a town's heating network) in a park."""

    id: Id = attr(
        "Unique id of the company in this file.",
        example="steel",
        accepted=ID_ACCEPTED,
        required=True,
    )
    name: Text = attr("Name of the company or plant.", example="Billet steel mill", required=True)
    park: Id = attr("Id of the park the company is in.", example="hp-1", required=True)
    isic: str | None = attr(
        "Sector, ISIC Rev.4 at any level (division, group or class).",
        example="2410",
        accepted="an ISIC Rev.4 code such as 24, 241, 2410 or 24.10",
        code=True,
    )
    nace: str | None = attr(
        "Sector, NACE Rev.2 at any level.",
        example="24.10",
        accepted="a NACE Rev.2 code such as 24, 24.1, 24.10 or 2410",
        code=True,
    )
    vsic: str | None = attr(
        "Sector, VSIC 2018 (Viet Nam) at any level.",
        example="24100",
        accepted="a VSIC 2018 code of 2 to 5 digits such as 24, 2410, 24100",
        code=True,
    )
    description: str | None = attr(
        "What the company does.", example="EAF melting of scrap", max_length=10000
    )
    lat: Latitude | None = attr(
        "Latitude of the site; absent means the park's.",
        unit="degree",
        example=20.931,
        accepted="a number from -90 to 90",
    )
    lon: Longitude | None = attr(
        "Longitude of the site; absent means the park's.",
        unit="degree",
        example=106.622,
        accepted="a number from -180 to 180",
    )

    @field_validator("isic", "nace", "vsic", mode="before")
    @classmethod
    def _code_as_text(cls, v: Any) -> Any:
        # Spreadsheets hand codes over as numbers; a whole number is read as its digits.
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return v

    def sector_isic(self) -> str | None:
        """The company's sector in ISIC Rev.4, from whichever code it gives."""
        from symbiolink.codes.sectors import sector_to_isic

        return sector_to_isic(isic=self.isic, nace=self.nace, vsic=self.vsic)


NonNegative = Annotated[float, Field(ge=0.0)]


def _line_feeds(text: str) -> str:
    r"""``text`` with its line breaks (CR LF, CR) as line feeds.

    >>> _line_feeds("a\r\nb\rc\nd")
    'a\nb\nc\nd'
    """
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _absent(value: Any) -> bool:
    """Whether a value is one a spreadsheet cannot tell from an empty cell."""
    return value is None or value == {} or (isinstance(value, str) and not value.strip())


def _pruned(value: Any) -> Any:
    """``value`` without the members of its objects that are absent (at any depth of objects;
    lists are kept whole, as a sheet writes them as JSON text), its text with line feeds and its
    keys trimmed (as a sheet's column names are).

    Examples
    --------
    >>> _pruned({"a": {"b": None, "c": ""}, "d": [None], "e": 1})
    {'d': [None], 'e': 1}
    """
    if isinstance(value, str):
        return _line_feeds(value)
    if not isinstance(value, dict):
        return value
    kept = {_line_feeds(k).strip(): _pruned(v) for k, v in value.items()}
    return {k: v for k, v in kept.items() if not _absent(v)}


class StreamProperties(_Strict):
    """Quality and economics of a stream. Further keys are kept and shown."""

    temperature_c: float | None = attr(
        "Temperature of an energy or water stream (supply: as available; demand: as required).",
        unit="degC",
        example=90.0,
        accepted="a number above -273.15",
        gt=-273.15,
    )
    pressure_bar: NonNegative | None = attr(
        "Pressure of steam or gas, absolute.", unit="bar", example=12.0, accepted="a number >= 0"
    )
    contaminants: dict[str, NonNegative] | None = attr(
        "Concentrations in a supply, by contaminant name (ppm for water).",
        unit="mg/L",
        example={"COD": 80.0, "TSS": 30.0},
        accepted="an object of names to numbers >= 0",
    )
    max_contaminants: dict[str, NonNegative] | None = attr(
        "Highest concentration a demand accepts, by contaminant name (ppm for water).",
        unit="mg/L",
        example={"TDS": 500.0},
        accepted="an object of names to numbers >= 0",
    )
    density_t_m3: float | None = attr(
        "Bulk density, needed to turn a material given by volume into tonnes.",
        unit="t/m3",
        example=1.2,
        accepted="a number > 0",
        gt=0.0,
    )
    moisture_pct: float | None = attr(
        "Moisture content by mass.",
        unit="%",
        example=12.0,
        accepted="a number from 0 to 100",
        ge=0.0,
        le=100.0,
    )
    lhv_mj_kg: NonNegative | None = attr(
        "Lower heating value of a fuel.", unit="MJ/kg", example=14.0, accepted="a number >= 0"
    )
    price: float | None = attr(
        "Price asked (supply) or paid today for the virgin input (demand), per tonne (material), "
        "m3 (water) or MWh (energy), in `currency`.",
        unit="currency/canonical unit",
        example=25.0,
        accepted="a number",
    )
    disposal_cost: float | None = attr(
        "What the supplier pays today to get rid of the stream, per tonne, m3 or MWh, in `currency`.",
        unit="currency/canonical unit",
        example=18.0,
        accepted="a number",
    )
    currency: str | None = attr(
        "Currency of `price` and `disposal_cost`, ISO 4217 (USD if absent).",
        example="VND",
        accepted="three capital letters such as USD, EUR, VND",
        pattern=r"^[A-Z]{3}$",
    )

    @model_validator(mode="after")
    def _blank_extras_are_absent(self) -> StreamProperties:
        # As in a spreadsheet, an empty value means absent; so the three formats agree.
        if self.model_extra:
            for key, value in list(self.model_extra.items()):
                del self.model_extra[key]
                value = _pruned(value)
                if not _absent(value):
                    self.model_extra[_line_feeds(key).strip()] = value
        return self

    @field_validator("contaminants", "max_contaminants", mode="before")
    @classmethod
    def _no_empty_names(cls, v: Any) -> Any:
        if v == {}:
            return None  # no contaminants named: as absent, which is all a sheet can say
        if isinstance(v, dict):
            for k in v:
                if not str(k).strip():
                    raise ValueError("a contaminant name is empty")
        return v


class Stream(_Strict):
    """Something a company has to give (``supply``) or needs (``demand``)."""

    id: Id = attr(
        "Unique id of the stream in this file.",
        example="steel-slag",
        accepted=ID_ACCEPTED,
        required=True,
    )
    company: Id = attr("Id of the company that gives or needs it.", example="steel", required=True)
    direction: Direction = attr(
        "supply: a by-product, waste, surplus heat or effluent to give; demand: something needed.",
        example="supply",
        accepted="supply or demand",
        required=True,
    )
    kind: StreamKind = attr(
        "What the stream physically is: material (incl. solid and liquid fuels), energy (steam, hot "
        "water, electricity, fuel gases), water.",
        example="material",
        accepted="material, energy or water",
        required=True,
    )
    name: Text = attr("Name in any language.", example="EAF slag", required=True)
    description: str | None = attr(
        "Free-text description.", example="Black slag from electric arc furnace", max_length=10000
    )
    ewc: str | None = attr(
        "List of Waste (EWC) code.",
        example="100202",
        accepted="six digits of the List of Waste, spaces and a trailing * allowed (10 02 02)",
        code=True,
    )
    quantity: NonNegative | None = attr(
        "Amount per time, in `unit`.",
        example=60000.0,
        accepted="a number >= 0",
    )
    unit: str | None = attr(
        "Unit of `quantity`: a mass, volume or energy per time, or a power.",
        example="t/yr",
        accepted="a rate such as t/yr, kg/day, m3/h, MWh/yr, GJ/month, kW",
    )
    properties: StreamProperties = Field(
        default_factory=StreamProperties, description="Quality and economics."
    )

    @field_validator("ewc", mode="before")
    @classmethod
    def _ewc_as_text(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:06d}"
        if isinstance(v, float) and v.is_integer():
            return f"{int(v):06d}"
        return v

    def canonical_quantity(self) -> float | None:
        """The quantity in the kind's canonical unit (t/yr, m3/h, MWh/yr), if it can be known."""
        if self.quantity is None or self.unit is None:
            return None
        try:
            value = to_canonical(
                self.quantity, self.unit, self.kind, density_t_m3=self.properties.density_t_m3
            )
        except ValueError:
            return None
        return value if value is None or math.isfinite(value) else None


class ParkFile(_Strict):
    """A whole park file: one or more parks with their companies and streams."""

    format: Literal["symbiolink-park/1"] = attr(
        "Format tag.", example=FORMAT, accepted=FORMAT, required=True
    )
    parks: list[Park] = Field(default_factory=list)
    companies: list[Company] = Field(default_factory=list)
    streams: list[Stream] = Field(default_factory=list)

    def to_document(self) -> dict[str, Any]:
        """The park file as a JSON-ready dictionary, with absent optional fields left out."""
        doc = self.model_dump(mode="json", exclude_none=True)
        for stream in doc["streams"]:
            if not stream.get("properties"):
                stream.pop("properties", None)
        return doc

    def company_by_id(self) -> dict[str, Company]:
        return {c.id: c for c in self.companies}

    def park_by_id(self) -> dict[str, Park]:
        return {p.id: p for p in self.parks}

    def location_of(self, company: Company) -> tuple[float, float] | None:
        """A company's coordinates, or its park's where it gives none."""
        if company.lat is not None and company.lon is not None:
            return company.lat, company.lon
        park = self.park_by_id().get(company.park)
        if park is not None and park.lat is not None and park.lon is not None:
            return park.lat, park.lon
        return None
