"""Every CSV file Pulse writes: each cell quoted, and any cell that a spreadsheet could run defused."""

from decimal import Decimal

from accounts.csvfiles import csv_lines, neutralise_cell


def test_a_formula_after_a_semicolon_is_defused():
    # Excel with a ";" list separator reads "ok;=1+1" as two cells, the second a formula.
    assert neutralise_cell("ok;=1+1") == "'ok;=1+1"


def test_a_formula_after_a_comma_is_defused():
    assert neutralise_cell("a,@SUM(1)") == "'a,@SUM(1)"
    assert neutralise_cell("a, +1") == "'a, +1"


def test_a_leading_trigger_is_defused():
    assert [neutralise_cell(text) for text in ["=1+1", "+1", "-5", "@A1", "\tx", "\rx"]] == [
        "'=1+1",
        "'+1",
        "'-5",
        "'@A1",
        "'\tx",
        "'\rx",
    ]


def test_harmless_text_is_left_alone():
    assert [neutralise_cell(text) for text in ["fine = ok", "a-b", "1,5", "x; y", ""]] == [
        "fine = ok",
        "a-b",
        "1,5",
        "x; y",
        "",
    ]


def test_numbers_the_app_writes_stay_numbers():
    # A typed number is not someone's text: -5 is a number to a spreadsheet, never a formula.
    assert [neutralise_cell(value) for value in [-5, -2.5, Decimal("-1000.00"), 0]] == [
        -5,
        -2.5,
        Decimal("-1000.00"),
        0,
    ]
    assert neutralise_cell(None) == "" and neutralise_cell(True) == "True"


def test_every_cell_is_quoted_and_defused():
    rows = [["comment", "score"], ["ok;=1+1", 9], ["=1+1", -5], ["a,@SUM(1)", Decimal("-3.50")], ["-5", None]]
    assert "".join(csv_lines(rows)) == (
        '"comment","score"\r\n"\'ok;=1+1","9"\r\n"\'=1+1","-5"\r\n"\'a,@SUM(1)","-3.50"\r\n"\'-5",""\r\n'
    )
