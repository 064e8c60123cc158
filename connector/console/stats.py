"""The weekly report on why buyers refund: counts per shop, SKU and reason, a bar chart drawn as
server-side SVG geometry, and the same rows as CSV for the supervisor."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from connector.clock import BEIJING
from connector.console.i18n import Lang, label
from connector.models import Reason
from connector.store import ReasonCount

PALETTE = (
    # Okabe-Ito and Paul Tol's colours, picked so every pair stays apart in plain sight and
    # as deuteranopes and protanopes see them (simulated); the legend names each colour anyway
    # (guarded by tests/console/test_desk_pages.py).
    "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#000000", "#EE99AA",
    "#AA3377", "#332288", "#F0E442", "#999933", "#DDDDDD", "#555555", "#44AA99",
)
REASON_COLOURS = {reason.value: PALETTE[i % len(PALETTE)] for i, reason in enumerate(Reason)}


@dataclass(frozen=True, slots=True)
class Period:
    """Beijing calendar days, both ends included."""

    first: date
    last: date

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=BEIJING)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=BEIJING)

    @classmethod
    def parse(cls, first: str | None, last: str | None, today: date) -> Period:
        """Defaults to the last seven days; a bad date raises ValueError naming it."""
        end = date.fromisoformat(last) if last else today
        start = date.fromisoformat(first) if first else end - timedelta(days=6)
        if start > end:
            msg = f"the period starts ({start}) after it ends ({end})"
            raise ValueError(msg)
        return cls(start, end)


@dataclass(frozen=True, slots=True)
class Bar:
    """One rectangle of the chart (SVG user units) and its labels."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    total: int
    y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    label_width: int
    rows: tuple[Row, ...]
    legend: tuple[tuple[str, str], ...]


ROW_HEIGHT = 26
BAR_HEIGHT = 18
CHART_WIDTH = 760
LABEL_WIDTH = 230


def _chart(
    rows: Sequence[tuple[str, list[tuple[str, int]]]], lang: Lang
) -> Chart:
    """Horizontal stacked bars: each row a label and (reason, count) segments."""
    biggest = max((sum(n for _, n in parts) for _, parts in rows), default=0) or 1
    scale = (CHART_WIDTH - LABEL_WIDTH - 50) / biggest
    out: list[Row] = []
    used: dict[str, str] = {}
    for index, (text, parts) in enumerate(rows):
        y = 10 + index * ROW_HEIGHT
        x = float(LABEL_WIDTH)
        bars = []
        for reason, count in parts:
            width = count * scale
            colour = REASON_COLOURS.get(reason, "#888888")
            name = label(lang, "reason", reason)
            used[name] = colour
            bars.append(Bar(x, y, width, BAR_HEIGHT, colour, f"{name}: {count}"))
            x += width
        out.append(Row(text, sum(n for _, n in parts), y, tuple(bars)))
    height = 20 + max(len(rows), 1) * ROW_HEIGHT
    return Chart(CHART_WIDTH, height, LABEL_WIDTH, tuple(out), tuple(used.items()))


def reason_chart(counts: Sequence[ReasonCount], lang: Lang) -> Chart:
    """Cases per refund reason over all shops and items, most first."""
    totals: dict[str, int] = defaultdict(int)
    for row in counts:
        totals[row.reason] += row.cases
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return _chart([(label(lang, "reason", r), [(r, n)]) for r, n in ordered], lang)


def sku_chart(counts: Sequence[ReasonCount], lang: Lang, top: int = 12) -> Chart:
    """The items refunded most, each bar split by reason (what to fix first)."""
    per_item: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    titles: dict[tuple[str, str], str] = {}
    for row in counts:
        key = (row.shop_id, row.sku)
        per_item[key][row.reason] += row.cases
        titles[key] = row.item_title
    ordered = sorted(per_item.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:top]
    rows = [
        (f"{shop} · {sku}", sorted(parts.items(), key=lambda kv: (-kv[1], kv[0])))
        for (shop, sku), parts in ordered
    ]
    return _chart(rows, lang)


CSV_COLUMNS = (
    "period_first_day",
    "period_last_day",
    "platform",
    "shop_id",
    "sku",
    "item_title",
    "reason",
    "reason_label",
    "cases",
    "refund_amount_fen",
)


def to_csv(counts: Sequence[ReasonCount], period: Period, lang: Lang) -> str:
    """UTF-8 CSV with a byte-order mark so spreadsheet programs read the Chinese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in counts:
        writer.writerow(
            [
                period.first.isoformat(),
                period.last.isoformat(),
                row.platform,
                row.shop_id,
                row.sku,
                row.item_title,
                row.reason,
                label(lang, "reason", row.reason),
                row.cases,
                row.refund_amount,
            ]
        )
    return "\ufeff" + buffer.getvalue()
