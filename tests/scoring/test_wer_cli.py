"""``speechtools score wer`` end to end on small files: output lines, details files, errors."""

from __future__ import annotations

REF = "u1 The cat sat on the mat.\nu2 hello world\nu3 a b c\n"
HYP = "u1 the cat sit on mat\nu2 hello <unk> big world\nu3 a b c\n"


def _files(tmp_path):
    ref = tmp_path / "ref.txt"
    hyp = tmp_path / "hyp.txt"
    ref.write_text(REF, encoding="utf-8")
    hyp.write_text(HYP, encoding="utf-8")
    return str(ref), str(hyp)


def test_prints_kaldi_lines(tmp_path, run_cli):
    ref, hyp = _files(tmp_path)
    code, out, _ = run_cli(["score", "wer", ref, hyp, "--ignore-case", "--remove-punct", "--filter", "<unk>"])
    assert code == 0
    assert out.splitlines() == [
        "%WER 27.27 [ 3 / 11, 1 ins, 1 del, 1 sub ]",
        "%SER 66.67 [ 2 / 3 ]",
        "Scored 3 sentences, 0 not present in hyp.",
    ]
    code, out, _ = run_cli(["score", "wer", ref, hyp])
    # Unnormalised: The/the and sat/sit substitute, "the mat." vs "mat" costs 1 sub + 1 del,
    # "<unk> big" are 2 insertions: 3 sub + 1 del + 2 ins = 6.
    assert out.splitlines()[0] == "%WER 54.55 [ 6 / 11, 2 ins, 1 del, 3 sub ]"


def test_details_directory(tmp_path, run_cli):
    ref, hyp = _files(tmp_path)
    out_dir = tmp_path / "details"
    code, _, _ = run_cli(["score", "wer", ref, hyp, "--ignore-case", "--remove-punct", "--filter", "<unk>",
                          "--details", str(out_dir), "--name", "test"])
    assert code == 0
    per_utt = (out_dir / "per_utt").read_text(encoding="utf-8").splitlines()
    assert per_utt[:4] == [
        "u1 ref  the cat sat on the mat",
        "u1 hyp  the cat sit on *** mat",
        "u1 op   C   C   S   C  D   C",
        "u1 #csid 4 1 0 1",
    ]
    pralign = (out_dir / "pralign.txt").read_text(encoding="utf-8")
    assert "id: (u2)\nScores: (#C #S #D #I) 2 0 0 1\nREF:  hello *** world\nHYP:  hello big world\nEval:       I\n" in pralign
    counts = (out_dir / "utt_counts.tsv").read_text(encoding="utf-8").splitlines()
    assert counts[1] == "u1\t6\t4\t1\t1\t0\t2"
    ops = (out_dir / "ops.tsv").read_text(encoding="utf-8").splitlines()
    assert "substitution\tsat\tsit\t1" in ops and "deletion\tthe\t***\t1" in ops and "insertion\t***\tbig\t1" in ops
    summary = (out_dir / "summary.md").read_text(encoding="utf-8")
    # Corr = 9/11, Sub = Del = Ins = 1/11, Err = 3/11, S.Err = 2/3
    assert "|test|3|11|81.8|9.1|9.1|9.1|27.3|66.7|" in summary
    assert (out_dir / "wer").read_text(encoding="utf-8").startswith("%WER 27.27 [ 3 / 11")


def test_strict_mode_error_is_one_line(tmp_path, run_cli):
    ref, hyp = _files(tmp_path)
    (tmp_path / "short.txt").write_text("u1 the cat\n", encoding="utf-8")
    code, out, err = run_cli(["score", "wer", ref, str(tmp_path / "short.txt")])
    assert code == 1 and out == ""
    assert err.strip().splitlines()[-1] == f"error: {tmp_path / 'short.txt'}: no hypothesis for utterance 'u2' (--mode strict; use present or all)"
    code, out, _ = run_cli(["score", "wer", ref, str(tmp_path / "short.txt"), "--mode", "present"])
    assert code == 0 and out.splitlines()[2] == "Scored 1 sentences, 2 not present in hyp."


def test_compare_and_bootstrap(tmp_path, run_cli):
    ref, hyp = _files(tmp_path)
    code, out, _ = run_cli(["score", "wer", ref, hyp, "--compare", ref, "--bootstrap", "200"])
    assert code == 0
    lines = out.splitlines()
    assert lines[3].startswith("Set1: %WER ") and "95% Conf Interval [" in lines[3]
    assert "WERR of Set2 over Set1: 100.00%" in out
    assert lines[-1] == "Probability of Set2 improving Set1: " + f"{100 * (1 - (1 / 3) ** 3):.2f}" or lines[-1].startswith("Probability of Set2 improving Set1: ")


def test_cer_on_trn(tmp_path, run_cli):
    (tmp_path / "ref.trn").write_text("今天 天气 很好 (s1-1)\n", encoding="utf-8")
    (tmp_path / "hyp.trn").write_text("今 天天 气很 坏 (s1-1)\n", encoding="utf-8")
    code, out, _ = run_cli(["score", "wer", str(tmp_path / "ref.trn"), str(tmp_path / "hyp.trn"), "--cer"])
    assert code == 0 and out.splitlines()[0] == "%WER 16.67 [ 1 / 6, 0 ins, 0 del, 1 sub ]"


def test_group_help_lists_plugged_in_commands(run_cli):
    code, out, _ = run_cli(["score", "--help"])
    assert code == 0
    for name in ("wer", "mos", "correction", "intelligibility", "ranking", "classification", "tts"):
        assert f"  {name} " in out


def test_missing_plugin_module_is_clear_error(run_cli, monkeypatch):
    from speechtools.cli import score as score_cli

    monkeypatch.setitem(score_cli.EXTERNAL, "nothere", ("speechtools.cli.score_nothere:x", "Nothing."))
    code, _, err = run_cli(["score", "nothere"])
    assert code == 1
    assert err.strip() == "error: 'score nothere' is not available: module speechtools.cli.score_nothere is not installed"


def test_n_best_oracle_and_its_text(tmp_path, run_cli):
    ref = tmp_path / "ref"
    ref.write_text("u1 the cat sat on the mat\nu2 hello world\nu3 a b c\n")
    nbest = tmp_path / "nbest.tsv"  # the asr_hyp.tsv format: the 1-best, then the n-best field
    nbest.write_text("u1\tthe cat sit on mat\tthe cat sat on mat ||| a cat sat on the mat\n"
                     "u2\thello world\thello world ||| hello word\nu3\tx y\n")
    oracle = tmp_path / "oracle.txt"
    code, out, _ = run_cli(["score", "wer", str(ref), str(nbest), "--n-best", "--oracle-text", str(oracle)])
    assert code == 0 and out.splitlines()[0] == "%WER 36.36 [ 4 / 11, 0 ins, 2 del, 2 sub ]"
    assert oracle.read_text() == "u1 the cat sat on mat\nu2 hello world\nu3 x y\n"
    kaldi = tmp_path / "nbest.txt"  # the same lists as Kaldi n-best text
    kaldi.write_text("u1-1 the cat sit on mat\nu1-2 the cat sat on mat\nu1-3 a cat sat on the mat\n"
                     "u2-1 hello world\nu2-2 hello word\nu3-1 x y\n")
    assert run_cli(["score", "wer", str(ref), str(kaldi), "--n-best"])[1] == out
    code, out, _ = run_cli(["score", "wer", str(ref), str(nbest), "--n-best", "--max-candidates", "1"])
    assert code == 0 and out.splitlines()[0] == "%WER 45.45 [ 5 / 11, 0 ins, 2 del, 3 sub ]"  # the 1-best alone


def test_n_best_errors_are_one_line(tmp_path, run_cli):
    ref = tmp_path / "ref"
    ref.write_text("u1 a b\n")
    bad = tmp_path / "bad.tsv"
    bad.write_text("u1\ta b\tx ||| ||| y\n")
    code, _, err = run_cli(["score", "wer", str(ref), str(bad), "--n-best"])
    assert code == 1 and err.strip() == f"error: {bad}:1: empty candidate 2 in the n-best field"
    code, _, err = run_cli(["score", "wer", str(ref), str(ref), "--max-candidates", "2"])
    assert code == 2 and "--max-candidates and --oracle-text need --n-best" in err and "Traceback" not in err
    code, _, err = run_cli(["score", "wer", str(ref), str(ref), "--n-best"])  # a plain Kaldi text is no n-best list
    assert code == 1 and err.strip().startswith(f"error: {ref}:1: expected '<uttid>-<rank> words'")
