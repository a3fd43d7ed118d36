"""The command line: options, subcommands and what is refused."""

from __future__ import annotations


def test_options_before_a_subcommand_are_not_overwritten_by_its_defaults():
    from console.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["--sandbox", "--concurrency", "8", "--sandbox-orders", "50", "complete", "A"])
    assert (args.sandbox, args.concurrency, args.sandbox_orders) == (True, 8, 50)
    args = parser.parse_args(["complete", "--sandbox", "--concurrency", "3", "A"])
    assert (args.sandbox, args.concurrency, args.sandbox_orders, args.sandbox_seed) == (True, 3, 500, 7)
    args = parser.parse_args(["orders", "--base-url", "https://example.test"])
    assert (args.base_url, args.sandbox, args.profile) == ("https://example.test", False, None)


def test_log_lines_carrying_server_text_are_escaped_and_kept_on_one_line():
    import logging

    from console.cli import _SafeLogFormatter

    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "order %s failed", ("a\x1b]0;t\x07b",), None)
    text = _SafeLogFormatter("%(message)s").format(record)
    assert text == "order a\\x1b]0;t\\x07b failed"
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "two\nlines\x9b", (), None)
    assert _SafeLogFormatter("%(message)s").format(record) == "two\\x0alines\\x9b"


def test_a_parser_built_for_an_argv_parses_it_as_the_full_parser_does():
    """build_parser(argv) leaves out the arguments of subcommands argv does not name (start-up,
    issue 6): what it parses must not change, nor the help that lists the subcommands."""
    from console.cli import build_parser

    cases = [
        ["--sandbox"],
        ["--sandbox", "--ops-group", "west", "--refresh", "5", "--read-only"],
        ["--sandbox", "--concurrency", "8", "--sandbox-orders", "50", "complete", "A", "B"],
        ["complete", "--sandbox", "--concurrency", "3", "A"],
        ["orders", "--base-url", "https://example.test"],
        ["--profile", "sandbox", "orders"],  # a value spelt like a subcommand
        ["journal"],
        ["sandbox", "--port", "0"],
        ["secret", "--profile", "p", "--to-file"],
    ]
    full = build_parser()
    for argv in cases:
        assert vars(build_parser(argv).parse_args(argv)) == vars(full.parse_args(argv)), argv
    assert build_parser(["--sandbox"]).format_help() == full.format_help()
    # A subcommand's own arguments are still there when it is named (its --help lists them).
    assert build_parser(["complete", "--help"])._subparsers._group_actions[0].choices["complete"] \
        .format_help() == full._subparsers._group_actions[0].choices["complete"].format_help()


def test_a_logged_exception_is_one_line_without_its_message_or_traceback():
    import logging
    import sys

    from console.cli import _SafeLogFormatter

    def deep():
        secret = "s3cr3t-in-a-local"  # noqa: F841 - what a traceback with locals would show
        raise KeyError("s3cr3t-in-the-message")

    try:
        deep()
    except KeyError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "unexpected %s", ("error\n",), sys.exc_info())
    text = _SafeLogFormatter("dispatch-console: %(levelname)s: %(message)s").format(record)
    assert "\n" not in text and "Traceback" not in text and "s3cr3t" not in text
    assert text.startswith("dispatch-console: ERROR: unexpected error\\x0a (KeyError")
    assert record.exc_info is not None  # left as it was for any other handler
