"""The ledger's schema: one list of statements per version, applied by ``Ledger`` one per transaction.

``PRAGMA user_version`` holds the version a ledger is at (docs/STYLE.md #5). A released
version is never edited: a change is a new list appended to ``MIGRATIONS``.
"""

from __future__ import annotations

# channel_totals (schema v3) kept up to date: the statements its triggers run. Part of
# migration v3 as released: never edit them; a change is a new migration that replaces the triggers.
# (UPSERT and row values need SQLite 3.24, from 2018.)
_ADD_TOTAL = """INSERT INTO channel_totals (person_id, channel, n, last_at, last_title)
            VALUES (new.person_id, new.channel, 1, new.at, new.title)
            ON CONFLICT (person_id, channel) DO UPDATE SET n = n + 1,
                last_title = CASE WHEN (excluded.last_at, excluded.last_title) > (last_at, last_title)
                                  THEN excluded.last_title ELSE last_title END,
                last_at = max(last_at, excluded.last_at)"""
# The latest row is looked up again (an index seek) only when the row that left was it.
_DROP_TOTAL = """DELETE FROM channel_totals WHERE person_id = old.person_id AND channel = old.channel AND n = 1;
            UPDATE channel_totals SET n = n - 1 WHERE person_id = old.person_id AND channel = old.channel;
            UPDATE channel_totals SET (last_at, last_title) = (
                SELECT at, title FROM interactions WHERE person_id = old.person_id AND channel = old.channel
                ORDER BY at DESC, title DESC LIMIT 1)
            WHERE person_id = old.person_id AND channel = old.channel
              AND (old.at, old.title) >= (last_at, last_title)"""

# One list of statements per schema version; never edit a released one, append.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            configured INTEGER NOT NULL DEFAULT 0,
            snoozed_until TEXT,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE addresses (
            address TEXT PRIMARY KEY,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            display_name TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX addresses_person ON addresses(person_id)",
        # One row per (message or meeting) x counterpart. Re-syncing the same
        # source is idempotent thanks to the primary key.
        """CREATE TABLE interactions (
            account TEXT NOT NULL,
            source_id TEXT NOT NULL,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            channel TEXT NOT NULL CHECK (channel IN ('sent', 'received', 'met')),
            at TEXT NOT NULL,
            thread TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (account, source_id, person_id, channel)
        ) WITHOUT ROWID""",
        "CREATE INDEX interactions_person ON interactions(person_id, channel, at)",
        """CREATE TABLE cursors (
            account TEXT NOT NULL,
            role TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (account, role)
        )""",
        # The outbox: a draft intent is committed (with its rendered message)
        # before any network call; the provider's ref is committed after.
        """CREATE TABLE outbox (
            key TEXT PRIMARY KEY,
            person_id INTEGER REFERENCES people(id),
            kind TEXT NOT NULL,
            period TEXT NOT NULL,
            account TEXT NOT NULL,
            recipient TEXT NOT NULL,
            message_id TEXT NOT NULL,
            message BLOB NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'drafted', 'sent', 'deleted', 'withdrawn')),
            ref TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            drafted_at TEXT,
            closed_at TEXT
        )""",
        "CREATE INDEX outbox_person ON outbox(person_id, state)",
        "CREATE INDEX outbox_state ON outbox(account, state)",
        # Room for introductions (issue 5): the double-opt-in state machine.
        """CREATE TABLE intros (
            id INTEGER PRIMARY KEY,
            person_a INTEGER NOT NULL REFERENCES people(id),
            person_b INTEGER NOT NULL REFERENCES people(id),
            state TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
    ],
    # v2 (issue 5): imported people's details, skips, the introduction state machine,
    # and which outbox rows belong to which introduction.
    [
        "ALTER TABLE people ADD COLUMN company TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE people ADD COLUMN title TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE people ADD COLUMN linkedin TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE people ADD COLUMN source TEXT NOT NULL DEFAULT ''",  # config | linkedin | vcard | mail
        "ALTER TABLE people ADD COLUMN skipped_at TEXT",  # `circleback skip`: this lapse is let go
        "CREATE INDEX people_linkedin ON people(linkedin)",
        "ALTER TABLE outbox ADD COLUMN intro_id INTEGER REFERENCES intros(id)",
        # The thread our draft became once sent (a provider may give it a new Message-ID).
        "ALTER TABLE outbox ADD COLUMN sent_thread TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX outbox_intro ON outbox(intro_id)",
        "ALTER TABLE intros ADD COLUMN a_replied_at TEXT",
        "ALTER TABLE intros ADD COLUMN b_replied_at TEXT",
        "ALTER TABLE intros ADD COLUMN sent_at TEXT",
        "ALTER TABLE intros ADD COLUMN closed_at TEXT",
        "CREATE INDEX intros_state ON intros(state)",
    ],
    # v3 (issue 8): per person and channel, how many interactions and the latest one (its
    # time and title), kept by triggers. The due list, `status` and the plan's hooks read these
    # ~150,000 rows instead of a million interactions (benchmarks/core.py); they go back to the
    # interactions only for a channel whose latest row is dated after their ``now``. "The
    # latest" is the greatest (at, title): rows at the same second go to the greater title.
    [
        """CREATE TABLE channel_totals (
            person_id INTEGER NOT NULL,
            channel TEXT NOT NULL,
            n INTEGER NOT NULL,
            last_at TEXT NOT NULL,
            last_title TEXT NOT NULL,
            PRIMARY KEY (person_id, channel)
        ) WITHOUT ROWID""",
        "INSERT INTO channel_totals (person_id, channel, n, last_at, last_title) "
        "SELECT person_id, channel, COUNT(*), MAX(at), '' FROM interactions GROUP BY person_id, channel",
        """UPDATE channel_totals SET last_title = (
            SELECT title FROM interactions WHERE person_id = channel_totals.person_id
            AND channel = channel_totals.channel AND at = channel_totals.last_at ORDER BY title DESC LIMIT 1)""",
        f"""CREATE TRIGGER interactions_add_total AFTER INSERT ON interactions BEGIN
            {_ADD_TOTAL};
        END""",
        f"""CREATE TRIGGER interactions_drop_total AFTER DELETE ON interactions BEGIN
            {_DROP_TOTAL};
        END""",
        f"""CREATE TRIGGER interactions_move_total AFTER UPDATE OF person_id, channel, at, title ON interactions
        BEGIN
            {_DROP_TOTAL};
            {_ADD_TOTAL};
        END""",
    ],
    # v4 (issue 13): when each address was last used, either way: a note goes to the address a
    # person uses now, not the one they said goodbye from ("My new address", "Last day at Acme").
    [
        "ALTER TABLE addresses ADD COLUMN last_at TEXT",  # NULL until seen again: the config's order holds
        # And which of my own addresses I last used with each person: notes are written from it.
        "ALTER TABLE people ADD COLUMN via TEXT",
        "ALTER TABLE people ADD COLUMN via_at TEXT",
    ],
    # v5 (issue 15): the addresses of mailing lists, learned from the List-Id of mail received
    # through them, so that my own post to a list (whose Sent copy has no List-Id) is no person.
    [
        "CREATE TABLE list_addresses (address TEXT PRIMARY KEY, list_id TEXT NOT NULL, seen_at TEXT NOT NULL)",
    ],
    # v6 (issue 15): each input a connector could not use (a file, a message, a folder), with
    # why: logged the first time it is seen, and listed by `doctor`.
    [
        "CREATE TABLE skipped_inputs (account TEXT NOT NULL, place TEXT NOT NULL, why TEXT NOT NULL,"
        " first_at TEXT NOT NULL, last_at TEXT NOT NULL, PRIMARY KEY (account, place))",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
