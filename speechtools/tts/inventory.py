"""The complete symbol inventory of a front-end, so a token list covers phones the corpus lacks.

A ``tokens.txt`` built from a small corpus misses rare phones (``UH2``, ``OY0``...) and pause
marks, and a model trained with it could not read sentences that contain them. Extending the
list with the full inventory (new ids appended, existing ids unchanged) gives those symbols an
embedding that is merely untrained instead of an error.

    python -m speechtools.tts.inventory data/tokens.txt en_phone
"""

from __future__ import annotations

import sys
from typing import Dict, List, Tuple

from speechtools.errors import PathLike, UserError
from speechtools.text.tokens import TokenList

ARPABET_VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
ARPABET_CONSONANTS = ("B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH", "T",
                      "TH", "V", "W", "Y", "Z", "ZH")
PAUSES = (",", ".", "?", "!", ";", ":")

INVENTORIES: Dict[str, Tuple[str, ...]] = {
    "en_phone": tuple(f"{v}{s}" for v in ARPABET_VOWELS for s in "012") + ARPABET_CONSONANTS + ("<space>",) + PAUSES,
}


def extend_token_list(path: PathLike, frontend: str) -> List[str]:
    """Append the symbols of ``frontend``'s inventory missing from ``tokens.txt``; returns them."""
    if frontend not in INVENTORIES:
        raise UserError(f"no known inventory for front-end {frontend!r} (known: {', '.join(INVENTORIES)})")
    tokens = TokenList.load(path)
    missing = [t for t in INVENTORIES[frontend] if t not in tokens]
    if missing:
        TokenList(list(tokens.tokens) + missing).save(path)
    return missing


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m speechtools.tts.inventory TOKENS_TXT FRONTEND")
    try:
        added = extend_token_list(sys.argv[1], sys.argv[2])
    except UserError as exc:
        sys.exit(f"error: {exc}")
    print(f"{sys.argv[1]}: added {len(added)} symbol(s) of the {sys.argv[2]} inventory")
