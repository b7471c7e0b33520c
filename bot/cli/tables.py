"""The KPI report for people: Rich tables at a terminal, and CSV for their spreadsheets.

Long lists are cut to `LIMIT` rows with a note; `--format csv|json` always has everything.

People read names: partners, reps and assets are shown by name (an asset by its title),
through a `Namer`; `prm kpi --keys` adds each one's key beside it, dimmed. Every name
and key goes into a table as a `Text`, never as a string, so a partner called
"[bold red]Acme" is printed as typed and cannot inject Rich markup. `render` is run twice
by `bot.cli.kpi_cmd`: once with a recording `Namer` to learn which keys are on screen (only
those are looked up, however large the cohort), once with their names.

`csv_report` is the CSV `prm kpi --format csv` prints (the long rows of `bot.cli.flat`),
made safe to open in a spreadsheet: a cell that a spreadsheet would run as a formula
(`=HYPERLINK(…)`, `@SUM(…)`, `+cmd|…`) is written with a leading `'`, as OWASP recommends
for CSV injection. Numbers are left alone, so `-5` and `-0.25` stay numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.cli import flat
from bot.core.numbers import NULL, count, days, money, number, pct
from bot.kpi.registry import EXTRA_KPIS, KPI_NAMES, KPIS

LIMIT = 15

# The characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection"):
# = + - @, and tab and carriage return, which some spreadsheets skip before looking.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CSV_SPECIAL = (",", '"', "\r", "\n")
_PLAIN_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def spreadsheet_safe(cell: str) -> str:
    """The cell as a spreadsheet should show it: a would-be formula gets a leading `'`.

    A plain decimal number (`-5`, `-0.25`, `-1e-05`) is not a formula and is left as it is.
    """
    if cell.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def csv_line(cells: tuple[str, ...] | list[str]) -> str:
    """One CSV record (RFC 4180 quoting, `\\n` ending), every cell `spreadsheet_safe`.

    Written by hand because the csv module, with a `\\n` line terminator, leaves a cell with a
    carriage return unquoted, which splits the row in two for every reader.
    """
    out = []
    for cell in map(spreadsheet_safe, cells):
        if any(c in cell for c in _CSV_SPECIAL):
            cell = '"' + cell.replace('"', '""') + '"'
        out.append(cell)
    return ",".join(out) + "\n"


def csv_report(sections: dict[str, dict[str, Any]]) -> str:
    """`flat`'s long rows `kpi,item,metric,value` as CSV for spreadsheets (`csv_line`).

    `sections` maps a KPI name (or "report" for the header fields) to its object.
    """
    lines = [csv_line(flat.HEADER)]
    for kpi, obj in sections.items():
        lines.extend(csv_line(row) for row in flat.rows(kpi, obj))
    return "".join(lines)


@dataclass
class Namer:
    """Names for the keys a table shows (a key without a known name shows as itself).

    `wanted` records every key asked for, by kind, so a first rendering learns what to look
    up. `show_keys` (`prm kpi --keys`) puts the key, dimmed, after each name.
    """

    partners: Mapping[str, str | None] = field(default_factory=dict)
    reps: Mapping[str, str | None] = field(default_factory=dict)
    assets: Mapping[str, str | None] = field(default_factory=dict)
    show_keys: bool = False
    currency: str = "USD"
    min_leads: int = 0  # "top reps" need this many leads (PRM_COACHING_MIN_LEADS)
    wanted: dict[str, set[str]] = field(
        default_factory=lambda: {"partners": set(), "reps": set(), "assets": set()}
    )

    def _name(self, kind: str, names: Mapping[str, str | None], key: str) -> Text:
        self.wanted[kind].add(key)
        name = names.get(key) or key
        if self.show_keys and name != key:
            return Text.assemble(name, (f"  {key}", "dim"))
        return Text(name)

    def partner(self, key: str) -> Text:
        return self._name("partners", self.partners, key)

    def rep(self, key: str) -> Text:
        return self._name("reps", self.reps, key)

    def asset(self, key: str) -> Text:
        return self._name("assets", self.assets, key)

    def money(self, value: Any) -> str:
        return money(value, self.currency, "en")


def names_in(keys: Collection[str], namer: Callable[[str], Text]) -> Text:
    return Text(", ").join(namer(k) for k in keys)


def _more(total: int, shown: int) -> list[RenderableType]:
    if total > shown:
        return [Text(f"… and {total - shown:,} more (--format csv lists them all)", style="dim")]
    return []


def _keys(title: str, keys: list[str], namer: Callable[[str], Text]) -> Text:
    shown = names_in(keys[:LIMIT], namer) if keys else Text(NULL)
    extra = f" … and {len(keys) - LIMIT:,} more" if len(keys) > LIMIT else ""
    return Text.assemble((f"{title} ({len(keys):,}): ", "bold"), shown, extra)


def header(report: dict[str, Any]) -> Text:
    period = report["period"]
    return Text.assemble(
        ("PRM KPIs", "bold"),
        f" as of {report['as_of']}\n",
        f"period [{period['from']}, {period['to']})  ·  ",
        (f"cohort {count(report['cohort_size'])} partners", "bold"),
    )


def funnel(obj: dict[str, Any], names: Namer) -> RenderableType:
    table = Table()
    table.add_column("step", no_wrap=True)
    for col in ("reached", "step rate", "cumulative", "stuck here", "median days stuck"):
        table.add_column(col, justify="right")
    bottleneck = shown_bottleneck(obj)
    for step in obj["steps"]:
        is_bottleneck = step["key"] == bottleneck
        table.add_row(
            step["key"] + (" ◀" if is_bottleneck else ""),
            count(step["reached"]),
            pct(step["step_rate"]),
            pct(step["cumulative_rate"]),
            count(step["stuck"]),
            days(step.get("stuck_median_days")),
            style="bold yellow" if is_bottleneck else None,
        )
    if bottleneck is None and obj["bottleneck"] is not None:
        return Group(table, Text("No bottleneck: no step loses partners.", style="bold"))
    return Group(table, Text.assemble(("◀ Bottleneck: ", "bold"), bottleneck or NULL))


def shown_bottleneck(obj: dict[str, Any]) -> str | None:
    """The spec's bottleneck, unless its step keeps everyone (100 %): then nothing drops."""
    rates = {s["key"]: s["step_rate"] for s in obj["steps"]}
    key = obj["bottleneck"]
    rate_ = rates.get(key) if key else None
    return key if rate_ is not None and rate_ < 1 else None


def content(obj: dict[str, Any], names: Namer) -> RenderableType:
    summary = Text(
        f"downloads {count(obj['downloads'])} · unique users {count(obj['unique_users'])} · "
        f"unique partners {count(obj['unique_partners'])} · "
        f"onboarding reach {pct(obj['onboarding_reach'])}"
    )
    table = Table()
    table.add_column("asset")
    table.add_column("downloads", justify="right")
    table.add_column("unique users", justify="right")
    for asset in obj["assets"][:LIMIT]:
        table.add_row(
            names.asset(asset["key"]), count(asset["downloads"]), count(asset["unique_users"])
        )
    return Group(
        table,
        *_more(len(obj["assets"]), LIMIT),
        summary,
        _keys("Never downloaded", obj["never_downloaded"], names.asset),
    )


def deals(obj: dict[str, Any], names: Namer) -> RenderableType:
    summary = Text(
        f"registered {count(obj['registered'])} · activated {count(obj['activated'])} "
        f"({pct(obj['activation_rate'])}) · newly activated {count(obj['newly_activated'])}"
    )
    busiest = sorted(obj["by_partner"], key=lambda p: (-p["registered"], p["key"]))
    busiest = [p for p in busiest if p["registered"]]
    table = Table()
    table.add_column("partner")
    table.add_column("deals registered", justify="right")
    for partner in busiest[:LIMIT]:
        table.add_row(names.partner(partner["key"]), count(partner["registered"]))
    return Group(
        table,
        *_more(len(busiest), LIMIT),
        summary,
        _keys("Last push — not activated", obj["not_activated"], names.partner),
    )


def reps(obj: dict[str, Any], names: Namer) -> RenderableType:
    summary = Text(
        f"leads per rep {number(obj['per_rep_leads'], 2)} · deals per rep "
        f"{number(obj['per_rep_deals'], 2)} · active reps {count(obj['active_reps'])} of "
        f"{count(len(obj['reps']))} · top 20 % of reps carry {pct(obj['top20_deal_share'])} "
        "of deals"
    )

    def rep_table(title: str, people: list[dict[str, Any]]) -> Table:
        table = Table(title=title, title_justify="left")
        for col in ("rep", "partner", "leads", "deals", "conversion"):
            table.add_column(
                col, justify="right" if col in ("leads", "deals", "conversion") else "left"
            )
        for rep in people[:LIMIT]:
            table.add_row(
                names.rep(rep["key"]),
                names.partner(rep["partner_key"]),
                count(rep["leads"]),
                count(rep["deals"]),
                pct(rep["conversion"]) + (" †" if over_100(rep) else ""),
            )
        return table

    top = sorted(obj["reps"], key=lambda r: (-r["deals"], -r["leads"], r["key"]))
    active = [r for r in top if r["leads"] or r["deals"]]
    top = [r for r in active if r["deals"] and r["leads"] >= names.min_leads]
    left_out = len(active) - len(top)
    coaching = [r for r in obj["reps"] if r["needs_coaching"]]
    coaching.sort(key=lambda r: (r["conversion"] or 0, -r["leads"], r["key"]))
    title = "Top reps in the period"
    if names.min_leads:
        title += f" (at least {names.min_leads:,} leads)"
    parts: list[RenderableType] = [rep_table(title, top), *_more(len(top), LIMIT)]
    if left_out and names.min_leads:
        parts.append(
            Text(f"{left_out:,} more active reps have fewer leads and are not ranked", style="dim")
        )
    if any(over_100(r) for r in [*top[:LIMIT], *coaching[:LIMIT]]):
        parts.append(
            Text("† more deals than leads: some deals were registered without a lead", style="dim")
        )
    parts.append(summary)
    if coaching:
        parts += [rep_table("Needs coaching (many leads, low conversion)", coaching)]
        parts += _more(len(coaching), LIMIT)
    else:
        parts.append(Text.assemble(("Needs coaching: ", "bold"), "nobody"))
    return Group(*parts)


def over_100(rep: dict[str, Any]) -> bool:
    return bool(rep["leads"]) and rep["deals"] > rep["leads"]


def retention(obj: dict[str, Any], names: Namer) -> RenderableType:
    table = Table()
    for col in ("months", "eligible", "retained", "rate"):
        table.add_column(col, justify="right")
    for window in obj["windows"]:
        table.add_row(
            str(window["months"]),
            count(window["eligible"]),
            count(window["retained"]),
            pct(window["rate"]),
        )
    return Group(table, _keys("Dormant (no activity in 30 days)", obj["dormant"], names.partner))


def nudge_lift(obj: dict[str, Any], names: Namer) -> RenderableType:
    table = Table()
    for col in ("group", "reps", "completed", "rate"):
        table.add_column(col, justify="right")
    for group in ("nudged", "holdout"):
        table.add_row(
            group,
            count(obj[group]["reps"]),
            count(obj[group]["completed"]),
            pct(obj[group]["rate"]),
        )
    lift = "—" if obj["lift"] is None else f"{obj['lift'] * 100:+.1f} pt"
    lines = [Text(f"lift over {obj['window_days']} days: {lift}")]
    ci = obj.get("ci95")
    if ci:
        lines.append(
            Text(
                f"95 % always-valid interval: {ci['low'] * 100:+.1f} to {ci['high'] * 100:+.1f} pt"
            )
        )
    srm = obj.get("srm") or {}
    if srm.get("p_value") is not None:
        lines.append(
            Text(
                f"sample ratio: holdout {pct(srm['observed_holdout_share'])} of reps, "
                f"{pct(srm['expected_holdout_share'])} expected (p = {srm['p_value']:.3g})"
                + ("" if srm["ok"] else " — the split is off"),
            )
        )
    verdicts = {
        "not_enough_data": f"not enough data yet (n = {count(obj.get('n', 0))})",
        "split_off": "the arms are not the configured split: do not trust the lift",
        "helps": "nudges help",
        "hurts": "nudges do worse than no nudge",
        "unclear": "no clear difference yet",
    }
    if obj.get("verdict"):
        lines.append(Text(f"verdict: {verdicts.get(obj['verdict'], obj['verdict'])}", style="bold"))
    return Group(table, *lines)


def pipeline(obj: dict[str, Any], names: Namer) -> RenderableType:
    summary = Text(
        f"registered {count(obj['registered_deals'])} deals worth "
        f"{names.money(obj['registered_amount'])} · won {count(obj['won_deals'])} worth "
        f"{names.money(obj['won_amount'])} · win rate {pct(obj['win_rate'])}"
    )
    biggest = sorted(
        (p for p in obj["by_partner"] if p["registered_amount"] or p["won_amount"]),
        key=lambda p: (-p["won_amount"], -p["registered_amount"], p["key"]),
    )
    table = Table()
    table.add_column("partner")
    for col in ("registered", "won", "won deals"):
        table.add_column(col, justify="right")
    for partner in biggest[:LIMIT]:
        table.add_row(
            names.partner(partner["key"]),
            names.money(partner["registered_amount"]),
            names.money(partner["won_amount"]),
            count(partner["won_deals"]),
        )
    parts: list[RenderableType] = [table, *_more(len(biggest), LIMIT), summary]
    if obj["missing_amount"]:
        parts.append(
            Text(
                f"{count(obj['missing_amount'])} deal events in the period have no amount "
                "(counted as 0 in the sums)",
                style="dim",
            )
        )
    return Group(*parts)


def health(obj: dict[str, Any], names: Namer) -> RenderableType:
    """The partners whose score fell most this week first: what CS should look at."""
    ranked = sorted(
        obj["partners"],
        key=lambda p: (p["change_7d"]["points"] or 0, p["score"], p["key"]),
    )
    table = Table()
    table.add_column("partner")
    for col in ("score", "7 days", "30 days"):
        table.add_column(col, justify="right")
    table.add_column("what moved it this week")

    def change(c: dict[str, Any]) -> str:
        return NULL if c["points"] is None else f"{c['points']:+.1f}"

    for p in ranked[:LIMIT]:
        table.add_row(
            names.partner(p["key"]),
            f"{p['score']:.1f}",
            change(p["change_7d"]),
            change(p["change_30d"]),
            "; ".join(r["text"] for r in p["change_7d"]["reasons"][:3]) or NULL,
        )
    weights = ", ".join(f"{k} {v:g}" for k, v in obj["weights"].items())
    return Group(
        table,
        *_more(len(ranked), LIMIT),
        Text(f"weights: {weights} · CS hears of a drop of {obj['drop_alert']:g}+ in 7 days"),
        _keys("Dropped this week", obj["dropped_7d"], names.partner),
    )


def _needs(missing: dict[str, Any], names: Namer) -> str:
    """`{"won_deals_12m": 2, "certified_reps": 1}` → "2 won deals (12 mo), 1 certified rep"."""
    words = {
        "won_deals_12m": ("won deal (12 mo)", "won deals (12 mo)"),
        "deals_registered_12m": ("deal registered (12 mo)", "deals registered (12 mo)"),
        "leads_registered_12m": ("lead (12 mo)", "leads (12 mo)"),
        "certified_reps": ("certified rep", "certified reps"),
        "active_months_3m": ("active month of the last 3", "active months of the last 3"),
    }
    parts = []
    for measure, value in missing.items():
        if measure == "won_amount_12m":
            parts.append(f"{names.money(value)} more won (12 mo)")
        else:
            one, many = words.get(measure, (measure, measure))
            shown = count(value) if isinstance(value, int) else number(value)
            parts.append(f"{shown} more {one if value == 1 else many}")
    return ", ".join(parts) or NULL


def tiers(obj: dict[str, Any], names: Namer) -> RenderableType:
    levels = Table()
    for col in ("tier", "qualifying", "assigned"):
        levels.add_column(col, justify="right" if col != "tier" else "left")
    for level in obj["levels"]:
        levels.add_row(level["key"], count(level["qualifying"]), count(level["assigned"]))
    # Those closest to their next tier first: what a manager can move this quarter.
    climbing = sorted(
        (p for p in obj["partners"] if p["next"]),
        key=lambda p: (len(p["missing"]), p["key"]),
    )
    table = Table()
    for col in ("partner", "assigned", "qualifies", "next", "still needed"):
        table.add_column(col)
    for p in climbing[:LIMIT]:
        table.add_row(
            names.partner(p["key"]),
            p["assigned"] or NULL,
            p["qualifies"] or NULL,
            p["next"],
            _needs(p["missing"], names),
        )
    changes = obj["changes"]
    return Group(
        levels,
        table,
        *_more(len(climbing), LIMIT),
        _keys("Qualify above their assigned tier", changes["up"], names.partner),
        _keys("Qualify below their assigned tier", changes["down"], names.partner),
    )


# The panel titles: the registry's titles, the spec's five numbered in their order.
TITLES: dict[str, str] = {
    **{name: f"{i} · {KPIS[name].title}" for i, name in enumerate(KPI_NAMES, start=1)},
    **{name: kpi.title for name, kpi in EXTRA_KPIS.items()},
}

SECTIONS: dict[str, Callable[[dict[str, Any], Namer], RenderableType]] = {
    "funnel": funnel,
    "content": content,
    "deals": deals,
    "reps": reps,
    "retention": retention,
    "pipeline": pipeline,
    "tiers": tiers,
    "nudge_lift": nudge_lift,
    "health": health,
}


def render(
    report: dict[str, Any], names: tuple[str, ...], namer: Namer | None = None
) -> RenderableType:
    """The KPIs `names` of `report` as panels; without a `namer`, keys stand for names."""
    namer = namer or Namer()
    parts: list[RenderableType] = [header(report)]
    for name in names:
        body = SECTIONS[name](report[name], namer)
        parts.append(
            Panel(body, title=TITLES[name], title_align="left", expand=False, border_style="dim")
        )
    return Group(*parts)
