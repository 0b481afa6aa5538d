from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from speechtools.cli.main import main
from speechtools.cli.text import make_tokens, text
from speechtools.text.tokens import TokenList


def run(args, stdin=None):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(text, args, input=stdin)
    return result


def test_normalize_one_line_per_line() -> None:
    stdin = "Dr. Smith paid $3.50.\n\n\"...\"\nIn 1802\u2028too\n"
    result = run(["normalize", "--lang", "en"], stdin)
    assert result.exit_code == 0, result.output
    assert result.output.split("\n")[:-1] == [
        "Doctor Smith paid three dollars, fifty cents.", "", '"..."', "In eighteen oh two too",
    ]


def test_g2p_en_and_zh(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("Hello, world.\n...\nRead.\n", encoding="utf-8")
    result = run(["g2p", "--lang", "en", "--in", str(src)])
    assert result.exit_code == 0, result.output
    assert result.output.split("\n")[:-1] == ["HH AH0 L OW1 , W ER1 L D .", "", "R EH1 D ."]
    result = run(["g2p", "--lang", "zh"], "我很好。\n\n3月\n")
    assert result.output.split("\n")[:-1] == ["uo2 h en2 h ao3 .", "", "s an1 ve4"]
    result = run(["g2p", "--frontend", "en_char"], "Hi there\n")
    assert result.output == "h i <space> t h e r e\n"


def test_normalize_to_file_and_zh_yao(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    result = run(["normalize", "--lang", "zh", "--yao", "--out", str(out)], "拨打110\n2021年\n")
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == "拨打幺幺零\n二零二一年\n"


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["text", "normalize", "--in", str(bad)])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == f"error: {bad}:2: not valid UTF-8 (byte 0)\n"


def _data_dir(tmp_path: Path, lines: str) -> Path:
    data = tmp_path / "data" / "train"
    data.mkdir(parents=True)
    (data / "text").write_text(lines, encoding="utf-8")
    return data


def test_make_tokens(tmp_path: Path) -> None:
    data = _data_dir(tmp_path, "u1 Hello world.\nu2 Hello, 2 worlds!\nu3 ...\n")
    out = tmp_path / "tokens.txt"
    result = CliRunner().invoke(make_tokens, [str(data), "--frontend", "en_phone", "--out", str(out)])
    assert result.exit_code == 0, result.output
    tokens = TokenList.load(out)
    assert tokens.tokens[:2] == ["<pad>", "<unk>"]
    assert {"HH", "AH0", "L", "OW1", "<space>", ".", ",", "!", "T", "UW1"} <= set(tokens.tokens)
    assert "1 utterance(s) gave no tokens" in result.output and "u3" in result.output
    assert tokens.tokens[2] == "L"


def test_make_tokens_with_inventory(tmp_path: Path) -> None:
    data = _data_dir(tmp_path, "u1 Hi.\n")
    out = tmp_path / "tokens.txt"
    result = CliRunner().invoke(make_tokens, [str(data), "--frontend", "en_char", "--out", str(out), "--with-inventory"])
    assert result.exit_code == 0, result.output
    tokens = TokenList.load(out).tokens
    assert tokens[:5] == ["<pad>", "<unk>", ".", "h", "i"]
    assert len(tokens) == 2 + 34 and "z" in tokens


def test_make_tokens_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _data_dir(tmp_path, "u1 ...\n")
    with pytest.raises(SystemExit):
        main(["make-tokens", str(data), "--frontend", "en_char", "--out", str(tmp_path / "t.txt")])
    assert "every transcript normalises to nothing" in capsys.readouterr().err
    assert not (tmp_path / "t.txt").exists()
    with pytest.raises(SystemExit):
        main(["make-tokens", str(tmp_path / "nope"), "--frontend", "en_char", "--out", str(tmp_path / "t.txt")])
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'nope'}: data directory not found")


def test_unspeakable_characters_are_reported_or_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.txt"
    src.write_text("Hello Привет\nok\n$ ★\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["text", "g2p", "--in", str(src)])
    assert exit_info.value.code == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["HH AH0 L OW1", "OW1 K EY1", ""]
    assert captured.err.splitlines() == [
        f"warning: {src}:1: the en_phone front-end cannot speak 6 character(s), left out of its tokens: 'П' U+041F (column 7), "
        "'р' U+0440 (column 8), 'и' U+0438 (column 9), 'в' U+0432 (column 10), 'е' U+0435 (column 11) and 1 other character(s)",
        f"warning: {src}:3: the en_phone front-end cannot speak 2 character(s), left out of its tokens: '$' U+0024 (column 1), '★' U+2605 (column 3)",
    ]
    out = tmp_path / "out.txt"
    for command in ("g2p", "normalize"):
        with pytest.raises(SystemExit) as exit_info:
            main(["text", command, "--strict", "--in", str(src), "--out", str(out)])
        assert exit_info.value.code == 1
        assert capsys.readouterr().err.startswith(f"error: {src}:1: the en_phone front-end cannot speak 6 character(s): 'П' U+041F (column 7)")
        assert not out.exists()
    result = run(["g2p", "--lang", "zh", "--strict"], "你好\n好😀\n")
    assert result.exit_code == 1 and result.output == ""


def test_unspeakable_report_is_capped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from speechtools.cli.text import MAX_REPORTED_LINES

    src = tmp_path / "in.txt"
    src.write_text("Ж\n" * (MAX_REPORTED_LINES + 5), encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["text", "normalize", "--in", str(src)])
    err = capsys.readouterr().err.splitlines()
    assert len(err) == MAX_REPORTED_LINES + 1
    assert err[-1] == f"warning: {src}: 5 more line(s) with characters the en_phone front-end cannot speak (--strict makes them an error)"


def test_make_tokens_reports_unspeakable_characters(tmp_path: Path) -> None:
    data = _data_dir(tmp_path, "u1 Hello world.\nu2  Hi Жук ★\nu3 ok Ж\n")
    result = CliRunner().invoke(make_tokens, [str(data), "--frontend", "en_char", "--out", str(tmp_path / "tokens.txt")])
    assert result.exit_code == 0, result.output
    assert (
        f"warning: 2 utterance(s) have characters left out of their tokens, e.g. {data / 'text'}:2: the en_char front-end "
        "cannot speak 4 character(s): 'Ж' U+0416 (column 8), 'у' U+0443 (column 9), 'к' U+043A (column 10), '★' U+2605 (column 12)"
    ) in result.output
