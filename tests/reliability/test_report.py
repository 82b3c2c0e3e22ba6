"""The report shows the figures it is given.

No test reads the committed docs/reliability.md: a figure is asserted by the test that
produces it (canary hits by test_secrets.py and test_outsider_attack.py, ratios by
test_linearity.py, ...). What is checked here is the other half: `render` puts those figures,
and the outcomes of the tests behind each attack class, into the report unchanged.
"""

from __future__ import annotations

from typing import Any

from reliability.report import ATTACK_CLASSES, attack_rows, render


def _figures(outcome: str) -> dict[str, Any]:
    nodes = [f"tests/reliability/{t}[x]" for _, _, tests in ATTACK_CLASSES for t in tests]
    return {
        "records": {
            "outsider": [{"test": "canaries", "places": 1234, "hits": 0},
                         {"test": "hostile stream values via core", "inputs": 25, "ok": 7}],
            "linearity": [{"adapter": "llm", "dimension": "chunks", "n": 1000, "small_s": 0.1, "large_s": 0.9,
                           "ratio": 9.0, "bound": 12.0, "held": True},
                          {"adapter": "core", "dimension": "distinct keys", "n": 20, "small_s": 0.2, "large_s": 2.1,
                           "ratio": 10.5, "bound": 12.0, "held": True,
                           "state": {"secrets held": 32, "secrets bound": 32, "breakers held": 1,
                                     "breakers bound": 16}}],
        },
        "values": {"secrets": {"canary_hits": 0, "places_searched": 99}},
        "outcomes": [{"nodeid": n, "outcome": outcome, "duration": 0.0, "reason": None} for n in nodes],
    }


CONTEXT = {"command": "python -m reliability", "summary": "1 passed", "seconds": 1.0, "python": "3",
           "platform": "test", "full": False}


def test_every_attack_class_is_reported_with_its_tests():
    rows = attack_rows(_figures("passed"))
    assert [r[0] for r in rows] == [c[0] for c in ATTACK_CLASSES]
    assert all(r[3] == "held" for r in rows)
    assert [r[2] for r in rows] == [f"{len(c[2])} / {len(c[2])}" for c in ATTACK_CLASSES]


def test_a_failed_test_marks_its_class_failed_and_no_tests_is_not_held():
    assert all(r[3] == "**FAILED**" for r in attack_rows(_figures("failed")))
    empty = {**_figures("passed"), "outcomes": []}
    assert all(r[3] == "not run" for r in attack_rows(empty))


def test_the_rendered_report_carries_the_figures_unchanged():
    text = render(_figures("passed"), CONTEXT)
    assert "**0** hits in 1,234 places searched" in text
    assert "hostile stream values via core: 25 inputs (7 answered" in text
    assert "| chunks | llm | 1,000 | 0.1 | 0.9 | 9.0 | - |" in text
    assert "| distinct keys | core | 20 | 0.2 | 2.1 | 10.5 | secrets held 32, breakers held 1 |" in text
    assert "(at most 32 secrets, 16 breakers)" in text
    assert "## Attack classes (issue 13)" in text
