"""The mini path of egs/kathleen/lightspeech_nas on the bundled LJSpeech mini corpus: supernet -> search under
a CPU-latency limit -> the found architecture trained from scratch (stages 4-6) -> the reference and one random
architecture trained alike -> synthesis, scoring and the comparison table of the three (stages 8-9).

Stages 1-3 are egs/TEMPLATE/tts.sh's, run end to end by the other recipe smoke tests; here their outputs
(data/, dump/, tokens, durations) are built in-process (prior-only MAS durations instead of the aligner)
so the recipe's own stages fit the CI budget.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from speechtools.data.kaldi import read_table

ROOT = Path(__file__).resolve().parents[2]
FEATS_CONF = ROOT / "conf" / "feats" / "mel22k.yaml"


def _recipe_copy(tmp_path: Path) -> Path:
    (tmp_path / "egs" / "kathleen").mkdir(parents=True)
    work = tmp_path / "egs" / "kathleen" / "lightspeech_nas"
    shutil.copytree(ROOT / "egs" / "kathleen" / "lightspeech_nas", work)
    (tmp_path / "egs" / "TEMPLATE").symlink_to(ROOT / "egs" / "TEMPLATE")
    for shared in ("local", "conf"):
        (tmp_path / shared).symlink_to(ROOT / shared)
    return work


def _stages_1_to_3(work: Path) -> None:
    """data/{train,dev,eval}, dump/<set>, stats, tokens (all sets + inventory) and durations, as tts.sh lays them out."""
    from speechtools.align.mas import durations_from_path, maximum_path
    from speechtools.align.prior import beta_binomial_log_prior
    from speechtools.audio.store import FeatureStore
    from speechtools.cli.main import cli
    from speechtools.data.corpora.ljspeech import prepare_ljspeech
    from speechtools.data.kaldi import write_durations
    from speechtools.text.frontend import get_frontend
    from speechtools.tts.inventory import extend_token_list

    torch.set_num_threads(1)
    data, dump = work / "data", work / "dump"
    prepare_ljspeech(data)
    run = lambda *args: cli.main(args=[str(a) for a in args], prog_name="speechtools", standalone_mode=False)  # noqa: E731
    for s in ("train", "dev", "eval"):
        run("extract-feats", data / s, dump / s, "--conf", FEATS_CONF, "--no-progress")
    run("compute-stats", dump / "train", "--out", dump / "train" / "stats.npz", "--no-progress")
    (data / "token_text").mkdir()
    lines = sorted({line for s in ("train", "dev", "eval") for line in (data / s / "text").read_text().splitlines()})
    (data / "token_text" / "text").write_text("".join(f"{line}\n" for line in lines))
    run("make-tokens", data / "token_text", "--frontend", "en_phone", "--out", data / "tokens.txt")
    extend_token_list(data / "tokens.txt", "en_phone")
    frontend = get_frontend("en_phone")
    for s in ("train", "dev", "eval"):
        texts, shapes = read_table(data / s / "text"), FeatureStore(dump / s).shapes("mel")
        durations = {}
        for uttid, text in texts.items():
            n, t = len(frontend.tokenize(text)), int(shapes[uttid][0])
            prior = beta_binomial_log_prior(torch.tensor([n]), torch.tensor([t])).clamp(min=-1e4)
            durations[uttid] = durations_from_path(maximum_path(prior.transpose(1, 2), torch.tensor([n]), torch.tensor([t])))[0].tolist()
        write_durations(data / s / "durations", durations)


@pytest.mark.slow
def test_lightspeech_nas_recipe_mini_path(tmp_path, recipe_env):
    work = _recipe_copy(tmp_path)
    _stages_1_to_3(work)
    env = recipe_env
    args = ["--stage", "4", "--device", "cpu", "--asr", "false", "--data-prep", "ljspeech",
            "--supernet-conf", "conf/supernet_tiny.yaml", "--conf", "conf/lightspeech_tiny.yaml",
            "--supernet-steps", "12", "--max-steps", "5", "--budget", "4", "--max-latency-ms", "500",
            "--latency-sentences", "2", "--repeats", "1", "--random-rows", "1", "--finetune-steps", "2", "--include-reference", "true", "--gl-iters", "4", "--search-args", "--initial 2 --per-round 2 --pool 20 --no-progress"]
    # stage 7 (tts.sh's synthesis and scoring of the found row) is skipped: stage 9 scores that row too
    for stages in (["--stop-stage", "6"], ["--stage", "8"]):
        result = subprocess.run(["bash", "run.sh", *args, *stages], cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = json.loads((work / "exp" / "nas" / "search.json").read_text())
    best = (work / "exp" / "nas" / "best_arch.txt").read_text().strip()
    assert len(log["evaluated"]) == 4 and best == log["summary"]["best_arch"]
    assert log["settings"]["finetune"]["steps"] == 2  # each candidate fine-tuned 2 updates before its evaluation
    reference = "sep5 sep25 sep13 sep9 sep17 sep21 sep9 sep13"
    assert [e["source"] for e in log["evaluated"]] == ["given", "random", "random", "predictor"]  # --include-reference true
    assert log["evaluated"][0]["arch"] == reference
    assert all(0 < e["latency_ms"] <= 500 for e in log["evaluated"])
    config = (work / "exp" / "lightspeech_nas" / "config.yaml").read_text()
    assert "model: lightspeech\n" in config and best in config
    assert "  dim: 32\n" in config and "max_steps: 5\n" in config  # the supernet's (measured) widths, --conf's schedule
    decode = work / "exp" / "compare" / "lightspeech_nas" / "decode_eval"
    assert set(read_table(decode / "wav.scp")) == set(read_table(work / "data" / "eval" / "text"))
    assert "MCD" in (work / "exp" / "compare" / "lightspeech_nas" / "scoring" / "summary.txt").read_text()
    # stages 8-9: the reference and the first random candidate that is not the found one, trained alike, in one table
    first_random = next(e["arch"] for e in sorted(log["evaluated"], key=lambda e: e["index"])
                        if e["source"] == "random" and e["arch"] != best)
    assert f'arch: "{first_random}"' in (work / "exp" / "nas" / "compare" / "random1.yaml").read_text()
    assert reference in (work / "exp" / "reference" / "config.yaml").read_text()
    assert "max_steps: 5\n" in (work / "exp" / "random1" / "config.yaml").read_text()
    table = json.loads((work / "exp" / "results.json").read_text())
    assert list(table["systems"]) == ["lightspeech_nas", "reference", "random1"]
    for row in table["systems"].values():
        assert row["params_m"]["value"] > 0 and row["rtf"]["value"] > 0 and row["mcd_db"]["value"] > 0
    assert [(v["a"], v["b"]) for v in table["versus"]] == [("lightspeech_nas", "reference"), ("lightspeech_nas", "random1")]
    # the paired bootstrap of the found row against each other row (one run each here; --extra-seeds adds runs)
    paired = json.loads((work / "exp" / "paired.json").read_text())["differences"]
    assert [(d["b"], d["metric"]) for d in paired] == [(b, m) for b in ("reference", "random1") for m in ("mcd_db", "p808_mos", "ovrl_mos")]
    mcd = {row: value["mcd_db"]["value"] for row, value in table["systems"].items()}
    assert paired[0]["difference"] == pytest.approx(mcd["lightspeech_nas"] - mcd["reference"])
