"""The scorecard chart: Japanese labels drawn with the shipped IPAexGothic font (no system
font needed), counts on the bars, the bottleneck marked, 2× pixel density."""

from __future__ import annotations

import io
import warnings

from matplotlib.ft2font import FT2Font
from PIL import Image

from bot.jobs.scorecards import chart_labels
from bot.slack import charts
from bot.slack.charts import SIZE, ChartLabels, scorecard_png

STEPS = [
    "signed",
    "registered",
    "logged_in",
    "content_downloaded",
    "lead_registered",
    "deal_registered",
    "deal_won",
]
FUNNEL = [
    (k, share, n)
    for k, share, n in zip(
        STEPS, [1, 1, 0.8, 0.6, 0.4, 0.2, 0.1], [10, 10, 8, 6, 4, 2, 1], strict=True
    )
]
RETENTION = [(3, 0.5, 2, 4), (6, None, 0, 0), (12, None, 0, 0)]


def japanese() -> ChartLabels:
    return chart_labels("ja", "2026-W45", STEPS, [3, 6, 12], "deal_registered")


def test_the_japanese_labels_come_from_the_catalog():
    ja = japanese()
    assert ja.title == "パートナースコアカード 2026-W45"
    assert ja.step("logged_in") == "ログイン" and ja.window(6) == "6ヶ月"
    assert ja.retention == "継続利用率(リテンション)" and ja.bottleneck == "ボトルネック"
    en = chart_labels("en", "2026-W45", STEPS, [3], None)
    assert en.title == "Partner scorecard 2026-W45" and en.step("deal_won") == "Won a deal"


def test_the_shipped_font_covers_every_glyph_of_the_japanese_labels():
    path = charts.font_path()
    assert path.is_file() and "matplotlib_fontja" in str(path)  # shipped, not a system font
    cmap = FT2Font(str(path)).get_charmap()
    ja = japanese()
    texts = [ja.title, ja.funnel, ja.retention, ja.bottleneck]
    texts += [label for _, label in ja.steps] + [label for _, label in ja.months]
    texts += ["0123456789%·—←/ "]  # what the bars and their counts add
    missing = {ch for text in texts for ch in text if ord(ch) not in cmap}
    assert missing == set()


def test_a_japanese_chart_renders_without_missing_glyphs_sharp_at_2x():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = scorecard_png(FUNNEL, RETENTION, japanese())
    assert not [w for w in caught if "missing from font" in str(w.message)]
    image = Image.open(io.BytesIO(png))
    # 200 dpi at the displayed size (8 × 3.4 inches): twice Slack's 100 dpi layout.
    assert image.size == (SIZE[0] * 200, int(SIZE[1] * 200))


def test_labels_are_hashable_so_equal_charts_are_drawn_once():
    assert hash(japanese()) == hash(japanese())
    assert ChartLabels().step("deal_won") == "deal won" and ChartLabels().window(3) == "3 mo"
