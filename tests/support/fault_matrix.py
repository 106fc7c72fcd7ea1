"""The fault matrix: each (fault scenario, connector) cell names the one test that proves its outcome.

``benchmarks/fault_matrix.py`` runs exactly these node ids and writes docs/reliability.md from
the results; ``tests/system/test_fault_matrix.py`` collects every id so a rename cannot leave the
table pointing at nothing. A cell missing here is "not applicable" (—) in the table: say why
in ``NOT_APPLICABLE`` when it is not obvious. A node id without ``[...]`` stands for every
parameter of that test.
"""

from __future__ import annotations

CONNECTORS = ("gmail", "google_calendar", "outlook", "imap", "caldav", "maildir/ics", "core")

GMAIL = "tests/connectors/google/test_gmail.py"
GCAL = "tests/connectors/google/test_google_calendar.py"
OUTLOOK = "tests/connectors/microsoft/test_outlook.py"
IMAP = "tests/connectors/imap/test_imap.py"
CALDAV = "tests/connectors/test_caldav.py"
EXTRA = "tests/system/test_faults_extra.py"
SERVICE = "tests/daemon/service/test_service.py"
CHAOS = "tests/system/chaos/test_chaos.py"

FAULTS: dict[tuple[str, str], str] = {
    # -- throttling and server errors ------------------------------------------------------------------
    ("429 with Retry-After", "gmail"): f"{GMAIL}::test_retry_after_is_honoured",
    ("429 with Retry-After", "google_calendar"): f"{GCAL}::test_transient_errors_are_retried[429]",
    ("429 with Retry-After", "outlook"): f"{OUTLOOK}::test_429_waits_for_retry_after",
    ("Retry-After beyond the cap", "outlook"):
        f"{OUTLOOK}::test_a_retry_after_beyond_the_cap_ends_the_cycle_instead_of_sleeping",
    ("403 rate-limit reason (retried)", "gmail"):
        f"{GMAIL}::test_retryable_errors_on_single_calls_are_retried[403-user]",
    ("403 rate-limit reason (retried)", "google_calendar"): f"{GCAL}::test_transient_errors_are_retried[403-user]",
    ("403 other reason (not retried)", "gmail"): f"{GMAIL}::test_forbidden_for_another_reason_is_not_retried",
    ("403 other reason (not retried)", "google_calendar"): f"{GCAL}::test_forbidden_is_not_retried",
    ("500", "gmail"): f"{GMAIL}::test_retryable_errors_on_single_calls_are_retried[500]",
    ("500", "google_calendar"): f"{GCAL}::test_transient_errors_are_retried[500]",
    ("500", "outlook"): f"{EXTRA}::test_outlook_a_500_is_one_skip_that_keeps_its_place",
    ("503", "gmail"): f"{GMAIL}::test_retryable_errors_on_single_calls_are_retried[503]",
    ("503", "google_calendar"): f"{GCAL}::test_transient_errors_are_retried[503]",
    ("503", "outlook"): f"{OUTLOOK}::test_throttling_without_retry_after_backs_off[503]",
    ("5xx inside a batch (per item)", "gmail"): f"{GMAIL}::test_retryable_errors_inside_a_batch_are_retried_per_item",
    ("retries exhausted (one clear error)", "gmail"): f"{GMAIL}::test_retries_give_up_with_one_clear_error",
    ("retries exhausted (one clear error)", "google_calendar"):
        f"{EXTRA}::test_google_calendar_retries_exhausted_are_one_clear_error_and_the_cursor_waits",
    ("retries exhausted (one clear error)", "outlook"):
        f"{OUTLOOK}::test_a_folder_that_keeps_failing_is_one_skip_and_keeps_its_place",
    ("retries exhausted (one clear error)", "imap"): f"{IMAP}::test_server_gone_for_good_raises_connector_error",
    ("retries exhausted (one clear error)", "caldav"):
        f"{CALDAV}::test_one_failing_calendar_keeps_its_cursor_while_the_other_advances",
    ("retries exhausted (one clear error)", "core"): f"{SERVICE}::test_a_failing_account_backs_off_alone",
    # -- the network ----------------------------------------------------------------------------------
    ("timeout", "gmail"): f"{GMAIL}::test_slow_responses_time_out_and_are_retried",
    ("timeout", "google_calendar"): f"{EXTRA}::test_google_calendar_a_slow_response_times_out_and_is_retried",
    ("timeout", "outlook"): f"{OUTLOOK}::test_timeouts_and_truncated_json_are_retried",
    ("timeout", "imap"): f"{EXTRA}::test_imap_a_stalled_server_times_out_and_is_retried_after_a_backoff",
    ("timeout", "caldav"): f"{CALDAV}::test_a_server_that_goes_silent_times_out_and_is_retried_with_nothing_lost",
    ("timeout", "core"): f"{SERVICE}::test_watchdog_pings_stop_while_a_sync_hangs_and_resume_after",
    ("dropped connection", "gmail"): f"{GMAIL}::test_retryable_errors_on_single_calls_are_retried[drop]",
    ("dropped connection", "google_calendar"): f"{GCAL}::test_transient_errors_are_retried[drop]",
    ("dropped connection", "outlook"): f"{EXTRA}::test_outlook_a_dropped_connection_is_retried",
    ("dropped connection", "imap"): f"{IMAP}::test_cut_mid_fetch_is_retried_within_one_sync",
    ("dropped connection", "caldav"):
        f"{CALDAV}::test_server_down_mid_sync_raises_keeps_the_cursor_and_a_rerun_catches_up",
    ("truncated or non-JSON body", "gmail"): f"{GMAIL}::test_retryable_errors_on_single_calls_are_retried[truncate]",
    ("truncated or non-JSON body", "google_calendar"): f"{GCAL}::test_transient_errors_are_retried[truncate]",
    ("truncated or non-JSON body", "outlook"): f"{OUTLOOK}::test_timeouts_and_truncated_json_are_retried",
    ("server down, back within the retries", "caldav"): f"{CALDAV}::test_a_read_that_fails_once_is_retried",
    # -- draft creation ---------------------------------------------------------------------------------
    ("draft create fails (never blindly retried)", "gmail"):
        f"{GMAIL}::test_a_dropped_draft_create_is_not_retried_either",
    ("draft create fails (never blindly retried)", "outlook"):
        f"{OUTLOOK}::test_draft_creation_is_not_retried_on_503_but_is_on_429",
    ("draft create fails (never blindly retried)", "imap"): f"{IMAP}::test_cut_mid_append_never_duplicates",
    ("draft create fails (never blindly retried)", "core"):
        "tests/daemon/core/test_outbox.py::test_a_failed_create_stays_pending_and_is_retried_after_reconciling",
    # -- sync state -------------------------------------------------------------------------------------
    ("expired history/sync/delta token", "gmail"): f"{GMAIL}::test_expired_history_id_starts_over_and_loses_nothing",
    ("expired history/sync/delta token", "google_calendar"):
        f"{GCAL}::test_an_expired_sync_token_reads_everything_again_as_a_full_result",
    ("expired history/sync/delta token", "outlook"):
        f"{OUTLOOK}::test_an_expired_folder_token_resyncs_that_folder_only",
    ("expired history/sync/delta token", "imap"): f"{IMAP}::test_uidvalidity_change_rereads_only_that_folder",
    ("expired history/sync/delta token", "caldav"): f"{CALDAV}::test_an_invalid_sync_token_resyncs_only_that_calendar",
    ("expired history/sync/delta token", "maildir/ics"):
        "tests/connectors/test_ics.py::test_unusable_cursor_means_a_fresh_read",
    ("404 that is not an expired token", "gmail"): f"{GMAIL}::test_a_404_on_a_message_is_not_an_expired_history",
    ("404 that is not an expired token", "outlook"):
        f"{OUTLOOK}::test_other_errors_are_not_a_resync_and_resume_from_the_same_link",
    # -- credentials ------------------------------------------------------------------------------------
    ("revoked credential", "gmail"):
        "tests/connectors/google/test_google_auth.py::test_invalid_grant_pauses_the_account_without_looping",
    ("revoked credential", "google_calendar"): f"{GCAL}::test_a_revoked_token_pauses_the_account",
    ("revoked credential", "outlook"):
        "tests/connectors/microsoft/test_ms_auth.py::test_a_refused_refresh_says_how_to_reauthorise",
    ("revoked credential", "imap"): f"{IMAP}::test_wrong_password_is_auth_revoked",
    ("revoked credential", "caldav"): f"{CALDAV}::test_a_revoked_password_is_one_clear_auth_error_and_loses_nothing",
    ("revoked credential", "core"): f"{SERVICE}::test_every_account_revoked_exits_77",
    ("token endpoint down (not a revocation)", "gmail"):
        "tests/connectors/google/test_google_auth.py::test_a_token_endpoint_outage_is_not_a_revocation",
    ("token endpoint down (not a revocation)", "outlook"):
        "tests/connectors/microsoft/test_ms_auth.py::test_a_login_server_outage_is_not_a_revocation",
    ("expired access token (refresh once)", "gmail"):
        "tests/connectors/google/test_google_auth.py::test_an_expired_access_token_is_refreshed_once_and_the_call_replayed",
    ("expired access token (refresh once)", "google_calendar"):
        f"{EXTRA}::test_google_calendar_an_expired_access_token_is_refreshed_once_and_the_call_replayed",
    ("expired access token (refresh once)", "outlook"): f"{OUTLOOK}::test_a_401_refreshes_the_token_once",
    # -- data from the provider -------------------------------------------------------------------------
    ("clock skew (dates far in the future/past)", "gmail"):
        f"{EXTRA}::test_gmail_internal_dates_far_off_never_crash_and_the_past_is_skipped",
    ("clock skew (dates far in the future/past)", "google_calendar"):
        f"{EXTRA}::test_google_calendar_events_far_off_never_crash_and_the_past_is_skipped",
    ("clock skew (dates far in the future/past)", "outlook"): f"{EXTRA}::test_outlook_dates_far_off_never_crash",
    ("clock skew (dates far in the future/past)", "imap"):
        f"{EXTRA}::test_imap_internal_dates_far_off_never_crash_and_the_past_is_skipped",
    ("clock skew (dates far in the future/past)", "caldav"):
        f"{CALDAV}::test_dates_far_off_never_crash_and_only_the_window_is_read",
    ("clock skew (dates far in the future/past)", "maildir/ics"):
        "tests/connectors/test_mailheaders.py::test_timestamp_is_utc_with_mtime_fallback",
    ("clock skew (dates far in the future/past)", "core"):
        f"{EXTRA}::test_core_a_mail_dated_far_in_the_future_never_hides_a_person",
    ("hostile header values", "gmail"): f"{EXTRA}::test_gmail_hostile_header_values_come_out_clean",
    ("hostile header values", "google_calendar"):
        f"{EXTRA}::test_google_calendar_hostile_event_titles_come_out_as_one_clean_line",
    ("hostile header values", "outlook"): f"{EXTRA}::test_outlook_hostile_header_values_come_out_clean",
    ("hostile header values", "imap"): f"{EXTRA}::test_imap_hostile_header_values_come_out_clean",
    ("hostile header values", "caldav"):
        f"{EXTRA}::test_caldav_hostile_event_titles_come_out_clean_and_never_reach_a_draft_header",
    ("hostile header values", "maildir/ics"):
        "tests/connectors/test_corpus_mail.py::test_nasty_files_give_exact_results",
    ("hostile header values", "core"):
        "tests/daemon/core/test_message.py::test_hostile_names_and_subjects_never_add_a_header",
    ("raw headers → draft → re-parse (fuzz)", "core"):
        f"{EXTRA}::test_fuzz_raw_headers_through_parser_and_draft_never_add_a_header",
    ("malformed provider data", "outlook"): f"{OUTLOOK}::test_every_corpus_item_parses_or_is_a_skip",
    ("malformed provider data", "imap"):
        "tests/connectors/test_imap_fetch.py::test_an_unreadable_response_is_reported_and_the_rest_read",
    ("malformed provider data", "maildir/ics"):
        "tests/connectors/test_corpus_calendar.py::test_every_file_syncs_without_crashing",
    # -- the daemon itself ------------------------------------------------------------------------------
    ("config made invalid while running", "core"):
        f"{SERVICE}::test_an_invalid_edit_keeps_the_running_settings_and_logs_one_line",
    ("config invalid at start", "core"): f"{SERVICE}::test_an_invalid_config_at_start_exits_78_before_ready",
    ("template that errors", "core"):
        "tests/daemon/core/test_templating.py::test_exception_during_render_is_a_template_error",
    ("template that escapes the sandbox", "core"):
        "tests/daemon/core/test_templating.py::test_sandbox_escapes_are_template_errors",
    ("disk full under the ledger", "core"):
        f"{EXTRA}::test_a_full_disk_stops_the_run_with_one_clear_line_and_an_intact_ledger",
    ("disk I/O error under the ledger (said as a full or failing disk)", "core"):
        f"{EXTRA}::test_a_disk_io_error_says_full_or_failing_disk_not_a_broken_ledger[failing]",
    ("state directory the user cannot write (status still reads)", "core"):
        "tests/daemon/app/test_session.py::test_status_reads_a_state_directory_it_cannot_write",
    ("damaged ledger (refused, one line, recovered from the daily copy)", "core"):
        "tests/daemon/app/test_recovery.py::test_run_once_refuses_a_damaged_ledger_without_writing_to_it",
    ("drafts cannot be written (no Drafts folder, a broken template)", "imap"):
        f"{IMAP}::test_cyrus_folders_under_inbox_are_found_by_their_role_names",
    ("drafts cannot be written (no Drafts folder, a broken template)", "maildir/ics"):
        "tests/daemon/cli/test_cli_ux.py::test_drafts_the_box_refused_are_planned_not_waiting",
    ("drafts cannot be written (no Drafts folder, a broken template)", "core"):
        "tests/daemon/cli/test_cli_ux.py::test_a_run_that_wrote_none_of_its_drafts_exits_78_and_status_and_doctor_say_so",
    ("a command run beside the service", "core"):
        f"{SERVICE}::test_every_everyday_command_works_while_the_service_runs",
    ("two processes migrate a new ledger at once", "core"):
        "tests/daemon/store/test_ledger.py::test_two_processes_opening_a_new_ledger_at_once_both_get_it_migrated",
    ("SIGKILL mid-cycle, restart", "gmail"): f"{CHAOS}::test_gmail_and_google_calendar_survive_random_kills",
    ("SIGKILL mid-cycle, restart", "google_calendar"): f"{CHAOS}::test_gmail_and_google_calendar_survive_random_kills",
    ("SIGKILL mid-cycle, restart", "outlook"): f"{CHAOS}::test_outlook_survives_random_kills",
    ("SIGKILL mid-cycle, restart", "imap"): f"{CHAOS}::test_imap_on_dovecot_survives_random_kills",
    ("SIGKILL mid-cycle, restart", "caldav"):
        f"{CHAOS}::test_caldav_on_radicale_with_a_maildir_draft_box_survives_random_kills",
    ("SIGKILL mid-cycle, restart", "maildir/ics"): f"{CHAOS}::test_local_maildir_and_ics_survive_random_kills",
    ("SIGKILL mid-cycle, restart", "core"):
        "tests/system/test_end_to_end.py::test_killed_at_every_checkpoint_and_at_random_times",
    ("SIGKILL of the service loop", "core"):
        f"{SERVICE}::test_sigkill_at_random_moments_of_the_loop_never_duplicates_a_draft",
}

# Scenarios in table order: the order of first appearance above.
SCENARIOS: tuple[str, ...] = tuple(dict.fromkeys(scenario for scenario, _ in FAULTS))

# Cells where the fault can happen but no test proves the outcome yet ("?" in the table), and why.
UNTESTED: dict[tuple[str, str], str] = {}  # none at present

NOT_APPLICABLE = {
    "HTTP status faults (429/403/5xx, Retry-After, truncated bodies)":
        "imap, caldav and maildir/ics speak IMAP, WebDAV over a local server or files: no such responses",
    "403 reasons": "Graph throttles with 429/503/504, not a 403 with a reason",
}
