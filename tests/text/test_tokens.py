from __future__ import annotations

from pathlib import Path

import pytest

from speechtools.errors import UserError
from speechtools.text.tokens import TokenList


def test_build_orders_specials_then_frequency() -> None:
    tokens = TokenList.build(["b", "a", "c", "a", "<unk>", "b", "a"])
    assert tokens.tokens == ["<pad>", "<unk>", "a", "b", "c"]
    assert (tokens.pad_id, tokens.unk_id, len(tokens)) == (0, 1, 5)
    assert TokenList.build(["x"], specials=("<pad>", "<unk>", "<sos/eos>")).tokens == ["<pad>", "<unk>", "<sos/eos>", "x"]
    assert TokenList.build(["x", "y", "x"], extra=["z", "x", "a", "z"]).tokens == ["<pad>", "<unk>", "x", "y", "z", "a"]


def test_save_load_round_trip(tmp_path: Path) -> None:
    tokens = TokenList.build("HH AH0 L OW1 <space> W ER1 L D .".split())
    path = tmp_path / "sub" / "tokens.txt"
    path.parent.mkdir()  # the writer creates no folders (a missing one is a user error)
    tokens.save(path)
    assert path.read_text().splitlines() == tokens.tokens
    loaded = TokenList.load(path)
    assert loaded.tokens == tokens.tokens
    assert loaded.decode(loaded.encode(["L", "OW1", "<space>"])) == ["L", "OW1", "<space>"]
    assert [p.name for p in path.parent.iterdir()] == ["tokens.txt"]


def test_encode_unknown(tmp_path: Path) -> None:
    tokens = TokenList.build(["a", "b"])
    assert tokens.encode(["a", "zz", "b"], unk="map") == [2, 1, 3]
    with pytest.raises(UserError, match="unknown token 'zz'") as err:
        tokens.encode(["a", "zz"], path="data/text", line=7)
    assert str(err.value) == "data/text:7: unknown token 'zz' (not in the token list)"
    with pytest.raises(ValueError):
        tokens.encode(["a"], unk="ignore")


def test_decode_out_of_range() -> None:
    with pytest.raises(UserError, match="token id 9 out of range"):
        TokenList.build(["a"]).decode([0, 9])


def test_missing_specials() -> None:
    tokens = TokenList(["a", "b"])
    with pytest.raises(UserError, match="no <unk> token"):
        tokens.encode(["c"], unk="map")
    with pytest.raises(UserError, match="no <pad> token"):
        _ = tokens.pad_id


@pytest.mark.parametrize(
    "content, message, line",
    [
        ("<pad>\n\na\n", "empty line", 2),
        ("<pad>\na b\n", "one token per line", 2),
        ("<pad>\na\na\n", "duplicate token 'a' (first on line 2)", 3),
    ],
)
def test_load_malformed(tmp_path: Path, content: str, message: str, line: int) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text(content)
    with pytest.raises(UserError) as err:
        TokenList.load(path)
    assert message in err.value.message
    assert err.value.line == line


def test_load_empty_and_missing(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(UserError, match="empty"):
        TokenList.load(tmp_path / "empty.txt")
    with pytest.raises(UserError, match="no such file"):
        TokenList.load(tmp_path / "missing.txt")
