"""Architecture search: supernet evaluation, candidate cost and its cache, the GBDT predictor, `speechtools nas search`."""

from __future__ import annotations

import json
import math
import shutil
from itertools import combinations
from pathlib import Path
from typing import List

import numpy as np
import pytest
import torch

from speechtools.models import MODELS
from speechtools.nas.cost import AdditiveEstimate, CostMeter, fixed_sentences
from speechtools.nas.evaluate import (FinetuneSettings, InheritedFinetune, SupernetEvaluator, build_standalone, held_out_losses,
                                       load_supernet)
from speechtools.nas.predictor import decode, encode, kendall_tau
from speechtools.nn.search_space import arch_from_ids, arch_ids, parse_arch
from speechtools.train.experiment import load_experiment

REPO = Path(__file__).resolve().parents[2]
ARCH_A = "sep5 mhsa2 ffn sep9 sep13 identity sep1 mhsa8"
ARCH_B = "identity sep25 sep5 mhsa4 ffn sep17 sep21 identity"


@pytest.fixture(scope="module")
def supernet(tiny_model_dir: Path, tmp_path_factory) -> Path:
    """A tiny supernet trained 24 updates (two fair blocks) on the session's 6-clip set; valid = train."""
    from speechtools.train.trainer import Trainer

    root = tiny_model_dir.parent
    data, dump = root / "data" / "train", root / "dump"
    config = tmp_path_factory.mktemp("supernet") / "supernet.yaml"
    config.write_text(
        f"base: {REPO / 'conf' / 'tts' / 'lightspeech_supernet_tiny.yaml'}\n"
        f"task_conf:\n  train_data: {data}\n  train_feats: {dump}\n  valid_data: {data}\n  valid_feats: {dump}\n"
        f"  token_list: {root / 'tokens.txt'}\n  stats: {dump / 'stats.npz'}\n  feats_conf: {REPO / 'conf' / 'feats' / 'mel22k.yaml'}\n"
        "trainer: {max_steps: 24, save_interval: 24, valid_interval: 0, log_interval: 12, batch_bins: 4000}\n"
    )
    out = config.parent / "exp"
    torch.set_num_threads(1)
    Trainer(load_experiment(config), out, device="cpu", show_progress=False).run()
    return out


def test_supernet_evaluation_equals_the_standalone_model_with_inherited_weights(supernet: Path, tiny_model_dir: Path):
    data, feats = str(tiny_model_dir.parent / "data" / "train"), str(tiny_model_dir.parent / "dump")
    loaded = load_supernet(supernet)
    evaluator = SupernetEvaluator(loaded, data, feats, batch_size=4)
    a, b = evaluator.evaluate(ARCH_A), evaluator.evaluate(ARCH_B)
    assert set(a) >= {"loss", "mel_loss", "duration_loss", "pitch_loss"} and a["loss"] != b["loss"]
    conf, state = loaded.model.standalone(ARCH_A)
    single = MODELS.build("lightspeech", conf, loaded.task)
    single.load_state_dict(state)
    single.eval()
    total, n = 0.0, 0
    with torch.inference_mode():
        for batch in evaluator.batches:
            k = batch["tokens"].size(0)
            total += float(loaded.task.validation_stats(single, batch)["mel_loss"]) * k
            n += k
    assert math.isclose(total / n, a["mel_loss"], rel_tol=1e-6)
    assert evaluator.evaluate(ARCH_A) == a  # deterministic


def test_latency_is_cached_per_architecture_and_thread_count(supernet: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch):
    data, feats = str(tiny_model_dir.parent / "data" / "train"), str(tiny_model_dir.parent / "dump")
    loaded = load_supernet(supernet)
    sentences = fixed_sentences(SupernetEvaluator(loaded, data, feats).dataset.items, 2)
    calls: List[int] = []
    real = CostMeter.measure

    def counting(self, model):
        calls.append(self.threads)
        return real(self, model)

    monkeypatch.setattr(CostMeter, "measure", counting)
    cache = tmp_path / "latency.json"
    one = CostMeter(loaded.model, loaded.task, sentences, threads=1, cache_path=cache, repeats=1)
    first = one.latency_ms(ARCH_A)
    assert first > 0 and one.latency_ms(ARCH_A) == first and len(calls) == 1
    assert one.latency_ms("2 8 11 3 4 12 1 10") == first and len(calls) == 1  # the same string in ids
    one.latency_ms(ARCH_B)
    two = CostMeter(loaded.model, loaded.task, sentences, threads=2, cache_path=cache, repeats=1)
    two.latency_ms(ARCH_A)
    assert calls == [1, 1, 2]
    again = CostMeter(loaded.model, loaded.task, sentences, threads=1, cache_path=cache, repeats=1)
    assert again.latency_ms(ARCH_A) == first and len(calls) == 3  # read back from the file
    stored = json.loads(cache.read_text())["latency_ms"]
    assert set(stored) == {f"{ARCH_A}|threads=1", f"{ARCH_B}|threads=1", f"{ARCH_A}|threads=2"}
    other_set = CostMeter(loaded.model, loaded.task, sentences[:1], threads=1, cache_path=cache, repeats=1)
    other_set.latency_ms(ARCH_A)  # another sentence set: not the cached number
    assert len(calls) == 4
    params, macs = one.size(ARCH_A)
    assert params == sum(p.numel() for p in one.build(ARCH_A).parameters()) and macs > 0
    assert one.size("12 12 12 12 12 12 12 12")[1] < macs


def test_kendall_tau_against_brute_force():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=9), rng.normal(size=9)
    pairs = list(combinations(range(9), 2))
    brute = sum(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j]) for i, j in pairs) / len(pairs)
    assert math.isclose(kendall_tau(x.tolist(), y.tolist()), brute)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0
    assert math.isnan(kendall_tau([1.0], [2.0]))


def test_one_hot_encoding_round_trips():
    archs = [ARCH_A, ARCH_B, "2 7 4 3 5 6 3 4"]
    features = encode(archs)
    assert features.shape == (3, 96) and (features.sum(axis=1) == 8).all()
    assert decode(features) == [arch_ids(a) for a in archs]


def _search(run_cli, supernet: Path, data: str, feats: str, out: Path, *extra: str):
    return run_cli(["nas", "search", "--supernet", str(supernet), "--data", data, "--feats", feats, "--out-dir", str(out),
                    "--budget", "8", "--initial", "5", "--per-round", "2", "--pool", "50", "--no-progress", *extra])


def test_search_is_deterministic_resumable_and_writes_a_trainable_config(supernet: Path, tiny_model_dir: Path, tmp_path: Path,
                                                                        run_cli, monkeypatch):
    data, feats = str(tiny_model_dir.parent / "data" / "train"), str(tiny_model_dir.parent / "dump")
    limit = ["--max-params", "50000", "--seed", "3"]
    code, out, err = _search(run_cli, supernet, data, feats, tmp_path / "a", *limit)
    assert code == 0, err
    log = json.loads((tmp_path / "a" / "search.json").read_text())
    entries = log["evaluated"]
    assert len(entries) == 8 and [e["source"] for e in entries] == ["random"] * 5 + ["predictor"] * 3
    assert all(e["params"] <= 50000 for e in entries) and log["summary"]["random_draws_skipped_by_estimate"] > 0 and len({e["arch"] for e in entries}) == 8
    assert all(e["predicted_loss"] is not None for e in entries[5:])
    best = min(entries, key=lambda e: e["loss"])
    assert out.strip() == best["arch"] == log["summary"]["best_arch"]
    assert (tmp_path / "a" / "best_arch.txt").read_text().strip() == best["arch"]
    assert "kendall_tau_initial_cross_validated" in log["summary"] and "kendall_tau_proposed" in log["summary"]
    experiment = load_experiment(tmp_path / "a" / "lightspeech_nas.yaml")
    assert experiment.model == "lightspeech" and experiment.model_conf.arch == best["arch"]
    assert experiment.model_conf.dim == 32 and experiment.trainer.max_steps == 24
    # the same seed: the same candidates and losses
    assert _search(run_cli, supernet, data, feats, tmp_path / "b", *limit)[0] == 0
    again = json.loads((tmp_path / "b" / "search.json").read_text())["evaluated"]
    assert [(e["arch"], e["loss"]) for e in again] == [(e["arch"], e["loss"]) for e in entries]
    # killed after 6 evaluations: the re-run evaluates only the 2 missing ones and ends the same
    partial = dict(log, evaluated=entries[:6])
    partial.pop("summary")
    (tmp_path / "b" / "search.json").write_text(json.dumps(partial))
    evaluated: List[str] = []
    real = SupernetEvaluator.evaluate
    monkeypatch.setattr(SupernetEvaluator, "evaluate", lambda self, arch: evaluated.append(arch) or real(self, arch))
    code, out2, _ = _search(run_cli, supernet, data, feats, tmp_path / "b", *limit)
    assert code == 0 and out2 == out and evaluated == [e["arch"] for e in entries[6:]]
    # other options over the same folder: refused in one line
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "b", "--max-params", "50000", "--seed", "4")
    assert code == 1 and err.count("\n") == 1 and "other settings" in err


def test_a_constraint_no_architecture_meets_is_one_line(supernet: Path, tiny_model_dir: Path, tmp_path: Path, run_cli):
    data, feats = str(tiny_model_dir.parent / "data" / "train"), str(tiny_model_dir.parent / "dump")
    code, out, err = _search(run_cli, supernet, data, feats, tmp_path / "p", "--max-params", "1000")
    assert code == 1 and out == "" and err.count("\n") == 1 and "smallest (all identity) has" in err
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "l", "--max-latency-ms", "0.000001", "--latency-sentences", "1")
    assert code == 1 and err.count("\n") == 1 and "fastest (all identity) takes" in err
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "n")
    assert code == 1 and err.count("\n") == 1 and "--max-latency-ms or --max-params" in err
    code, _, err = run_cli(["nas", "search", "--supernet", str(tiny_model_dir), "--data", data, "--feats", feats,
                            "--out-dir", str(tmp_path / "x"), "--budget", "4", "--max-params", "1000000"])
    assert code == 1 and err.count("\n") == 1 and "not a supernet" in err


def test_nas_cost_prints_size_and_latency_and_refuses_a_wrong_length(supernet: Path, tiny_model_dir: Path, run_cli):
    data, feats = str(tiny_model_dir.parent / "data" / "train"), str(tiny_model_dir.parent / "dump")
    base = ["nas", "cost", "--supernet", str(supernet), "--data", data, "--feats", feats, "--latency-sentences", "1", "--repeats", "1"]
    code, out, err = run_cli(base + ["--arch", "2 7 4 3 5 6 3 4", "--arch", ARCH_A])
    assert code == 0, err
    rows = [line.split("\t") for line in out.splitlines()]
    assert [r[0] for r in rows] == ["sep5 sep25 sep13 sep9 sep17 sep21 sep9 sep13", ARCH_A]
    assert all(int(r[1]) > 0 and int(r[2]) > 0 and float(r[3]) > 0 for r in rows)
    code, out, err = run_cli(base + ["--arch", "sep5 sep5"])
    assert code == 1 and out == "" and err.count("\n") == 1 and "8 layers" in err


def test_the_additive_estimate_recovers_an_additive_cost_and_parameters_are_counted_exactly(supernet: Path, tiny_model_dir: Path):
    rng = np.random.default_rng(1)
    weights = {"encoder": rng.uniform(0, 3, 13), "decoder": rng.uniform(0, 9, 13)}
    weights["encoder"][12] = weights["decoder"][12] = 0.0
    cost = lambda arch: 2.0 + sum(weights["encoder" if i < 3 else "decoder"][k] for i, k in enumerate(arch_ids(arch)))  # noqa: E731
    estimate = AdditiveEstimate(cost, 3, 5)
    for _ in range(20):
        arch = arch_from_ids(rng.integers(1, 13, size=8).tolist())
        assert math.isclose(estimate(arch), cost(arch))
    data, feats = str(tiny_model_dir.parent / "data" / "train"), str(tiny_model_dir.parent / "dump")
    loaded = load_supernet(supernet)
    meter = CostMeter(loaded.model, loaded.task, fixed_sentences(SupernetEvaluator(loaded, data, feats).dataset.items, 1))
    for arch in (ARCH_A, ARCH_B, "12 12 12 12 12 12 12 12"):
        assert meter.param_count(arch) == meter.size(arch)[0]


def test_a_latency_limited_search_measures_only_plausible_candidates_and_keeps_the_limit(supernet: Path, tiny_model_dir: Path,
                                                                                       tmp_path: Path, run_cli, monkeypatch):
    data, feats = str(tiny_model_dir.parent / "data" / "train"), str(tiny_model_dir.parent / "dump")
    measured: List[str] = []

    def fake(self, model):  # a deterministic latency: identity costs 0, sep1 11; plus a non-additive term
        arch = f"{model.encoder.arch} {model.decoder.arch}"
        measured.append(arch)
        ids = arch_ids(arch)
        return float(sum(12 - i for i in ids)) + 3.0 * (ids[0] == ids[-1])

    monkeypatch.setattr(CostMeter, "measure", fake)
    code, out, err = _search(run_cli, supernet, data, feats, tmp_path / "lat", "--max-latency-ms", "30")
    assert code == 0, err
    log = json.loads((tmp_path / "lat" / "search.json").read_text())
    assert all(e["latency_ms"] <= 30 for e in log["evaluated"]) and len(log["evaluated"]) == 8
    summary = log["summary"]
    assert summary["random_draws_skipped_by_estimate"] > 0 and summary["latency_estimate_ms"]["all_identity"] == 3.0
    assert summary["latency_estimate_ms"]["decoder"]["sep1"] == 11.0  # (11 + 3) - 3: measured minus all-identity
    # each architecture measured once (the cache): all-identity, the 22 one-operation ones, then candidates that passed the screen
    assert len(measured) == len(set(measured)) >= 23 + 8


def _finetune(loaded, tiny_model_dir: Path, steps: int, lr: float = 1e-3, seed: int = 5) -> InheritedFinetune:
    data, feats = tiny_model_dir.parent / "data" / "train", tiny_model_dir.parent / "dump"
    return InheritedFinetune(loaded, data, feats, FinetuneSettings(steps=steps, lr=lr), seed=seed)


def test_finetuned_evaluation_trains_the_candidate_from_inherited_weights_and_leaves_the_supernet(supernet: Path, tiny_model_dir: Path):
    data, feats = str(tiny_model_dir.parent / "data" / "train"), str(tiny_model_dir.parent / "dump")
    loaded = load_supernet(supernet)
    shared = SupernetEvaluator(loaded, data, feats, batch_size=4)
    before = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    plain = shared.evaluate(ARCH_A)
    # zero steps: the evaluation is the shared weights' (the standalone model of inherited weights is that path)
    assert SupernetEvaluator(loaded, data, feats, batch_size=4, finetune=_finetune(loaded, tiny_model_dir, 0)).evaluate(ARCH_A) == plain
    untouched = held_out_losses(loaded.task, build_standalone(loaded.model, loaded.task, ARCH_A), shared.batches)
    assert math.isclose(untouched["loss"], plain["loss"], rel_tol=1e-6)
    tuned = SupernetEvaluator(loaded, data, feats, batch_size=4, finetune=_finetune(loaded, tiny_model_dir, 6))
    after = tuned.evaluate(ARCH_A)
    # six updates at 1e-3 on the same six clips: the (held-out = training) loss goes down
    assert after["loss"] < plain["loss"]
    assert tuned.evaluate(ARCH_A) == after  # the same batches and dropout seed every time
    assert all(torch.equal(v, before[k]) for k, v in loaded.model.state_dict().items())
    assert shared.evaluate(ARCH_A) == plain


def test_the_finetune_equals_the_trainer_started_from_the_inherited_weights(supernet: Path, tiny_model_dir: Path, tmp_path: Path):
    """Independent reference: `speechtools train` with init_from, a constant rate and the same seed gives the same weights."""
    from speechtools.nas.export import write_train_config
    from speechtools.train.trainer import Trainer

    loaded = load_supernet(supernet)
    conf, state = loaded.model.standalone(ARCH_B)
    torch.save({"model": state}, tmp_path / "inherited.pt")
    write_train_config(supernet / "config.yaml", conf, tmp_path / "standalone.yaml")
    (tmp_path / "finetune.yaml").write_text(
        "base: standalone.yaml\noptim: {lr: 0.001}\nscheduler: {name: constant, warmup_steps: 0}\n"
        f"trainer: {{max_steps: 3, save_interval: 3, valid_interval: 0, log_interval: 3, ema_decay: 0.0, average_last: 1, seed: 5,"
        f" init_from: {{path: {tmp_path / 'inherited.pt'}}}}}\n"
    )
    torch.set_num_threads(1)
    Trainer(load_experiment(tmp_path / "finetune.yaml"), tmp_path / "exp", device="cpu", show_progress=False).run()
    reference = torch.load(tmp_path / "exp" / "model.pt", map_location="cpu")
    reference = reference.get("model", reference)
    ours = _finetune(loaded, tiny_model_dir, 3, lr=1e-3, seed=5).train(ARCH_B).state_dict()
    assert set(ours) == set(reference)
    assert all(torch.allclose(ours[k], reference[k], atol=1e-6) for k in ours)


def test_a_finetuned_search_records_its_settings_and_refuses_other_ones(supernet: Path, tiny_model_dir: Path, tmp_path: Path, run_cli):
    data, feats = str(tiny_model_dir.parent / "data" / "train"), str(tiny_model_dir.parent / "dump")
    limit = ["--max-params", "50000", "--seed", "3", "--budget", "4", "--initial", "3", "--per-round", "1"]
    code, out, err = _search(run_cli, supernet, data, feats, tmp_path / "f", *limit, "--finetune-steps", "2", "--objective", "mel_loss")
    assert code == 0, err
    log = json.loads((tmp_path / "f" / "search.json").read_text())
    assert log["settings"]["finetune"] == {"steps": 2, "lr": 3e-4} and len(log["evaluated"]) == 4
    assert log["finetune_data"] == str(Path(data).resolve()) and log["finetune_feats"] == str(Path(feats).resolve())
    assert log["settings"]["objective"] == log["summary"]["objective"] == "mel_loss"
    assert out.strip() == min(log["evaluated"], key=lambda e: e["mel_loss"])["arch"] == log["summary"]["best_arch"]
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "f", *limit, "--finetune-steps", "3", "--objective", "mel_loss")
    assert code == 1 and err.count("\n") == 1 and "other settings (settings)" in err
    # the same options on other fine-tune data: its evaluations would not be these, so refused too
    other = tmp_path / "other_train"
    shutil.copytree(data, other)
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "f", *limit, "--finetune-steps", "2", "--objective", "mel_loss",
                           "--finetune-data", str(other))
    assert code == 1 and err.count("\n") == 1 and "other settings (finetune_data)" in err
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "g", *limit)
    settings = json.loads((tmp_path / "g" / "search.json").read_text())["settings"]
    assert code == 0 and "finetune" not in settings and "objective" not in settings  # a default log reads as before
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "o", *limit, "--objective", "mcd")
    assert code == 1 and err.count("\n") == 1 and "--objective must be one of" in err
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "h", *limit, "--finetune-steps", "2",
                           "--finetune-data", str(tmp_path / "missing"))
    assert code == 1 and err.count("\n") == 1 and "missing" in err


def test_included_architectures_are_evaluated_first_and_kept_apart_from_the_random_sample(supernet: Path, tiny_model_dir: Path,
                                                                                          tmp_path: Path, run_cli):
    data, feats = str(tiny_model_dir.parent / "data" / "train"), str(tiny_model_dir.parent / "dump")
    ids_a = " ".join(str(op.op_id) for op in parse_arch(ARCH_A))
    common = ["--max-params", "1000000", "--seed", "3"]
    code, out, err = _search(run_cli, supernet, data, feats, tmp_path / "i", *common, "--include-arch", ids_a,
                             "--include-arch", ARCH_A)
    assert code == 0, err
    log = json.loads((tmp_path / "i" / "search.json").read_text())
    entries = log["evaluated"]
    # ids and names of one architecture are one candidate, evaluated first, outside the 5 random ones
    assert log["settings"]["include"] == [ARCH_A]
    assert [e["source"] for e in entries] == ["given"] + ["random"] * 5 + ["predictor"] * 2 and entries[0]["arch"] == ARCH_A
    assert ARCH_A not in [e["arch"] for e in entries[1:]]
    plain = _search(run_cli, supernet, data, feats, tmp_path / "p", *common)
    assert plain[0] == 0
    without = json.loads((tmp_path / "p" / "search.json").read_text())
    # the shared-weight evaluation is the same whether given or drawn; the random sample is the run without it
    assert math.isclose(entries[0]["loss"], SupernetEvaluator(load_supernet(supernet), data, feats).evaluate(ARCH_A)["loss"], rel_tol=1e-6)
    assert [e["arch"] for e in entries[1:6]] == [e["arch"] for e in without["evaluated"][:5]]
    assert out.strip() == min(entries, key=lambda e: e["loss"])["arch"]
    # resumed with another list: refused; a given architecture over the limit, of the wrong length, unknown: one line each
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "i", *common, "--include-arch", ARCH_B)
    assert code == 1 and err.count("\n") == 1 and "other settings (settings)" in err
    limit = str(entries[0]["params"] - 1)
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "o", "--max-params", limit, "--include-arch", ARCH_A)
    assert code == 1 and err.count("\n") == 1 and f"fails the constraint: {entries[0]['params']} parameters, over --max-params {limit}" in err
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "w", *common, "--include-arch", "sep5 sep9")
    assert code == 1 and err.count("\n") == 1 and "has 2 operations" in err
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "u", *common, "--include-arch", "sep6 " * 8)
    assert code == 1 and err.count("\n") == 1 and "--include-arch: unknown operation 'sep6'" in err
    code, _, err = _search(run_cli, supernet, data, feats, tmp_path / "b", *common, "--include-arch", ARCH_A, "--budget", "5",
                           "--initial", "5")
    assert code == 1 and err.count("\n") == 1 and "--budget 5 is less than --initial (5) plus 1 --include-arch" in err
