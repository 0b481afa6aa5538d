"""egs/kathleen/lrspeech/local/data.sh on fixture corpora in the real layouts and file names: Kathleen's 593
ARCTIC prompt ids (wavs/arctic_aNNNN.flac + text.psv), Philipp's 141 clips (LJSpeech layout), a folder of
plain-text prose; the LJSpeech mini corpus is the bundled one. Checks the five data conditions' sizes, that
no held-out prompt is in the unpaired data, and that the unpaired speech carries no text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from speechtools.data.corpora.philipp import ADAPT_IDS, EVAL_IDS
from speechtools.data.kaldi import read_table

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "tests" / "fixtures" / "audio" / "LJ001-0008.flac"


def fixture_corpora(root: Path) -> dict:
    kathleen = root / "kathleen"
    (kathleen / "wavs").mkdir(parents=True)
    lines = []
    for k in range(1, 594):
        uttid = f"arctic_a{k:04d}"
        (kathleen / "wavs" / f"{uttid}.flac").symlink_to(CLIP)
        lines.append(f"{uttid}|Prompt number {k} was read in the studio.\n")
    (kathleen / "text.psv").write_text("".join(lines))
    philipp = root / "philipp"
    (philipp / "wavs").mkdir(parents=True)
    for uttid in ADAPT_IDS + EVAL_IDS:
        (philipp / "wavs" / f"{uttid}.flac").symlink_to(CLIP)
    (philipp / "metadata.csv").write_text("".join(f"{u}|A line of Philipp.|A line of Philipp.\n" for u in ADAPT_IDS + EVAL_IDS))
    prose = root / "english_text"
    prose.mkdir()
    sentences = [f"The old sailor counted {word} ships along the quiet harbour wall." for word in
                 ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "many")]
    sentences.append("Prompt number 7 was read in the studio today.")  # overlaps a held-out Kathleen prompt
    (prose / "book.txt").write_text("\n".join(sentences) + "\n")
    return {"kathleen": kathleen, "philipp": philipp, "text": prose}


def test_kathleen_lrspeech_data_conditions(tmp_path):
    corpora = fixture_corpora(tmp_path / "corpora")
    egs = tmp_path / "egs" / "kathleen"
    shutil.copytree(ROOT / "egs" / "kathleen" / "lrspeech", egs / "lrspeech", ignore=shutil.ignore_patterns("data", "dump", "exp"))
    shutil.copytree(ROOT / "egs" / "kathleen" / "fastcorrect" / "local", egs / "fastcorrect" / "local")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    work = egs / "lrspeech"
    result = subprocess.run(["bash", "local/data.sh", "--out", "data", "--corpus", str(corpora["kathleen"]),
                             "--corpus-philipp", str(corpora["philipp"]), "--text-corpus", str(corpora["text"]), "--num-text", "5"],
                            cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = work / "data"
    sizes = {s: len(read_table(data / s / "wav.scp")) for s in ("target", "lowq", "unpaired_speech", "target_all", "dev", "test")}
    assert sizes == {"target": 50, "lowq": 141 + 32, "unpaired_speech": 393, "target_all": 443, "dev": 50, "test": 100}
    target = set(read_table(data / "target" / "wav.scp"))
    assert target == set((work / "local" / "target_ids.txt").read_text().split())
    held_out = set(read_table(data / "test" / "wav.scp")) | set(read_table(data / "dev" / "wav.scp"))
    unpaired = set(read_table(data / "unpaired_speech" / "wav.scp"))
    assert not unpaired & (held_out | target) and unpaired | target == set(read_table(data / "target_all" / "wav.scp"))
    assert not (data / "unpaired_speech" / "text").exists()
    assert set(read_table(data / "lowq" / "utt2spk").values()) == {"philipp", "LJ"}
    text = read_table(data / "unpaired_text" / "text")
    assert len(text) == 5 and all(u.startswith("text_") for u in text)
    assert all("prompt number" not in t for t in (data / "unpaired_text" / "corpus.txt").read_text().splitlines())
