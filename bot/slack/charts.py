"""The scorecard's one chart: journey funnel and 3/6/12-month retention, as a PNG.

Labels are in the reader's language (the caller passes them, translated by the scorecard
template). Japanese needs a CJK font, and a server may have none: the chart uses the
IPAexGothic font shipped in the `matplotlib-fontja` package, registered by its path (the
package itself is not imported: importing it changes matplotlib's global settings).
Bars carry their counts, the bottleneck step is marked, and the PNG is drawn at 200 dpi
for its displayed size, so it stays sharp on Slack's high-density screens.
"""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

from matplotlib import font_manager
from matplotlib.figure import Figure

BLUE, GREEN, GREY, RED = "#2563eb", "#059669", "#9ca3af", "#dc2626"
FONT_FAMILY = "IPAexGothic"
DPI = 200  # 2× a 100 dpi display size: sharp on retina screens, still a small file
SIZE = (8, 3.4)  # inches at the displayed size
TICKS = (0, 25, 50, 75, 100)


@cache
def font_path() -> Path:
    """The shipped IPAexGothic file (matplotlib-fontja), found without importing it."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib-fontja is not installed: it ships the chart's CJK font")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"


@cache
def register_font() -> str:
    """Adds the shipped font to matplotlib's font manager (once); its family name."""
    font_manager.fontManager.addfont(str(font_path()))
    return FONT_FAMILY


@dataclass(frozen=True)
class ChartLabels:
    """What the chart says, in the reader's language (English by default), and which step
    is the bottleneck. Hashable: equal inputs draw equal charts."""

    title: str = "Partner scorecard"
    funnel: str = "Journey: partners reaching each step"
    retention: str = "Retention"
    bottleneck: str = "Bottleneck"
    steps: tuple[tuple[str, str], ...] = ()
    months: tuple[tuple[int, str], ...] = ()
    bottleneck_step: str | None = None

    def step(self, key: str) -> str:
        return dict(self.steps).get(key) or key.replace("_", " ")

    def window(self, months: int) -> str:
        return dict(self.months).get(months) or f"{months} mo"


def scorecard_png(
    steps: list[tuple[str, float | None, int]],
    retention: list[tuple[int, float | None, int, int]],
    labels: ChartLabels | None = None,
) -> bytes:
    """`steps`: (step key, share of signed partners that reached it, partners reached);
    `retention`: (months, rate, retained, eligible). A window nobody is old enough for is
    drawn as an empty grey bar marked "—"."""
    labels = labels or ChartLabels()
    bottleneck = labels.bottleneck_step
    family = register_font()
    fig = Figure(figsize=SIZE, dpi=DPI)
    funnel_ax, retention_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    ordered = steps[::-1]
    names = [labels.step(key) for key, _, _ in ordered]
    values = [(v or 0) * 100 for _, v, _ in ordered]
    colors = [RED if key == bottleneck else BLUE for key, _, _ in ordered]
    bars = funnel_ax.barh(names, values, color=colors)
    for bar, value, (key, _, reached) in zip(bars, values, ordered, strict=True):
        text = f"{reached:,} · {value:.0f}%"
        if key == bottleneck:
            text += f"  ← {labels.bottleneck}"
        funnel_ax.text(
            bar.get_width() + 1,
            bar.get_y() + bar.get_height() / 2,
            text,
            va="center",
            fontsize=7.5,
            family=family,
            color=RED if key == bottleneck else "black",
        )
    funnel_ax.set_xlim(0, 135)  # room for the counts and the bottleneck mark
    funnel_ax.set_xticks(TICKS, [f"{t}%" for t in TICKS])
    funnel_ax.set_title(labels.funnel, fontsize=9, family=family)
    funnel_ax.tick_params(labelsize=8)
    for tick in funnel_ax.get_yticklabels():
        tick.set_family(family)

    windows = [labels.window(m) for m, _, _, _ in retention]
    rates = [(r or 0) * 100 for _, r, _, _ in retention]
    retention_ax.bar(
        windows, rates, color=[GREEN if r is not None else GREY for _, r, _, _ in retention]
    )
    for i, (_, r, retained, eligible) in enumerate(retention):
        text = "—" if r is None else f"{r * 100:.0f}%\n{retained}/{eligible}"
        retention_ax.text(i, (r or 0) * 100 + 2, text, ha="center", fontsize=7.5, family=family)
    retention_ax.set_ylim(0, 130)
    retention_ax.set_yticks(TICKS, [f"{t}%" for t in TICKS])
    retention_ax.set_title(labels.retention, fontsize=9, family=family)
    retention_ax.tick_params(labelsize=7)
    for tick in retention_ax.get_xticklabels():
        tick.set_family(family)
    fig.suptitle(labels.title, fontsize=10, family=family)
    # Fixed margins instead of tight_layout() (a third of the drawing time), and fast PNG
    # compression: a scorecard chart is drawn for every manager every week.
    fig.subplots_adjust(left=0.2, right=0.98, bottom=0.1, top=0.82, wspace=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()
