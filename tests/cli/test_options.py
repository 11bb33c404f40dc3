"""Shared option groups and the numeric validators: one-line refusals naming the allowed range."""
import argparse
import math

import pytest

from minigen.cli import options
from minigen.cli.options import (float_range, int_range, nonneg_float, nonneg_int, positive_float, positive_int,
                                 probability)
from minigen.cli.parser import Parser


def refused(parse, text):
    with pytest.raises(argparse.ArgumentTypeError) as e:
        parse(text)
    return str(e.value)


@pytest.mark.parametrize("parse, good, bad, message", [
    (nonneg_int, {"0": 0, "7": 7, " 3 ": 3}, ["-1", "1.5", "x", ""], "expected a non-negative integer, not"),
    (positive_int, {"1": 1, "+4": 4}, ["0", "-3", "nan", "1e3"], "expected a positive integer, not"),
    (int_range(2, 5), {"2": 2, "5": 5}, ["1", "6"], "expected an integer from 2 to 5, not"),
    (int_range(-3), {"-3": -3, "100": 100}, ["-4"], "expected an integer >= -3, not"),
    (int_range(None, 9), {"-100": -100, "9": 9}, ["10"], "expected an integer <= 9, not"),
    (positive_float, {"1e-3": 1e-3, "2": 2.0}, ["0", "-1", "nan", "inf", "-inf", "x"], "expected a positive number, not"),
    (nonneg_float, {"0": 0.0, "0.5": 0.5}, ["-0.1", "nan", "inf"], "expected a non-negative number, not"),
    (probability, {"0": 0.0, "1": 1.0, "0.25": 0.25}, ["1.01", "-0.01", "nan"], "expected a number from 0 to 1, not"),
    (float_range(0, 1, lo_open=True, hi_open=True), {"0.5": 0.5}, ["0", "1"], "expected a number > 0 and < 1, not"),
    (float_range(), {"-1e9": -1e9}, ["nan", "inf"], "expected a finite number, not"),
    (float_range(1, math.inf), {"inf": math.inf, "1": 1.0}, ["nan", "0.5"], "expected a number from 1 to inf, not"),
    (float_range(-math.inf, 0, hi_open=True), {"-inf": -math.inf}, ["0"], "expected a number >= -inf and < 0, not"),
])
def test_validators(parse, good, bad, message):
    for text, value in good.items():
        assert parse(text) == value
    for text in bad:
        assert refused(parse, text) == f"{message} {text if text.strip() else repr(text)}"


def test_validators_name_the_flag_in_one_line(capsys):
    p = Parser(prog="minigen x")
    options.add_seed(p)
    options.add_memory(p)
    for argv, message in [(["--seed", "-1"], "--seed: expected a non-negative integer, not -1"),
                          (["--max-memory", "nan"], "--max-memory: expected a positive number, not nan"),
                          (["--max-memory", "0"], "--max-memory: expected a positive number, not 0")]:
        with pytest.raises(SystemExit) as e:
            p.parse_args(argv)
        assert e.value.code == 2
        assert capsys.readouterr().err == f"minigen x: error: {message} (see `minigen x --help`)\n"


def test_option_groups_spell_every_flag_alike():
    p = Parser(prog="minigen x")
    options.add_device(p)
    options.add_seed(p)
    options.add_memory(p)
    options.add_out(p, "x.npz", help="checkpoint")
    options.add_logging(p, 10)
    options.add_checkpointing(p, 100)
    options.add_snapshots(p)
    options.add_vgg(p)
    a = p.parse_args([])
    assert (a.device, a.seed, a.max_memory, a.out, a.log_every, a.save_every, a.resume, a.force,
            a.snapshot_every, a.vgg) == ("cpu", 0, None, "x.npz", 10, 100, False, False, 0, None)
    a = p.parse_args("--device cuda --seed 3 --max-memory 1.5 --out y.npz --log-every 2 --save-every 0 "
                     "--resume --force --snapshot-every 5 --vgg w.pth".split())
    assert (a.device, a.seed, a.max_memory, a.out, a.log_every, a.save_every, a.resume, a.force,
            a.snapshot_every, a.vgg) == ("cuda", 3, 1.5, "y.npz", 2, 0, True, True, 5, "w.pth")
    titles = [g.title for g in p._action_groups if g._group_actions]
    assert len(titles) == len(set(titles))  # each group made once, however many flags join it
    for bad in (["--log-every", "0"], ["--save-every", "-1"], ["--snapshot-every", "-2"], ["--device", "tpu"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)


def test_deprecated_alias_keeps_the_old_spelling_with_a_note(capsys):
    p = Parser(prog="minigen x")
    options.add_logging(p, 10)
    options.deprecated_alias(p, "--print-every", "--log-every")
    p.add_argument("--max-memory-gib", dest="max_memory", type=float)
    p.add_argument("--flag", action="store_true")
    options.deprecated_alias(p, "--old-flag", "--flag")
    assert p.parse_args([]).log_every == 10 and capsys.readouterr().err == ""
    a = p.parse_args(["--print-every", "5", "--old-flag"])
    assert a.log_every == 5 and a.flag is True
    assert capsys.readouterr().err.splitlines() == ["minigen: note: --print-every is now --log-every",
                                                    "minigen: note: --old-flag is now --flag"]
    assert "--print-every" not in p.format_help()
    with pytest.raises(SystemExit):
        p.parse_args(["--print-every", "0"])  # the new flag's validator applies
    with pytest.raises(ValueError):
        options.deprecated_alias(p, "--older", "--no-such-flag")
