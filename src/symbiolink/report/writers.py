"""Write a park report as one self-contained HTML file (charts inline, works offline, prints well)
or as an Excel workbook with the same content."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from symbiolink import __version__
from symbiolink.errors import SymbiolinkError
from symbiolink.model.units import CANONICAL_UNIT
from symbiolink.report.build import ReportData, figures
from symbiolink.report.i18n import LANGUAGES, num, t


def render_html(data: ReportData, lang: str = "en") -> str:
    import jinja2
    from markupsafe import Markup

    if lang not in LANGUAGES:
        raise SymbiolinkError(f"language {lang!r} (accepted: {', '.join(LANGUAGES)})")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("symbiolink", "report/templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    charts = [
        fig.to_html(
            full_html=False,
            include_plotlyjs="inline" if n == 0 else False,
            config={"displaylogo": False},
        )
        for n, fig in enumerate(figures(data))
    ]
    flows = [f for f in data.optimum.flows if f["from"] != "external" and f["to"] != "disposal"]
    outcomes = data.assessment.outcomes
    doc = data.assessment.to_dict()
    return env.get_template("report.html.j2").render(
        lang=lang, t=lambda key: t(key, lang), num=lambda x, d=0: num(x, lang, d), park=data.park,
        version=__version__, profile=data.profile, kinds=list(CANONICAL_UNIT.items()),
        opportunities=data.opportunities, optimum=data.optimum, flows=flows, names=data.names,
        charts=[Markup(c) for c in charts], metrics=data.metrics, losses=data.losses,
        frameworks=doc["frameworks"], gaps=data.assessment.gaps, factors=data.factors,
        criteria=[o.criterion for o in outcomes], inf=math.inf,
    )  # fmt: skip


def write_html(data: ReportData, path: str | Path, lang: str = "en") -> Path:
    out = Path(path)
    out.write_text(render_html(data, lang), encoding="utf-8")
    return out


def write_xlsx(data: ReportData, path: str | Path, lang: str = "en") -> Path:
    """The report's tables as sheets: profile, opportunities, network, resilience, assessment, sources."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: list[str], rows: list[list[Any]]) -> None:
        ws = wb.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31])
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            ws.append([_safe(v) for v in row])
        for col in ws.columns:
            width = max(len(str(c.value or "")) for c in col)
            ws.column_dimensions[col[0].column_letter].width = min(60, max(10, width + 2))

    wb.remove(wb.active)  # type: ignore[arg-type]
    p = data.park
    sheet(t("profile", lang), ["field", "value"], [
        ["park", p.name], ["id", p.id], ["province", p.province or ""], ["country", p.country or ""],
        [t("companies", lang), data.profile["companies"]],
        *[[f"{d} {k} ({CANONICAL_UNIT[k]})", q] for d, qs in data.profile["quantities"].items() for k, q in qs.items()],
    ])  # fmt: skip
    sheet(t("opportunities", lang), [t("supply", lang), t("receiver", lang), t("displaces", lang), t("net", lang), t("co2", lang), t("payback", lang)], [
        [data.names.get(i.supply, i.supply), data.names.get(i.receiver, i.receiver), i.product or "",
         float(i.net_benefit_usd_yr or 0.0), float(i.co2e_avoided_t_yr or 0.0),
         None if i.payback_years is None or not math.isfinite(float(i.payback_years)) else float(i.payback_years)]
        for i in data.opportunities
    ])  # fmt: skip
    sheet(t("network", lang), [t("from", lang), t("to", lang), "kind", t("quantity", lang), "unit"], [
        [data.names.get(f["from"], f["from"]), data.names.get(f["to"], f["to"]), f["kind"], f["quantity"], f["unit"]]
        for f in data.optimum.flows
    ])  # fmt: skip
    sheet(t("resilience", lang), [t("company", lang), t("links_lost", lang), t("money_lost", lang), t("co2", lang), "keystone"], [
        [data.names.get(x.company, x.company), x.links_lost, x.money_lost_usd_yr, x.co2e_lost_t_yr, x.company in data.metrics.keystones]
        for x in data.losses
    ])  # fmt: skip
    sheet(t("assessment", lang), ["id", "framework", t("criterion", lang), t("met", lang), t("value", lang), t("threshold", lang), t("source", lang), "evidence", "next steps"], [
        [o.criterion.id, o.criterion.framework, o.criterion.statement,
         "" if o.met is None else ("yes" if o.met else "no"), o.value,
         "" if o.criterion.threshold is None else f"{o.criterion.comparison} {o.criterion.threshold}",
         o.criterion.citation, o.evidence, " | ".join(o.next_steps)]
        for o in data.assessment.outcomes
    ])  # fmt: skip
    sheet(
        t("methods", lang), ["factor", t("source", lang)], [[k, v] for k, v in data.factors.items()]
    )
    out = Path(path)
    wb.save(out)
    return out


def _safe(v: Any) -> Any:
    """Text that a spreadsheet would run as a formula is written as text (a leading quote)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return v


def write_report(data: ReportData, path: str | Path, lang: str = "en") -> Path:
    suffix = Path(path).suffix.lower()
    if suffix in (".html", ".htm"):
        return write_html(data, path, lang)
    if suffix == ".xlsx":
        return write_xlsx(data, path, lang)
    raise SymbiolinkError(f"{path}: a report is .html or .xlsx")
