"""``speechtools nas``: LightSpeech's architecture search on the user's data and CPU (GBDT-NAS over a supernet)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_DIR, OUTPUT_FILE, FiniteRange


@click.group()
def nas() -> None:
    """Search a LightSpeech architecture for your data and CPU.

    Train a supernet (model: lightspeech_supernet) with `speechtools train`, then search it under
    a parameter or CPU-latency limit; train the found architecture from scratch with the config
    the search writes.

    \b
    Examples:
      speechtools train --config conf/tts/lightspeech_supernet.yaml --out-dir exp/supernet --set task_conf.train_data=data/train ...
      speechtools nas search --supernet exp/supernet --data data/dev --feats dump/dev --budget 40 --max-latency-ms 8 --out-dir exp/nas
    """


@nas.command("search")
@click.option("--supernet", required=True, help="Trained supernet model directory (model: lightspeech_supernet).")
@click.option("--data", "data_dir", required=True, help="Held-out data directory (text, durations) to evaluate candidates on.")
@click.option("--feats", required=True, help="Feature store of that set (dump/<set>).")
@click.option("--out-dir", required=True, type=OUTPUT_DIR,
              help="Search folder: search.json (every evaluated candidate), latency_cache.json, best_arch.txt, lightspeech_nas.yaml.")
@click.option("--budget", type=click.IntRange(min=2), required=True, help="Candidates to evaluate with the supernet.")
@click.option("--max-latency-ms", type=FiniteRange(low=0.0), default=None,
              help="Latency limit: ms per sentence at batch 1, measured here on the first --latency-sentences of --data.")
@click.option("--max-params", type=click.IntRange(min=1), default=None, help="Parameter limit of the standalone model.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the random draws and the predictor.")
@click.option("--initial", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random candidates evaluated before the predictor is first fitted (0: half the budget).")
@click.option("--per-round", type=click.IntRange(min=1), default=4, show_default=True, help="Candidates proposed per round.")
@click.option("--pool", type=click.IntRange(min=1), default=1000, show_default=True, help="Random candidates ranked per round.")
@click.option("--max-draws", type=click.IntRange(min=1), default=500, show_default=True,
              help="Random draws that may fail the constraint before the search gives up.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="CPU threads of the latency measurement.")
@click.option("--latency-sentences", type=click.IntRange(min=1), default=20, show_default=True,
              help="Sentences of --data (first by id) timed per candidate.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True, help="Timed passes per candidate (the fastest counts).")
@click.option("--latency-slack", type=FiniteRange(low=0.0), default=0.1, show_default=True,
              help="Candidates whose additive latency estimate exceeds the limit by more than this fraction are not measured.")
@click.option("--latency-cache", type=OUTPUT_FILE, default=None, help="Latency cache to use [default: OUT_DIR/latency_cache.json].")
@click.option("--train-config", default=None,
              help="Training settings (optim, scheduler, trainer, task) of the written config [default: the supernet's]; "
                   "the model is the measured one (the supernet's settings with the found arch).")
@click.option("--finetune-steps", type=click.IntRange(min=0), default=0, show_default=True,
              help="Train each candidate this many updates from the supernet's weights before evaluating it (0: the shared "
                   "weights as they are).")
@click.option("--finetune-lr", type=FiniteRange(low=0.0), default=3e-4, show_default=True,
              help="Constant learning rate of that fine-tune.")
@click.option("--finetune-data", default=None, help="Data directory of the fine-tune [default: the supernet's training set].")
@click.option("--finetune-feats", default=None, help="Its feature store [default: the supernet's training features].")
@click.option("--objective", default="loss", show_default=True,
              help="Held-out loss term to minimise: loss (the total training loss), mel_loss, duration_loss or pitch_loss.")
@click.option("--include-arch", "include_arch", multiple=True,
              help="An architecture to evaluate first (repeatable), e.g. a published one: it must meet the limit, may be the "
                   "answer, and is not part of the random sample.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def search(supernet: str, data_dir: str, feats: str, out_dir: str, budget: int, max_latency_ms: Optional[float],
           max_params: Optional[int], seed: int, initial: int, per_round: int, pool: int, max_draws: int, threads: int,
           latency_sentences: int, repeats: int, latency_slack: float, latency_cache: Optional[str], train_config: Optional[str],
           finetune_steps: int, finetune_lr: float, finetune_data: Optional[str], finetune_feats: Optional[str],
           objective: str, include_arch: Tuple[str, ...], progress: bool) -> None:
    """Predictor-based search (GBDT-NAS) under a parameter or measured CPU-latency limit.

    Evaluates random candidates with the supernet's shared weights (held-out loss), fits a
    gradient-boosted-tree predictor of the loss, evaluates the best-ranked candidates that meet
    the limit, and repeats until --budget candidates are evaluated. Re-running with the same
    options resumes. Prints the best architecture string.

    With --finetune-steps N each candidate is trained N updates from the supernet's weights
    (on the supernet's training set, the same batches for every candidate) before its held-out
    loss is taken: slower, but it ranks candidates closer to their from-scratch quality when the
    shared weights alone do not.

    \b
    Example:
      speechtools nas search --supernet exp/supernet --data data/dev --feats dump/dev --budget 40 --max-params 1000000 --out-dir exp/nas
    """
    from speechtools.fileio import write_lines
    from speechtools.nas.cost import CostMeter, fixed_sentences
    from speechtools.nas.evaluate import FinetuneSettings, InheritedFinetune, SupernetEvaluator, load_supernet
    from speechtools.nas.export import write_train_config
    from speechtools.nas.search import Search, SearchSettings

    settings = SearchSettings(budget=budget, max_latency_ms=max_latency_ms, max_params=max_params, seed=seed, initial=initial,
                              per_round=per_round, pool=pool, max_draws=max_draws, threads=threads,
                              latency_sentences=latency_sentences, repeats=repeats, latency_slack=latency_slack,
                              finetune=FinetuneSettings(steps=finetune_steps, lr=finetune_lr), objective=objective,
                              include=list(include_arch))
    loaded = load_supernet(supernet)
    context = {"supernet": str(Path(supernet).resolve()), "data": str(Path(data_dir).resolve())}
    finetune = None
    if finetune_steps:
        task_conf = loaded.task.conf
        tune_data, tune_feats = finetune_data or task_conf.train_data, finetune_feats or task_conf.train_feats
        finetune = InheritedFinetune(loaded, tune_data, tune_feats, settings.finetune, seed=seed)
        context.update(finetune_data=str(Path(tune_data).resolve()), finetune_feats=str(Path(tune_feats).resolve()))
    evaluator = SupernetEvaluator(loaded, data_dir, feats, finetune=finetune)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meter = CostMeter(loaded.model, loaded.task, fixed_sentences(evaluator.dataset.items, latency_sentences), threads=threads,
                      cache_path=latency_cache or out / "latency_cache.json", repeats=repeats)
    context["cpu"] = meter.cache.meta["cpu"]
    result = Search(evaluator, meter, settings, out, context, progress=progress).run()
    best = result.best["arch"]
    write_lines(out / "best_arch.txt", [best])
    write_train_config(train_config or Path(supernet) / "config.yaml", loaded.model.standalone(best)[0], out / "lightspeech_nas.yaml")
    s = result.summary
    tau = s["kendall_tau_initial_cross_validated"]
    click.echo(f"evaluated {s['evaluated']}; best {objective} {s['best_loss']:.4f}; "
               f"predictor Kendall tau (held-out random candidates) {'n/a' if tau is None else f'{tau:.3f}'}", err=True)
    click.echo(best)


@nas.command("cost")
@click.option("--supernet", required=True, help="Trained supernet model directory (model: lightspeech_supernet).")
@click.option("--data", "data_dir", required=True, help="Data directory whose first --latency-sentences are timed.")
@click.option("--feats", required=True, help="Feature store of that set (dump/<set>).")
@click.option("--arch", "archs", required=True, multiple=True, help="Architecture string (names or ids), repeatable.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="CPU threads of the latency measurement.")
@click.option("--latency-sentences", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True, help="Timed passes (the fastest counts).")
@click.option("--latency-cache", type=OUTPUT_FILE, default=None, help="Latency cache to read and extend (e.g. a search's).")
def cost(supernet: str, data_dir: str, feats: str, archs: tuple, threads: int, latency_sentences: int, repeats: int,
         latency_cache: Optional[str]) -> None:
    """Parameters, MACs and measured CPU latency of architectures, one tab-separated line each.

    Columns: architecture, parameters, MACs (median sentence), ms per sentence at batch 1. The
    model is the standalone LightSpeech of the string with the supernet's settings.

    \b
    Example:
      speechtools nas cost --supernet exp/supernet --data data/dev --feats dump/dev --arch "2 7 4 3 5 6 3 4"
    """
    from speechtools.errors import UserError
    from speechtools.nas.cost import CostMeter, fixed_sentences
    from speechtools.nas.evaluate import SupernetEvaluator, load_supernet
    from speechtools.nn.search_space import canonical_arch

    loaded = load_supernet(supernet)
    evaluator = SupernetEvaluator(loaded, data_dir, feats)
    meter = CostMeter(loaded.model, loaded.task, fixed_sentences(evaluator.dataset.items, latency_sentences), threads=threads,
                      cache_path=latency_cache, repeats=repeats)
    for arch in archs:
        try:
            loaded.model.split(arch)
        except ValueError as exc:
            raise UserError(f"--arch: {exc}") from None
        c = meter.cost(arch)
        click.echo(f"{canonical_arch(arch)}\t{c.params}\t{c.macs}\t{c.latency_ms:.3f}")
