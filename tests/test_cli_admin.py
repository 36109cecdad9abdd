"""Administrative commands through the real CLI: init, check, users, members, subscribers, backup."""

from __future__ import annotations

import sqlite3

from pipeline.store import Store


def test_init_twice_then_check(cli, project) -> None:
    first = cli("init")
    assert first.code == 0 and "created" in first.out
    again = cli("init", "--json")
    assert again.code == 0 and again.json()["before"] == again.json()["revision"]
    check = cli("check", "--json")
    assert check.code == 0
    summary = check.json()
    assert summary["sources"] == 1 and summary["themes"] == ["immuno-oncology", "precision-medicine"]


def test_commands_refuse_a_database_that_was_not_initialised(cli) -> None:
    result = cli("status")
    assert result.code == 1 and "run `python run.py init` first" in result.err
    assert "Traceback" not in result.err


def test_a_broken_config_fails_every_command_with_file_and_line(cli, project) -> None:
    project.write_config("  - {id: alpha, name: Alpha, kind: feed, url: not-a-url}")
    result = cli("init")
    assert result.code == 2
    assert result.err.startswith(f"error: {project.config}:") and "bad URL 'not-a-url'" in result.err


def test_users_add_with_password_on_stdin_then_authenticate(cli, project) -> None:
    cli("init")
    result = cli(
        "users",
        "add",
        "Editor@Example.org",
        "--role",
        "editor",
        "--password-stdin",
        stdin="Correct-Horse-42-battery\n",
    )
    assert result.code == 0
    store = Store.open(project.db)
    assert store.users.authenticate("editor@example.org", "Correct-Horse-42-battery") is not None
    assert store.users.authenticate("editor@example.org", "wrong") is None
    short = cli("users", "add", "b@example.org", "--password-stdin", stdin="short\n")
    assert short.code == 1 and "at least 12 characters" in short.err


def test_member_key_is_printed_alone_and_can_be_revoked(cli, project) -> None:
    cli("init")
    result = cli("members", "key", "nykode")
    key = result.out.strip().splitlines()[-1]
    assert result.code == 0 and key.startswith("mk_") and " " not in key
    store = Store.open(project.db)
    assert store.member_keys.member_for(key) == "nykode"
    assert cli("members", "key", "nykode", "--revoke").code == 0
    assert store.member_keys.member_for(key) is None
    unknown = cli("members", "key", "nobody")
    assert unknown.code == 2 and "unknown member 'nobody'" in unknown.err


def test_subscribers_import_keeps_good_rows_and_reports_bad_ones(cli, project) -> None:
    cli("init")
    csv_path = project.root / "subs.csv"
    csv_path.write_text(
        "email,name,language,themes\n"
        "ada@example.org,Ada,en,\n"
        "not-an-email,Bad,en,\n"
        "ole@example.org,Ole,no,immuno-oncology;precision-medicine\n"
        "eve@example.org,Eve,en,astrology\n"
    )
    result = cli("subscribers", "import", str(csv_path), "--json")
    report = result.json()
    assert result.code == 1  # bad rows make the exit code say so; the good rows are in
    assert report["added"] == 2
    assert report["problems"] == [
        "line 3: 'not-an-email' is not an email address",
        "line 5: unknown theme(s) astrology",
    ]
    store = Store.open(project.db)
    ole = store.subscribers.find("OLE@example.org")
    assert (
        ole is not None and ole.language == "no" and ole.themes == {"immuno-oncology", "precision-medicine"}
    )


def test_unsubscribed_or_erased_people_are_never_reimported(cli, project) -> None:
    cli("init")
    csv_path = project.root / "subs.csv"
    csv_path.write_text("email\nada@example.org\nbob@example.org\n")
    cli("subscribers", "import", str(csv_path))
    assert cli("subscribers", "remove", "ada@example.org").code == 0
    assert cli("subscribers", "erase", "bob@example.org").code == 0
    again = cli("subscribers", "import", str(csv_path), "--json").json()
    assert again["added"] == 0 and len(again["refused"]) == 2
    store = Store.open(project.db)
    assert store.subscribers.find("bob@example.org") is None  # personal data gone
    assert store.subscribers.is_suppressed("BOB@example.org")
    assert store.subscribers.find("ada@example.org").status == "unsubscribed"


def test_subscriber_data_export_and_csv_export(cli, project) -> None:
    cli("init")
    cli(
        "subscribers",
        "add",
        "ada@example.org",
        "--name",
        "Ada",
        "--language",
        "no",
        "--themes",
        "immuno-oncology",
    )
    data = cli("subscribers", "show", "ada@example.org").json()
    assert (
        data["email"] == "ada@example.org"
        and data["themes"] == ["immuno-oncology"]
        and data["consent_source"] == "cli"
    )
    out = cli("subscribers", "export").out
    assert out.splitlines() == [
        "email,name,language,themes,status",
        "ada@example.org,Ada,no,immuno-oncology,active",
    ]


def test_backup_is_a_readable_copy(cli, project) -> None:
    cli("init")
    cli("subscribers", "add", "ada@example.org")
    target = project.root / "copy.db"
    assert cli("backup", str(target)).code == 0
    with sqlite3.connect(target) as conn:
        assert conn.execute("select email from subscribers").fetchall() == [("ada@example.org",)]
    assert cli("backup", str(target)).code == 1  # never overwrites


def test_a_pending_import_mails_each_new_subscriber_a_confirmation_link(cli, project) -> None:
    import email
    import email.policy

    cli("init")
    csv_path = project.root / "subs.csv"
    csv_path.write_text("email,name,language\nada@example.org,Ada,en\nkari@example.org,Kari,no\n")
    report = cli("subscribers", "import", str(csv_path), "--pending", "--json").json()
    assert report["added"] == 2 and report["confirmations_sent"] == 2
    store = Store.open(project.db)
    assert store.subscribers.find("ada@example.org").status == "pending"
    mails = {
        m["To"]: m
        for m in (
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in (project.root / "outbox").rglob("*.eml")
        )
    }
    body = mails["kari@example.org"].get_body(("plain",)).get_content()
    assert "https://news.example.org/confirm/" in body
