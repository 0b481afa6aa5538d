"""Token lists (``tokens.txt``): one token per line, id = 0-based line index, specials first.

The token on line 1 has id 0. :meth:`TokenList.build` puts the specials (``<pad>``, ``<unk>``
by default) first, then the tokens seen, most frequent first (ties in code-point order), so
the same corpus always gives the same list.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence

from speechtools.errors import PathLike, UserError
from speechtools.fileio import read_lines, write_lines

PAD = "<pad>"
UNK = "<unk>"


@dataclass
class TokenList:
    """An ordered token vocabulary with id lookup."""

    tokens: List[str]
    index: Dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {}
        for i, token in enumerate(self.tokens):
            if not token or any(c.isspace() for c in token):
                raise UserError(f"token {token!r} is empty or contains whitespace")
            if token in self.index:
                raise UserError(f"duplicate token {token!r}")
            self.index[token] = i

    @classmethod
    def build(cls, tokens: Iterable[str], specials: Sequence[str] = (PAD, UNK), extra: Iterable[str] = ()) -> "TokenList":
        """Specials first, then every token of ``tokens`` by descending count (ties by code
        point), then the tokens of ``extra`` not seen (e.g. a front-end's full inventory)."""
        counts = Counter(t for t in tokens if t not in specials)
        ordered = list(specials) + sorted(counts, key=lambda t: (-counts[t], t))
        present = set(ordered)
        for token in extra:
            if token not in present:
                ordered.append(token)
                present.add(token)
        return cls(ordered)

    @classmethod
    def load(cls, path: PathLike) -> "TokenList":
        """Read ``tokens.txt``; a blank line, a token with whitespace or a duplicate is a
        :class:`UserError` naming the line."""
        tokens: List[str] = []
        seen: Dict[str, int] = {}
        for number, line in read_lines(path):
            token = line.strip()
            if not token:
                raise UserError("empty line in token list", path, number)
            if len(token.split()) != 1:
                raise UserError(f"expected one token per line, got {line!r}", path, number)
            if token in seen:
                raise UserError(f"duplicate token {token!r} (first on line {seen[token]})", path, number)
            seen[token] = number
            tokens.append(token)
        if not tokens:
            raise UserError("token list is empty", path)
        return cls(tokens)

    def save(self, path: PathLike) -> None:
        """Write one token per line, atomically."""
        write_lines(path, self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.index

    def _special_id(self, token: str) -> int:
        if token not in self.index:
            raise UserError(f"token list has no {token} token")
        return self.index[token]

    @property
    def pad_id(self) -> int:
        """Id of ``<pad>``."""
        return self._special_id(PAD)

    @property
    def unk_id(self) -> int:
        """Id of ``<unk>``."""
        return self._special_id(UNK)

    def encode(self, tokens: Iterable[str], unk: str = "error", path: Optional[PathLike] = None, line: Optional[int] = None) -> List[int]:
        """Token ids of ``tokens``.

        Args:
            unk: ``"error"``: an unknown token is a :class:`UserError` naming it (and
                ``path``/``line`` when given); ``"map"``: it becomes ``<unk>``.
        """
        if unk not in ("error", "map"):
            raise ValueError(f"unk must be 'error' or 'map', got {unk!r}")
        ids: List[int] = []
        for token in tokens:
            i = self.index.get(token)
            if i is None:
                if unk == "error":
                    raise UserError(f"unknown token {token!r} (not in the token list)", path, line)
                i = self.unk_id
            ids.append(i)
        return ids

    def decode(self, ids: Iterable[int]) -> List[str]:
        """Tokens of ``ids``; an id outside the list is a :class:`UserError`."""
        out: List[str] = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise UserError(f"token id {i} out of range (the list has {len(self.tokens)} tokens)")
            out.append(self.tokens[i])
        return out
