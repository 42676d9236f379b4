"""Deriving deal records from a story's reports: roles, kind, status, and which figures count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clustering.facts.vocabulary import is_demonym
from bot.ledger import (
    STATUS_CONFIRMED,
    STATUS_ENDED,
    STATUS_TALKS,
    LedgerReport,
    derive_deal,
    is_deal,
)
from bot.ledger.derive import (
    a_description,
    a_fragment,
    a_person,
    a_product,
    a_project,
    deal_kind,
    only_an_owner,
    sentence_roles,
)

T0 = datetime(2025, 5, 13, 12, 0, tzinfo=UTC)


def _report(outlet: str, title: str, summary: str = "", hours: int = 0) -> LedgerReport:
    return LedgerReport(
        outlet=outlet,
        link=f"https://{outlet.lower().replace(' ', '')}.example/a",
        title=title,
        summary=summary,
        published=T0 + timedelta(hours=hours),
    )


def test_roles_follow_the_verbs_between_parties() -> None:
    parties = ["Nvidia", "Humain", "Macquarie", "Applied Digital", "Blackstone", "AirTrunk"]
    assert set(
        sentence_roles("Nvidia to sell 18,000 AI chips to Saudi Arabia's Humain", parties)
    ) == {
        ("Nvidia", "seller"),
        ("Humain", "buyer"),
    }
    assert set(
        sentence_roles("Applied Digital secures up to $5 billion from Macquarie", parties)
    ) == {("Applied Digital", "seller"), ("Macquarie", "buyer")}
    assert set(sentence_roles("Blackstone to buy data center operator AirTrunk", parties)) == {
        ("Blackstone", "buyer"),
        ("AirTrunk", "seller"),
    }
    # a deal "with" someone says nothing about who pays
    assert sentence_roles("Nvidia signs a deal with Humain", parties) == []


def test_roles_read_the_verbs_direction_subject_and_lists() -> None:
    parties = ["Nvidia", "Mistral", "Microsoft", "Inflection AI", "CoreWeave", "Galaxy Digital"]
    # the subject of "back" is Nvidia's chief, not Nvidia
    assert sentence_roles("Nvidia's Huang and Macron back Mistral's push", parties) == []
    # parties listed together share a role
    assert set(
        sentence_roles(
            "Inflection AI raises $1.3 billion from Microsoft, Nvidia and others", parties
        )
    ) == {("Inflection AI", "seller"), ("Microsoft", "buyer"), ("Nvidia", "buyer")}
    # who raises money is paid for what it sells, lender named or not
    assert sentence_roles("CoreWeave raises $2.3 billion in debt", parties) == [
        ("CoreWeave", "seller")
    ]
    assert set(
        sentence_roles("CoreWeave takes extra 260MW at Galaxy Digital's Helios", parties)
    ) == {
        ("CoreWeave", "buyer"),
        ("Galaxy Digital", "seller"),
    }
    others = ["AEP", "Bloom Energy", "Meta", "Vistra", "Dell", "xAI", "Google", "Elementl"]
    assert set(sentence_roles("AEP to buy up to 1 GW of Bloom Energy fuel cells", others)) == {
        ("AEP", "buyer"),
        ("Bloom Energy", "seller"),
    }
    # "power" here is a noun: the deal names no direction
    assert sentence_roles("Meta signs nuclear power deals with Vistra", others) == []
    # the one tapped is the supplier
    assert set(sentence_roles("Dell gains after being tapped for xAI's supercomputer", others)) == {
        ("Dell", "seller"),
        ("xAI", "buyer"),
    }
    # money provided is paid by its provider
    assert set(sentence_roles("Google will provide early capital for Elementl", others)) == {
        ("Google", "buyer"),
        ("Elementl", "seller"),
    }


def test_roles_are_those_of_the_deals_kind() -> None:
    # an investment that comes with a cloud contract the other way
    record = derive_deal(
        4,
        "Amazon to invest up to $4 billion in Anthropic",
        [
            _report("Reuters", "Amazon to invest up to $4 billion in AI startup Anthropic"),
            _report(
                "Verge",
                "Anthropic picks AWS as its main cloud in exchange for up to $4 billion "
                "from Amazon",
                hours=1,
            ),
        ],
    )
    assert record.kind == "financing"
    assert record.buyers == ("Amazon",) and record.sellers == ("Anthropic",)
    # a lead that describes its subject is about the title's first party
    power = derive_deal(
        5,
        "Oklo signs power deal with Switch",
        [
            _report(
                "Reuters",
                "Oklo signs 12-gigawatt power deal with data center operator Switch",
                "The nuclear startup agreed to supply Switch with power from its reactors.",
            )
        ],
    )
    assert power.buyers == ("Switch",) and power.sellers == ("Oklo",)


def test_people_places_products_and_projects_are_not_organisations() -> None:
    assert all(is_demonym(w) for w in ("Emirati", "Japanese", "Indian", "French", "Saudi"))
    assert not any(is_demonym(w) for w in ("Japan", "Taiwan", "Anthropic", "Humain", "Switch"))
    assert a_description("Hyperscale Data Centers") and a_description("Texas AI Data Center")
    assert a_description("French AI")
    assert not a_description("Vantage Data Centers")
    assert not a_description("American Electric Power")
    assert a_person("Sheikh Mohamed", [], frozenset())
    assert a_person("Macron", ["Jensen Huang and President Macron said at VivaTech"], frozenset())
    assert a_person("Elon Musk", [], frozenset({"musk"}))  # "Musk" alone elsewhere
    assert not a_person("Mistral", ["Mistral CEO Arthur Mensch said"], frozenset())
    assert a_product("Claude", ["Anthropic releases Claude 3.5 Sonnet"])
    assert a_product("Grok", ["xAI rents Oracle capacity for next Grok models"])
    assert a_product("Trainium2", [])
    assert not a_product("Meta", ["Meta will have 350,000 Nvidia H100s", "Meta 2024 plans"])
    assert not a_product("Nvidia", ["Meta buys Nvidia chips"])  # hardware is called so too
    assert a_project("Project Ceiba", [])
    assert a_project("Stargate Norway", ["OpenAI announces 'Stargate Norway' with Nscale"])
    assert not a_project("OpenAI", ["under OpenAI's 'OpenAI for Countries' program"])
    names = ["Jed McCaleb", "Navigation Fund", "Sharp", "Sakai", "SoftBank"]
    assert only_an_owner("Jed McCaleb", ["funded by Jed McCaleb's Navigation Fund"], names)
    # a company's factory sold: the owner is the seller
    assert not only_an_owner("Sharp", ["SoftBank to buy Sharp's Sakai factory"], names)
    texts = ["Crusoe, Blue Owl form venture", "Blue Owl Real Assets will fund it"]
    assert a_fragment("Owl", texts, ["Blue Owl Real Assets", "Owl"])
    texts = ["Microsoft rents GPUs from Nvidia-backed CoreWeave", "CoreWeave sells H100s"]
    assert not a_fragment("CoreWeave", texts, ["Nvidia-backed CoreWeave", "CoreWeave"])


def test_a_sovereign_deals_people_and_demonyms_are_not_its_parties() -> None:
    record = derive_deal(
        2,
        "UAE to invest in French AI campus",
        [
            _report(
                "Reuters",
                "UAE to invest up to 50 billion euros in AI data center campus in France",
                "France and the UAE agreed to build a 1-gigawatt AI campus, with Emirati "
                "investment of up to 50 billion euros, after talks between President Macron "
                "and Sheikh Mohamed bin Zayed.",
            )
        ],
    )
    assert not {"Emirati", "Macron", "President Macron", "Sheikh Mohamed", "Zayed"} & set(
        record.parties
    )


def test_kind_prefers_the_stake_over_what_it_pays_for() -> None:
    # the titles of the five reports of Microsoft's January 2023 investment in OpenAI
    sentences = [
        ("Microsoft weighs $10 billion bet on ChatGPT creator OpenAI", 3.0),
        ("Microsoft Makes Multibillion-Dollar Investment in OpenAI", 3.0),
        ("Microsoft confirms new OpenAI investment and keeps Azure as its exclusive cloud", 3.0),
        ("Microsoft to expand Azure supercomputers for OpenAI under renewed deal", 3.0),
        ("Much of Microsoft's OpenAI money will flow back into Azure", 3.0),
    ]
    assert deal_kind(sentences) == "financing"
    assert deal_kind([("Oklo signs 12-gigawatt nuclear power deal with Switch", 3.0)]) == "power"
    assert deal_kind([("Nothing to see here today at all", 3.0)]) == "other"


def test_agreeing_reports_are_counted_and_disagreeing_ones_shown_as_a_range() -> None:
    record = derive_deal(
        7,
        "Galaxy Digital expands AI data center lease with CoreWeave",
        [
            _report("Reuters", "Galaxy Digital leases 260 megawatts to CoreWeave in Texas"),
            _report("DCD", "CoreWeave leases 260MW from Galaxy Digital at Helios", hours=1),
            _report("Blog", "CoreWeave leases 300MW from Galaxy Digital at Helios", hours=2),
        ],
    )
    assert record.power_mw.counted is None  # 300 MW is more than 5% from 260 MW
    assert (record.power_mw.low, record.power_mw.high) == (260, 300)
    assert record.power_mw.low_outlets == ("Reuters", "DCD")
    assert record.power_mw.high_outlets == ("Blog",)
    assert record.kind == "lease"
    assert record.buyers == ("CoreWeave",) and record.sellers == ("Galaxy Digital",)
    agreed = derive_deal(
        7, "x", [_report("Reuters", "Galaxy Digital leases 260 megawatts to CoreWeave")]
    )
    assert agreed.power_mw.counted == 260


def test_other_currencies_and_yearly_amounts_are_shown_as_given_never_converted() -> None:
    record = derive_deal(
        3,
        "Core Scientific to host CoreWeave",
        [
            _report("DCD", "Nvidia to pay Lambda $325 million a year to lease back its GPUs"),
            _report("AFR", "Fluidstack signs €10bn supercomputer deal with France", hours=1),
        ],
    )
    assert record.value_usd.counted is None and not record.value_usd.claims
    given = {(c.outlet, c.text) for c in record.value_as_given}
    assert given == {("DCD", "$325 million"), ("AFR", "€10bn")}
    assert all(c.value in (325e6, 10e9) for c in record.value_as_given)  # as stated, unconverted


def test_totals_tranches_estimates_and_earlier_deals_are_not_the_deals_figure() -> None:
    record = derive_deal(
        9,
        "Amazon to invest another $4 billion in Anthropic",
        [
            _report("CNBC", "Amazon to invest another $4 billion in Anthropic"),
            _report(
                "Reuters",
                "Amazon doubles down on Anthropic",
                "Amazon agreed a deal lifting its total investment to $8 billion.",
                hours=1,
            ),
            _report(
                "Verge",
                "Anthropic makes AWS its main training partner",
                "In 2020 Amazon signed a deal with 10,000 GPUs for Anthropic.",
                hours=2,
            ),
        ],
    )
    assert record.value_usd.counted == 4e9
    assert [c.outlet for c in record.value_usd.claims] == ["CNBC"]
    assert not record.chips.claims  # a 2020 system in a 2025 report


def test_talks_then_confirmation() -> None:
    record = derive_deal(
        1,
        "Microsoft invests in OpenAI",
        [
            _report("Semafor", "Microsoft weighs $10 billion bet on OpenAI"),
            _report("Bloomberg", "Microsoft invests $10 billion in OpenAI", hours=24),
        ],
    )
    assert record.status == STATUS_CONFIRMED
    assert record.first_reported == T0
    assert record.confirmed == T0 + timedelta(hours=24)
    assert record.buyers == ("Microsoft",) and record.sellers == ("OpenAI",)
    talks = derive_deal(1, "x", [_report("Semafor", "Microsoft weighs $10 billion bet on OpenAI")])
    assert talks.status == STATUS_TALKS and talks.confirmed is None
    unconfirmed = [
        _report("Reuters", "OpenAI taps Google Cloud for more computing power, sources say"),
        _report("CNBC", "Alphabet shares rise on report Google will supply cloud capacity"),
        _report("The Verge", "OpenAI is reportedly adding Google Cloud"),
    ]
    assert derive_deal(2, "x", unconfirmed).status == STATUS_TALKS
    assert is_deal(record)
    assert not is_deal(derive_deal(2, "x", [_report("Verge", "A quiet day on the markets")]))


def test_a_deal_called_off_is_listed_as_ended_and_left_out_of_totals() -> None:
    from bot.ledger.summary import summarise

    reports = [
        _report("The Information", "xAI in talks to spend $10 billion on Oracle cloud servers"),
        _report(
            "Reuters",
            "Musk says xAI will build its own cluster after Oracle talks end",
            hours=24 * 40,
        ),
    ]
    record = derive_deal(5, "xAI and Oracle", reports)
    assert record.status == STATUS_ENDED
    assert derive_deal(5, "xAI and Oracle", reports[:1]).status == STATUS_TALKS
    summary = summarise([record], None, T0 + timedelta(days=60))
    assert summary.deals == 0 and summary.value_usd == 0


def test_a_word_after_two_figures_belongs_to_the_nearer() -> None:
    # "valuation" is the $19B's; the round itself is $1.1B
    record = derive_deal(
        3,
        "x",
        [
            _report(
                "TechCrunch",
                "CoreWeave raises $1.1B at a $19B valuation",
                "Coatue led the Series C, with Magnetar also investing.",
            )
        ],
    )
    assert record.value_usd.counted == 1.1e9
    valuation_only = derive_deal(3, "x", [_report("X", "CoreWeave round sets a $19B valuation")])
    assert not valuation_only.value_usd.stated


def test_a_report_that_also_states_the_agreed_figure_agrees() -> None:
    reports = [
        _report("Reuters", "OpenAI, G42 to build 1-gigawatt AI cluster in Abu Dhabi"),
        _report("The Verge", "G42 will build the 1-gigawatt cluster for OpenAI", hours=1),
        _report(
            "DCD",
            "Stargate UAE: G42 to build, OpenAI to operate, 200MW in 2026",
            "The 1GW cluster is part of a wider campus that G42 is building in Abu Dhabi.",
            hours=2,
        ),
    ]
    record = derive_deal(4, "x", reports)
    assert record.power_mw.counted == 1000
    # a report that states only its other figure still disagrees
    disputed = derive_deal(
        4, "x", [*reports[:2], _report("Blog", "G42 to build 200MW AI cluster for OpenAI")]
    )
    assert disputed.power_mw.counted is None
    assert (disputed.power_mw.low, disputed.power_mw.high) == (200, 1000)


def test_figures_of_a_part_or_of_a_partys_facility_are_not_the_deals() -> None:
    tranche = derive_deal(
        5,
        "x",
        [
            _report(
                "DCD",
                "Macquarie to invest up to $5bn in Applied Digital HPC campuses",
                "An initial $900m will go to the 400MW Ellendale campus in North Dakota.",
            )
        ],
    )
    assert tranche.value_usd.counted == 5e9
    assert not tranche.power_mw.stated  # the 400 MW campus is what the first $900m funds
    campus = derive_deal(
        6, "x", [_report("DCD", "Poolside's 2GW Horizon campus gets CoreWeave as anchor tenant")]
    )
    assert not campus.power_mw.stated
    lease = derive_deal(
        6, "x", [_report("DCD", "CoreWeave signs lease for 133MW at Galaxy's Helios campus")]
    )
    assert lease.power_mw.counted == 133


def test_a_count_plus_more_is_their_sum() -> None:
    record = derive_deal(
        8,
        "x",
        [
            _report(
                "The Information",
                "Nvidia to rent back its own chips from Lambda in $1.5 billion deal",
                "Nvidia will pay about $1.3 billion over four years to lease 10,000 of its GPUs "
                "from Lambda, plus roughly $200 million for 8,000 more, people familiar said.",
            )
        ],
    )
    assert record.chips.counted == 18_000
    assert record.value_usd.counted == 1.5e9


def test_a_counterparty_named_in_one_report_is_a_party() -> None:
    record = derive_deal(
        9,
        "x",
        [
            _report(
                "Reuters", "Inflection AI raises $1.3 billion from Microsoft, Nvidia and others"
            ),
            _report(
                "Tom's Hardware", "Inflection AI builds a cluster of 22,000 Nvidia H100s", hours=1
            ),
            _report("DCD", "CoreWeave to host Inflection's 22k-GPU Nvidia cluster", hours=2),
        ],
    )
    assert "Microsoft" in record.parties
    assert {"Inflection AI", "Nvidia", "CoreWeave"} <= set(record.parties)
    signed = derive_deal(
        10,
        "x",
        [
            _report(
                "Reuters",
                "Oklo signs 12-gigawatt power deal with data center operator Switch",
                "The nuclear startup agreed to supply Switch with power from its Aurora reactors.",
            ),
            _report(
                "Utility Dive",
                "Oklo, Switch sign master agreement for 12 GW of Aurora powerhouses",
                "Oklo's Aurora is a sodium-cooled fast reactor of up to 75 MW.",
                hours=1,
            ),
        ],
    )
    assert set(signed.parties) == {"Oklo", "Switch"}  # Aurora is Oklo's reactor


def test_people_figures_and_products_are_not_parties() -> None:
    record = derive_deal(
        11,
        "x",
        [
            _report(
                "Reuters",
                "Nvidia, Mistral team up to build AI computing platform in France",
                "Mistral AI will deploy 18,000 Nvidia chips, Jensen Huang and Macron said.",
            ),
            _report("CNBC", "Nvidia's Huang backs Mistral's push for a European AI cloud", hours=1),
            _report("The Register", "G42 moves onto Azure as Microsoft buys in", hours=2),
            _report(
                "TechCrunch", "CoreWeave Raises $1.1B At A $19B Valuation In Series C", hours=3
            ),
        ],
    )
    for name in ("Huang", "Jensen Huang", "Azure", "19B", "$19B", "Series C"):
        assert name not in record.parties, record.parties


def test_kind_follows_the_deals_own_figure_and_seller() -> None:
    # the cloud words are the buyer's product; the agreed count is of Nvidia's chips (titles
    # and summaries of the four reports of mistral-nvidia-18k-jun2025 in shared/data deals_dev)
    chips = derive_deal(
        12,
        "x",
        [
            _report(
                "Reuters",
                "Nvidia, Mistral team up to build AI computing platform in France",
                "Mistral AI will deploy 18,000 Nvidia Grace Blackwell chips in the first phase of "
                "its Mistral Compute platform, Jensen Huang and President Macron said at VivaTech.",
            ),
            _report(
                "CNBC",
                "Nvidia's Huang and Macron back Mistral's push for a European AI cloud",
                "The data center, south of Paris, will offer European companies and governments "
                "sovereign AI infrastructure, Mistral CEO Arthur Mensch said.",
                hours=1,
            ),
            _report(
                "TechCrunch",
                "Mistral Compute wants to be Europe's answer to US hyperscalers",
                "Mistral is launching an AI infrastructure offering built on Nvidia hardware, "
                "aimed at customers who want to keep data and models in Europe.",
                hours=2,
            ),
            _report(
                "DCD",
                "Mistral Compute to host 18,000 Grace Blackwell superchips at Essonne data center",
                "The first phase will be housed in Essonne, south of Paris.",
                hours=3,
            ),
        ],
    )
    assert chips.kind == "chips"
    # GPUs a cloud supplies are cloud capacity
    cloud = derive_deal(
        13,
        "x",
        [
            _report("Reuters", "CoreWeave to supply Poolside with more than 40,000 Nvidia chips"),
            _report(
                "SiliconANGLE",
                "Poolside and CoreWeave partner on GB300 supercluster",
                "Poolside is committing to tens of thousands of Nvidia GPUs on CoreWeave's cloud.",
                hours=1,
            ),
        ],
    )
    assert cloud.sellers == ("CoreWeave",)
    assert cloud.kind == "cloud capacity"
