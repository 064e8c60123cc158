"""Policy history: versions kept by hash, installs audited, diff by rule, the CLI (issue 20)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from policy_helpers import stricter, stricter_text
from typer.testing import CliRunner

from connector.cli import app
from connector.clock import FakeClock
from connector.policy import Policy, history, load_default_policy, parse_policy
from connector.policy.loader import default_policy_text
from connector.store import PolicyRole
from connector.store.sqlite import SqliteStore

START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@dataclass
class Shop:
    shop_id: str
    policy: Policy


def test_the_configured_policy_is_kept_the_first_time_it_decides(store: SqliteStore) -> None:
    default = load_default_policy()
    shop = Shop("s1", default)
    assert history.with_live_policy(store, shop) is shop
    kept = store.get_policy_version(default.version)
    assert kept is not None
    assert kept.text == default_policy_text()
    assert kept.first_seen_by == "system"


def test_an_install_is_live_at_the_next_decision_for_that_shop_only(store: SqliteStore) -> None:
    default = load_default_policy()
    candidate = stricter()
    history.install(store, candidate, shop_id="s1", actor="human:li", note="fraud wave")
    one = history.with_live_policy(store, Shop("s1", default))
    other = history.with_live_policy(store, Shop("s2", default))
    assert one.policy.version == candidate.version
    assert one.policy.thresholds["high_value_cap"] == 10000
    assert other.policy is default
    # A later install for every shop is newer than the shop's own: it wins everywhere.
    history.install(store, default, shop_id=None, actor="human:li")
    assert history.with_live_policy(store, Shop("s1", default)).policy is default
    entries = [e for e in store.audit_entries() if e.event == "policy_installed"]
    assert [(e.actor, e.shop_id, e.details["version"]) for e in entries] == [
        ("human:li", "s1", candidate.version),
        ("human:li", None, default.version),
    ]
    assert entries[0].details["note"] == "fraud wave"
    installs = store.policy_installs(shop_id="s1", role=PolicyRole.live)
    assert [i.version for i in installs] == [default.version, candidate.version]


def test_diff_reports_changed_added_removed_and_moved_rules() -> None:
    base = load_default_policy()
    text = stricter_text()
    # Move 2-high-value before 2-serial-refunder, drop 1-in-dispute, add one rule at the end.
    blocks = text.split("[[rules]]")
    head, rules = blocks[0], blocks[1:]
    ids = [b.split('id = "')[1].split('"')[0] for b in rules]
    hv, sr = ids.index("2-high-value"), ids.index("2-serial-refunder")
    rules[hv], rules[sr] = rules[sr], rules[hv]
    rules = [b for b in rules if 'id = "1-in-dispute"' not in b]
    rules.append('\nid = "99-new"\ndescription = "x"\nwhen.reason = "other"\naction = "human"\n')
    candidate = parse_policy(head + "".join("[[rules]]" + b for b in rules), "c.toml")
    changes = {c.rule_id: c for c in history.diff_policies(base, candidate)}
    assert changes["99-new"].kind == "added"
    assert changes["1-in-dispute"].kind == "removed"
    assert changes["2-high-value"].kind == "moved"
    assert changes["[thresholds]"].changes == (("high_value_cap", 100000, 10000),)
    assert "3-void-then-refund" in changes  # moved up by one when 1-in-dispute went
    assert history.diff_policies(base, base) == []


def test_cli_install_history_show_diff(store: SqliteStore, state_dir: Path, tmp_path: Path) -> None:
    history.keep_version(store, load_default_policy())
    candidate_file = tmp_path / "stricter.toml"
    candidate_file.write_text(stricter_text(), encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "policy",
            "install",
            str(candidate_file),
            "--shop",
            "s1",
            "--as",
            "li",
            "--state-dir",
            str(state_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    version = stricter().version
    assert f"installed 'stricter' {version} for s1" in result.output

    shown = runner.invoke(app, ["policy", "history", "--state-dir", str(state_dir)])
    assert shown.exit_code == 0, shown.output
    assert "human:li" in shown.output
    assert version in shown.output

    text = runner.invoke(
        app, ["policy", "show", version.removeprefix("sha256:")[:8], "--state-dir", str(state_dir)]
    )
    assert text.exit_code == 0, text.output
    assert "high_value_cap = 10000 " in text.output

    diff = runner.invoke(
        app,
        ["policy", "diff", load_default_policy().version, version, "--state-dir", str(state_dir)],
    )
    assert diff.exit_code == 0, diff.output
    assert "high_value_cap: 100000 -> 10000" in diff.output
    assert "1 change(s)" in diff.output


def test_cli_install_refuses_a_broken_policy_and_records_nothing(
    store: SqliteStore, state_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(stricter_text().replace('action = "none"', 'action = "nothing"'), "utf-8")
    result = runner.invoke(
        app, ["policy", "install", str(broken), "--as", "li", "--state-dir", str(state_dir)]
    )
    assert result.exit_code == 1
    assert "nothing" in result.output
    assert store.policy_installs() == []


def test_cli_show_unknown_version_is_a_clear_error(store: SqliteStore, state_dir: Path) -> None:
    result = runner.invoke(app, ["policy", "show", "deadbeef", "--state-dir", str(state_dir)])
    assert result.exit_code == 1
    assert "no stored policy version starts with this" in result.output
