"""Fixed vocabulary for the demo program: the content catalogue, people and company names.

Kept apart from the simulation so that the generator reads as behaviour, not word lists.
The catalogue is the same for every seed: a partner manager recognises "the onboarding
deck" from one demo to the next, and tests can name assets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoAsset:
    """One catalogue entry; `weight` is its relative popularity (0 = nobody opens it)."""

    key: str
    title: str
    tags: tuple[str, ...]
    weight: float

    @property
    def onboarding(self) -> bool:
        return "onboarding" in self.tags

    @property
    def url(self) -> str:
        return f"https://partners.example.com/content/{self.key}"


ASSETS: tuple[DemoAsset, ...] = (
    DemoAsset("onb-welcome-guide", "Partner welcome guide", ("onboarding",), 6.0),
    DemoAsset("onb-product-overview", "Product overview deck", ("onboarding", "sales"), 9.0),
    DemoAsset("onb-deal-registration", "How to register a deal", ("onboarding",), 4.0),
    DemoAsset("onb-demo-script", "Demo script, 30 minutes", ("onboarding", "sales"), 3.0),
    DemoAsset("onb-ja-quickstart", "パートナー向けクイックスタート", ("onboarding", "ja"), 3.5),
    DemoAsset("sales-battlecard", "Competitive battlecard", ("sales",), 5.0),
    DemoAsset("sales-pricing-2026", "Price list 2026", ("sales", "pricing"), 7.0),
    DemoAsset("sales-roi-calculator", "ROI calculator (xlsx)", ("sales",), 2.5),
    DemoAsset("sales-proposal-template", 'Proposal template, "short" version', ("sales",), 4.5),
    DemoAsset("case-study-retail", "Case study: retail, 120 stores", ("case-study",), 1.5),
    DemoAsset("case-study-manufacturing", "導入事例:製造業", ("case-study", "ja"), 2.0),
    DemoAsset("case-study-saas", "Case study: SaaS scale-up", ("case-study",), 1.2),
    DemoAsset("webinar-q3-recording", "Webinar recording, Q3 launch", ("webinar",), 1.8),
    DemoAsset("tech-integration-guide", "Integration guide, API and SSO", ("technical",), 2.2),
    DemoAsset("tech-security-whitepaper", "Security white paper", ("technical", "security"), 1.6),
    DemoAsset("mkt-co-marketing-kit", "Co-marketing kit: logos and copy", ("marketing",), 1.4),
    DemoAsset("mkt-email-templates", "Email templates for campaigns", ("marketing",), 1.0),
    DemoAsset("training-certification-faq", "Certification FAQ", ("training",), 0.8),
    # Catalogue entries nobody opens: the `never_downloaded` list is never empty in a demo.
    DemoAsset("legacy-brochure-2024", "Brochure 2024 (legacy)", (), 0.0),
    DemoAsset("case-study-public-sector", "Case study: public sector", ("case-study",), 0.0),
)

TIERS: tuple[tuple[str, float], ...] = (
    ("platinum", 0.05),
    ("gold", 0.15),
    ("silver", 0.35),
    ("registered", 0.45),
)

MANAGERS: tuple[str, ...] = tuple(f"U0MGR{n:03d}" for n in range(1, 7))
CS_OWNERS: tuple[str, ...] = tuple(f"U0CS{n:04d}" for n in range(1, 5))

COURSES: tuple[str, ...] = (
    "course-fundamentals",
    "course-sales-certification",
    "course-technical-certification",
    "course-deal-registration",
)

EN_FIRST: tuple[str, ...] = (
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sofia", "Mason",
)  # fmt: skip
EN_LAST: tuple[str, ...] = (
    "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Moore", "Clark",
    "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "O'Neil",
)  # fmt: skip
JA_FAMILY: tuple[tuple[str, str], ...] = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
)  # fmt: skip
JA_GIVEN: tuple[tuple[str, str], ...] = (
    ("健", "ken"), ("翔", "sho"), ("大輔", "daisuke"), ("陽菜", "hina"), ("結衣", "yui"),
    ("拓海", "takumi"), ("美咲", "misaki"), ("直樹", "naoki"), ("花子", "hanako"),
    ("亮", "ryo"), ("彩", "aya"), ("誠", "makoto"),
)  # fmt: skip

EN_COMPANY_A: tuple[str, ...] = (
    "Blue", "Northwind", "Summit", "Harbor", "Granite", "Silver", "Bright", "Pioneer",
    "Atlas", "Redwood", "Cobalt", "Evergreen", "Falcon", "Meridian", "Orbit", "Vertex",
)  # fmt: skip
EN_COMPANY_B: tuple[str, ...] = (
    "Systems", "Solutions", "Consulting", "Networks", "Partners", "Digital", "Cloud",
    "Integrations", "Technologies", "Advisors",
)  # fmt: skip
EN_COMPANY_SUFFIX: tuple[str, ...] = ("Ltd", "Inc.", "LLC", "GmbH", "Pty Ltd", "")
JA_COMPANY: tuple[str, ...] = (
    "東都システム", "さくらソリューションズ", "みなとIT", "富士クラウド", "北斗コンサルティング",
    "青葉ネットワーク", "ひかりデジタル", "大和インテグレーション", "瀬戸内テック", "つばさ情報",
)  # fmt: skip
