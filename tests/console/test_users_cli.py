"""`refund-connector users add|list`: the first admin from the command line, passwords hashed."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from connector.cli import app
from connector.console.accounts import verify_password
from connector.store import open_store


def test_users_add_creates_the_first_admin_in_a_new_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    runner = CliRunner()
    added = runner.invoke(
        app, ["users", "add", "root", "--role", "admin", "--password-stdin", "--state-dir",
              str(state)],
        input="a-long-admin-pass\n",
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["users", "list", "--state-dir", str(state)])
    assert listed.exit_code == 0, listed.output
    assert "root" in listed.output
    assert "admin" in listed.output
    store = open_store(state)
    try:
        user = store.get_console_user("root")
        assert user is not None
        assert verify_password("a-long-admin-pass", user.password_hash)
        audit = [e for e in store.audit_entries() if e.event == "console_user_added"]
        assert audit[0].details["account"] == "root"
        assert audit[0].details["via"].startswith("cli")
    finally:
        store.close()


def test_users_add_prompts_twice_and_refuses_bad_input(tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path / "state")]
    runner = CliRunner()
    prompted = runner.invoke(
        app, ["users", "add", "ann", "--role", "reviewer", *state],
        input="reviewer-pass\nreviewer-pass\n",
    )
    assert prompted.exit_code == 0, prompted.output
    again = runner.invoke(
        app, ["users", "add", "ann", "--role", "ops", "--password-stdin", *state],
        input="another-pass\n",
    )
    assert again.exit_code == 1
    assert "already exists" in again.output
    bad_name = runner.invoke(
        app, ["users", "add", "ann smith", "--role", "ops", "--password-stdin", *state],
        input="another-pass\n",
    )
    assert bad_name.exit_code == 1
    assert "account name" in bad_name.output
    bad_role = runner.invoke(
        app, ["users", "add", "zed", "--role", "boss", "--password-stdin", *state],
        input="another-pass\n",
    )
    assert bad_role.exit_code == 2
