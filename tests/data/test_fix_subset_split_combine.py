"""data fix / subset / split / combine: contents, reports, errors, and outputs that validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from speechtools.data.combine import combine_data_dirs
from speechtools.data.fix import fix_data_dir
from speechtools.data.kaldi import DataDir, read_segments, read_table
from speechtools.fileio import atomic_dir
from speechtools.data.split import split_by_speaker, split_data_dir, split_evenly
from speechtools.data.subset import subset_data_dir
from speechtools.data.validate import validate_data_dir
from speechtools.errors import UserError


def lines(path: Path) -> list:
    return path.read_text(encoding="utf-8").splitlines()


def rewrite(path: Path, new_lines: list) -> None:
    path.write_text("".join(line + "\n" for line in new_lines), encoding="utf-8")


# ---- fix ---------------------------------------------------------------------------------------


def test_fix_keeps_intersection_sorts_and_reports(data_dir: Path) -> None:
    text = lines(data_dir / "text")
    rewrite(data_dir / "text", [text[3], text[0], text[5], text[1]])  # unsorted, lacks utt02, utt04
    utt2spk = lines(data_dir / "utt2spk")
    rewrite(data_dir / "utt2spk", [u for u in utt2spk if not u.startswith("utt05")] + ["utt77 spk0"])
    rewrite(data_dir / "spk2utt", ["spk9 stale"])
    original_text = (data_dir / "text").read_text()
    report = fix_data_dir(data_dir)
    assert (report.n_before, report.n_kept) == (6, 3)
    assert report.dropped["wav.scp"] == ["utt02", "utt04", "utt05"]
    assert report.dropped["utt2spk"] == ["utt02", "utt04", "utt77"]
    assert report.lines() == [
        f"{data_dir}: kept 3 of 6 utterances",
        "  wav.scp: dropped 3 (utt02, utt04, utt05)",
        "  text: dropped 1 (utt05)",
        "  utt2spk: dropped 3 (utt02, utt04, utt77)",
        "  durations: dropped 3 (utt02, utt04, utt05)",
    ]
    assert [line.split()[0] for line in lines(data_dir / "text")] == ["utt00", "utt01", "utt03"]
    assert lines(data_dir / "spk2utt") == ["spk0 utt00", "spk1 utt01 utt03"]
    assert (data_dir / ".backup" / "text").read_text() == original_text
    validate_data_dir(data_dir)


def test_fix_report_lists_first_few_ids(data_dir: Path) -> None:
    rewrite(data_dir / "text", lines(data_dir / "text")[:1])
    report = fix_data_dir(data_dir, backup=False)
    assert "  wav.scp: dropped 5 (utt01, utt02, utt03, ...)" in report.lines()
    assert not (data_dir / ".backup").exists()


def test_fix_drops_duration_token_mismatch_and_bad_segments(make_data_dir) -> None:  # type: ignore[no-untyped-def]
    root = make_data_dir(segments=True)
    durs = lines(root / "durations")
    durs[0] += " 9"
    rewrite(root / "durations", durs)
    seg = lines(root / "segments")
    seg[5] = seg[5].replace("uttrec2", "uttrec7")
    rewrite(root / "segments", seg)
    report = fix_data_dir(root)
    assert report.dropped["segments"] == ["utt00", "utt05"]
    assert report.dropped["wav.scp"] == []
    assert report.n_kept == 4
    validate_data_dir(root)


def test_fix_nothing_to_do(data_dir: Path) -> None:
    before = {name: (data_dir / name).read_bytes() for name in ("wav.scp", "text", "utt2spk", "spk2utt", "durations")}
    report = fix_data_dir(data_dir)
    assert report.lines() == [f"{data_dir}: kept 6 of 6 utterances; nothing dropped"]
    assert {name: (data_dir / name).read_bytes() for name in before} == before


def test_fix_nothing_left_is_an_error_and_writes_nothing(data_dir: Path) -> None:
    rewrite(data_dir / "text", ["other words"])
    before = (data_dir / "wav.scp").read_bytes()
    with pytest.raises(UserError, match="nothing to keep"):
        fix_data_dir(data_dir)
    assert (data_dir / "wav.scp").read_bytes() == before


# ---- subset ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"first": 2}, ["utt00", "utt01"]),
        ({"last": 3}, ["utt03", "utt04", "utt05"]),
    ],
)
def test_subset_first_last(data_dir: Path, tmp_path: Path, kwargs: dict, expected: list) -> None:
    n = subset_data_dir(data_dir, tmp_path / "sub", **kwargs)
    assert n == len(expected)
    assert list(read_table(tmp_path / "sub" / "text")) == expected
    validate_data_dir(tmp_path / "sub")


def test_subset_utt_and_spk_lists(data_dir: Path, tmp_path: Path) -> None:
    rewrite(tmp_path / "utts", ["utt04", "utt01 extra-field-ignored"])
    subset_data_dir(data_dir, tmp_path / "a", utt_list=tmp_path / "utts")
    assert list(read_table(tmp_path / "a" / "wav.scp")) == ["utt01", "utt04"]
    rewrite(tmp_path / "spks", ["spk1"])
    subset_data_dir(data_dir, tmp_path / "b", spk_list=tmp_path / "spks")
    assert lines(tmp_path / "b" / "spk2utt") == ["spk1 utt01 utt03 utt05"]
    validate_data_dir(tmp_path / "b")


def test_subset_unknown_id_names_list_line_and_leaves_dst(data_dir: Path, tmp_path: Path) -> None:
    subset_data_dir(data_dir, tmp_path / "dst", first=1)
    before = (tmp_path / "dst" / "text").read_bytes()
    rewrite(tmp_path / "utts", ["utt01", "nope"])
    with pytest.raises(UserError) as err:
        subset_data_dir(data_dir, tmp_path / "dst", utt_list=tmp_path / "utts")
    assert err.value.location() == f"{tmp_path / 'utts'}:2"
    assert (tmp_path / "dst" / "text").read_bytes() == before


def test_subset_with_segments_keeps_only_used_recordings(make_data_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = make_data_dir(segments=True)
    subset_data_dir(root, tmp_path / "sub", first=3)
    assert list(read_table(tmp_path / "sub" / "wav.scp")) == ["uttrec0", "uttrec1"]
    assert list(read_segments(tmp_path / "sub" / "segments")) == ["utt00", "utt01", "utt02"]
    validate_data_dir(tmp_path / "sub")


def test_subset_errors(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="exactly one"):
        subset_data_dir(data_dir, tmp_path / "x", first=1, last=1)
    with pytest.raises(UserError, match="asked for 7"):
        subset_data_dir(data_dir, tmp_path / "x", first=7)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="holds other files"):
        subset_data_dir(data_dir, tmp_path / "busy", first=1)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


# ---- split -------------------------------------------------------------------------------------


def test_split_evenly_sizes() -> None:
    parts = split_evenly([str(i) for i in range(10)], 4)
    assert [len(p) for p in parts] == [3, 3, 2, 2]
    assert sum(parts, []) == [str(i) for i in range(10)]


def test_split_by_speaker_cuts() -> None:
    assert split_by_speaker([5, 1, 1, 5], 2) == [0, 2, 4]
    assert split_by_speaker([10, 1, 1, 1], 3) == [0, 1, 2, 4]
    assert split_by_speaker([1, 1, 1], 3) == [0, 1, 2, 3]


def test_split_by_utterance(data_dir: Path) -> None:
    out = split_data_dir(data_dir, 4)
    assert out == data_dir / "split4"
    parts = [list(read_table(out / str(i) / "text")) for i in range(1, 5)]
    assert parts == [["utt00", "utt01"], ["utt02", "utt03"], ["utt04"], ["utt05"]]
    for i in range(1, 5):
        validate_data_dir(out / str(i))


def test_split_per_speaker_keeps_speakers_whole(make_data_dir) -> None:  # type: ignore[no-untyped-def]
    root = make_data_dir(n_utts=9, n_spk=3)
    out = split_data_dir(root, 3, per_spk=True)
    seen = []
    for i in range(1, 4):
        utt2spk = read_table(out / str(i) / "utt2spk")
        assert len(set(utt2spk.values())) == 1
        seen += list(utt2spk)
        validate_data_dir(out / str(i))
    assert sorted(seen) == [f"utt{k:02d}" for k in range(9)]


def test_split_replaces_old_split_and_errors(data_dir: Path) -> None:
    split_data_dir(data_dir, 2)
    (data_dir / "split2" / "stale").write_text("x")
    split_data_dir(data_dir, 2)
    assert sorted(p.name for p in (data_dir / "split2").iterdir()) == ["1", "2"]
    with pytest.raises(UserError, match="cannot split 6 utterances into 7"):
        split_data_dir(data_dir, 7)
    with pytest.raises(UserError, match="cannot split 2 speakers into 3"):
        split_data_dir(data_dir, 3, per_spk=True)
    assert not (data_dir / "split7").exists()


# ---- combine -----------------------------------------------------------------------------------


def test_combine_round_trips_a_split(data_dir: Path, tmp_path: Path) -> None:
    split_data_dir(data_dir, 3)
    report = combine_data_dirs(tmp_path / "all", [data_dir / "split3" / str(i) for i in (3, 1, 2)])
    assert report.n_utts == 6 and report.omitted == []
    for name in ("wav.scp", "text", "utt2spk", "spk2utt", "durations"):
        assert (tmp_path / "all" / name).read_bytes() == (data_dir / name).read_bytes()


def test_combine_duplicate_key_is_named(make_data_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = make_data_dir("a", n_utts=3)
    b = make_data_dir("b", n_utts=5)
    with pytest.raises(UserError) as err:
        combine_data_dirs(tmp_path / "out", [a, b])
    assert err.value.location() == f"{b / 'wav.scp'}:1"
    assert err.value.message == f"duplicate utterance 'utt00' (also in {a / 'wav.scp'}:1)"
    assert not (tmp_path / "out").exists()


def test_combine_mixed_segments_and_missing_optional_files(make_data_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = make_data_dir("a", n_utts=2, prefix="a")
    b = make_data_dir("b", n_utts=4, prefix="b", segments=True, durations=False)
    report = combine_data_dirs(tmp_path / "out", [a, b])
    assert report.omitted == ["durations"]
    segments = read_segments(tmp_path / "out" / "segments")
    assert segments["a00"].wav_id == "a00" and segments["a00"].end == -1.0
    assert DataDir.load(tmp_path / "out").utt_ids() == ["a00", "a01", "b00", "b01", "b02", "b03"]
    validate_data_dir(tmp_path / "out")


def test_atomic_dir_leaves_target_untouched_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "text").write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "text").write_text("new\n")
            raise RuntimeError("boom")
    assert (target / "text").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ---- spk_vectors.scp travels with the utterances ------------------------------------------------


def _add_speaker_vectors(data_dir: Path, skip: str = "") -> None:
    (data_dir / "xvec").mkdir()
    utts = [line.split()[0] for line in lines(data_dir / "wav.scp")]
    rewrite(data_dir / "spk_vectors.scp", [f"{u} xvec/{u}.npy" for u in utts if u != skip])


def test_subset_split_and_combine_carry_spk_vectors_with_absolute_paths(data_dir: Path, tmp_path: Path) -> None:
    _add_speaker_vectors(data_dir)
    sub = tmp_path / "sub"
    subset_data_dir(data_dir, sub, first=2)
    assert lines(sub / "spk_vectors.scp") == [f"utt0{i} {(data_dir / 'xvec' / f'utt0{i}.npy').resolve()}" for i in (0, 1)]
    split_root = split_data_dir(data_dir, 2)
    parts = [read_table(split_root / str(i) / "spk_vectors.scp") for i in (1, 2)]
    assert sorted(u for p in parts for u in p) == [f"utt0{i}" for i in range(6)]
    assert all(Path(v).is_absolute() for p in parts for v in p.values())
    combined = tmp_path / "combined"
    combine_data_dirs(combined, [split_root / "1", split_root / "2"])
    assert read_table(combined / "spk_vectors.scp") == read_table(sub.parent / "sub" / "spk_vectors.scp") | parts[0] | parts[1]


def test_fix_drops_utterances_without_a_speaker_vector(data_dir: Path) -> None:
    _add_speaker_vectors(data_dir, skip="utt03")
    report = fix_data_dir(data_dir, backup=False)
    assert report.dropped["wav.scp"] == ["utt03"]
    assert [line.split()[0] for line in lines(data_dir / "spk_vectors.scp")] == ["utt00", "utt01", "utt02", "utt04", "utt05"]
