"""The scorecard's one chart: journey funnel and 3/6/12-month retention, as a PNG.

Labels are the step keys and "3 mo" etc. in both languages: the machine may have no CJK
font, and a chart of tofu boxes is worse than a chart in plain keys.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

from matplotlib.figure import Figure

BLUE, GREEN, GREY = "#2563eb", "#059669", "#9ca3af"


def scorecard_png(
    steps: list[tuple[str, float | None]],
    retention: list[tuple[int, float | None]],
    title: str,
) -> bytes:
    """`steps`: (step key, share of signed partners that reached it); `retention`:
    (months, rate). None (no data) is drawn as an empty grey bar."""
    fig = Figure(figsize=(8, 3.2), dpi=100)
    funnel_ax, retention_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    labels = [key.replace("_", " ") for key, _ in steps][::-1]
    values = [(v or 0) * 100 for _, v in steps][::-1]
    bars = funnel_ax.barh(labels, values, color=BLUE)
    for bar, value in zip(bars, values, strict=True):
        funnel_ax.text(
            bar.get_width() + 1,
            bar.get_y() + bar.get_height() / 2,
            f"{value:.0f}%",
            va="center",
            fontsize=8,
        )
    funnel_ax.set_xlim(0, 115)
    funnel_ax.set_title("Journey: % of partners reaching each step", fontsize=9)
    funnel_ax.tick_params(labelsize=8)

    names = [f"{m} mo" for m, _ in retention]
    rates = [(r or 0) * 100 for _, r in retention]
    colors = [GREEN if r is not None else GREY for _, r in retention]
    retention_ax.bar(names, rates, color=colors)
    for i, (_, r) in enumerate(retention):
        retention_ax.text(
            i, (r or 0) * 100 + 2, "—" if r is None else f"{r * 100:.0f}%", ha="center", fontsize=8
        )
    retention_ax.set_ylim(0, 115)
    retention_ax.set_title("Retention", fontsize=9)
    retention_ax.tick_params(labelsize=8)
    fig.suptitle(title, fontsize=10)
    # Fixed margins instead of tight_layout() (a third of the drawing time), and fast PNG
    # compression: a scorecard chart is drawn for every manager every week.
    fig.subplots_adjust(left=0.17, right=0.98, bottom=0.1, top=0.82, wspace=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()
