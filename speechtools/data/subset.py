"""Take part of a data directory, like Kaldi's ``utils/subset_data_dir.sh``:
the first or last N utterances (in sorted order), or those named by an utterance or speaker list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Set

from speechtools.data.kaldi import DataDir
from speechtools.data.outdir import check_replaceable
from speechtools.fileio import atomic_dir
from speechtools.errors import PathLike, UserError
from speechtools.fileio import read_lines


def _read_id_list(path: PathLike, known: Set[str], what: str, source: Path) -> List[str]:
    """Read one id per line (first field), each of which must be in ``known`` and listed once."""
    lines: Dict[str, int] = {}
    for number, line in read_lines(path):
        fields = line.split()
        if not fields:
            continue
        if fields[0] not in known:
            raise UserError(f"{what} {fields[0]!r} is not in {source}", path, number)
        if fields[0] in lines:
            raise UserError(f"{what} {fields[0]!r} is listed twice (first on line {lines[fields[0]]})", path, number)
        lines[fields[0]] = number
    if not lines:
        raise UserError(f"no {what} ids in list", path)
    return list(lines)


def select_utterances(
    data: DataDir,
    first: Optional[int] = None,
    last: Optional[int] = None,
    utt_list: Optional[PathLike] = None,
    spk_list: Optional[PathLike] = None,
) -> List[str]:
    """The utterance ids chosen by exactly one of the four selectors."""
    given = [x is not None for x in (first, last, utt_list, spk_list)]
    if sum(given) != 1:
        raise UserError("give exactly one of --first, --last, --utt-list, --spk-list")
    source = data.path if data.path is not None else Path("<data>")
    utts = data.utt_ids()
    if first is not None or last is not None:
        n = first if first is not None else last
        assert n is not None
        if n < 1 or n > len(utts):
            raise UserError(f"asked for {n} utterances but the directory has {len(utts)}", source)
        return utts[:n] if first is not None else utts[-n:]
    if utt_list is not None:
        return _read_id_list(utt_list, set(utts), "utterance", source)
    assert spk_list is not None
    if data.utt2spk is None:
        raise UserError("--spk-list needs utt2spk", source / "utt2spk")
    speakers = set(_read_id_list(spk_list, set(data.speakers()), "speaker", source / "utt2spk"))
    return [u for u in utts if data.utt2spk[u] in speakers]


def subset_data_dir(
    src: PathLike,
    dst: PathLike,
    first: Optional[int] = None,
    last: Optional[int] = None,
    utt_list: Optional[PathLike] = None,
    spk_list: Optional[PathLike] = None,
) -> int:
    """Write the chosen utterances of ``src`` as the data directory ``dst`` (replaced atomically).

    Returns:
        the number of utterances written.
    """
    if Path(src).resolve() == Path(dst).resolve():
        raise UserError("destination must differ from source", dst)
    data = DataDir.load(src)
    chosen = select_utterances(data, first, last, utt_list, spk_list)
    check_replaceable(dst)
    with atomic_dir(dst) as tmp:
        data.select(chosen).save(tmp)
    return len(chosen)
