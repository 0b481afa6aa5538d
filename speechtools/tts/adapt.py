"""Custom-voice adaptation of an AdaSpeech model directory (``speechtools adapt``; AdaSpeech Sec. 2.3, AdaSpeech 2).

:func:`adapt` fine-tunes a source model directory on a few utterances of one new speaker through the
project's :class:`~speechtools.train.trainer.Trainer` (``trainer.init_from`` + ``trainer.trainable``;
the task is :class:`~speechtools.tasks.tts_adaptation.SpeakerAdaptationTask`) and writes an ordinary
``task: tts`` model directory whose speaker list is the source's plus the new speaker:

* the new speaker is embedding row ``K`` (``K`` = the source's number of speakers), initialised to
  the mean of the source rows; a single-speaker source's row is named :data:`SOURCE_SPEAKER`;
* what trains is chosen by ``mode`` (:data:`ADAPT_MODES`): ``cln`` (AdaSpeech: CLN projections and
  the speaker embedding; untranscribed: the CLN projections only), ``embedding`` (the speaker
  embedding alone) or ``decoder`` (decoder stack, mel head, post-net, and the embedding); the
  optimiser is Adam with no weight decay, so the other embedding rows (no gradient) stay as they were;
* ``speaker_<name>.pt`` in the output directory (:func:`speaker_parameters`): what this speaker needs
  on top of the source model (``cln``: its embedding row and the scale and bias vectors of every
  CLN evaluated at it, 2 × dim per norm; ``embedding``: the row; ``decoder``: the row and every
  decoder-side tensor) plus its mean utterance-level vector, which ``synth --speaker NAME`` uses
  when no ``--reference-audio`` is given. :func:`apply_speaker_parameters` loads such a file onto
  the source model (``synth --model-dir SRC --speaker-params FILE``).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from speechtools.audio.extract import extract_to_store
from speechtools.config import save_config
from speechtools.data.kaldi import DataDir
from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_dir, atomic_path, checked_id, copy_file, id_file
from speechtools.models.adaspeech import ADAPTATION_PATTERNS, CLN_PATTERNS, UNTRANSCRIBED_ADAPTATION_PATTERNS
from speechtools.nn.layer_norm import ConditionalLayerNorm
from speechtools.tasks.tts_adaptation import SpeakerAdaptationTask
from speechtools.train.checkpoint import CHECKPOINT_DIR
from speechtools.train.config import InitFromConfig, OptimConfig, SchedulerConfig
from speechtools.train.experiment import Experiment
from speechtools.train.model_dir import LoadedModel, load_model_dir
from speechtools.train.parameters import matches
from speechtools.train.trainer import CONFIG_NAME, Trainer

SOURCE_SPEAKER = "source"
"""The name of a single-speaker source model's one speaker row in the adapted model's ``speakers.txt``."""

SPEAKER_FILE_FORMAT = "speechtools-adapted-speaker-1"
EMBEDDING = "speaker_embedding.weight"
DECODER_SIDE = ("decoder.*", "mel_head.*", "postnet.*")

ADAPT_MODES: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    "cln": (ADAPTATION_PATTERNS, UNTRANSCRIBED_ADAPTATION_PATTERNS),
    "embedding": (("speaker_embedding.*",), ("speaker_embedding.*",)),
    "decoder": (("speaker_embedding.*",) + DECODER_SIDE, DECODER_SIDE),
}
"""``--adapt`` mode → (trainable patterns with transcripts, without)."""

DEFAULT_STEPS = 300
DEFAULT_UTTERANCES = 20
DEFAULT_LR = 1e-3


@dataclass
class AdaptResult:
    """What :func:`adapt` did (one report)."""

    out_dir: Path
    speaker: str
    speaker_id: int
    utterances: int
    steps: int
    mode: str
    patterns: Tuple[str, ...]
    trained: int
    total: int
    stored: int
    stored_parts: str
    speaker_file: Path


def trainable_patterns(model: nn.Module, mode: str, untranscribed: bool) -> Tuple[str, ...]:
    """The ``trainer.trainable`` patterns of ``mode`` that match a parameter of ``model``."""
    if mode not in ADAPT_MODES:
        raise UserError(f"unknown adaptation mode {mode!r}; choose from {', '.join(ADAPT_MODES)}")
    names = [n for n, _ in model.named_parameters()]
    return tuple(p for p in ADAPT_MODES[mode][untranscribed] if any(matches(n, [p]) for n in names))


def check_source(loaded: LoadedModel, untranscribed: bool) -> List[str]:
    """The source's speaker names (row order); user errors for a model that cannot be adapted."""
    config = loaded.path / CONFIG_NAME
    model = loaded.model
    names = [n for n, _ in model.named_parameters()]
    if not getattr(model, "accepts_reference_mel", False) or getattr(model, "speaker_embedding", None) is None \
            or not all(any(matches(n, [p]) for n in names) for p in CLN_PATTERNS):
        raise UserError(f"the source model ({loaded.config.model}) is not an AdaSpeech model with a conditional-layer-norm "
                        "decoder (model: adaspeech, decoder.norm: conditional)", config)
    if untranscribed and getattr(model, "mel_encoder", None) is None:
        raise UserError("--untranscribed needs a source model with AdaSpeech 2's mel encoder (model_conf.mel_encoder: true)", config)
    if getattr(loaded.config.task_conf, "speaker_vectors", False):
        raise UserError("adapting a model that takes external speaker vectors is not supported (task_conf.speaker_vectors)", config)
    ids: Optional[Dict[str, int]] = getattr(loaded.task, "speaker_ids", None)
    return sorted(ids, key=ids.__getitem__) if ids else [SOURCE_SPEAKER]


def adaptation_data(data_dir: PathLike, untranscribed: bool, speaker: Optional[str], num_utts: int,
                    source_speakers: Sequence[str]) -> Tuple[DataDir, str]:
    """The first ``num_utts`` utterances of ``data_dir`` and the new speaker's name; user errors for bad data."""
    root = Path(data_dir)
    data = DataDir.load(root)
    if not data.utt_ids():
        raise UserError("no utterances to adapt on", root / "wav.scp")
    if not untranscribed:
        if data.text is None:
            raise UserError("missing text (transcribed adaptation needs text and durations; "
                            "--untranscribed adapts on audio alone)", root / "text")
        if data.durations is None:
            raise UserError("missing durations (run `speechtools align durations` with an aligner first)", root / "durations")
    speakers = data.speakers()
    if len(speakers) > 1:
        shown = ", ".join(speakers[:4]) + (", ..." if len(speakers) > 4 else "")
        raise UserError(f"{len(speakers)} speakers in utt2spk ({shown}): adapt one speaker at a time "
                        "(`speechtools data subset --spk-list`)", root / "utt2spk")
    name = speaker if speaker is not None else (speakers[0] if speakers else None)
    if name is None:
        raise UserError("no utt2spk: name the new speaker with --speaker", root / "utt2spk")
    checked_id(name, "speaker name")
    if name in source_speakers:
        raise UserError(f"speaker {name!r} is already in the source model; choose another --speaker")
    chosen = data.utt_ids()[:num_utts]
    return data.select(chosen), name


def grown_embedding_state(model: nn.Module) -> Dict[str, torch.Tensor]:
    """The model's state dict with one speaker row more: the mean of the existing rows."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    rows = state[EMBEDDING]
    state[EMBEDDING] = torch.cat([rows, rows.mean(dim=0, keepdim=True)])
    return state


def speaker_parameters(model: nn.Module, speaker_id: int, mode: str, patterns: Sequence[str]) -> Dict[str, torch.Tensor]:
    """The values a speaker needs on top of the source model (see the module docstring), by name.

    ``cln``: ``embedding`` (its row) and ``<norm module>.scale`` / ``<norm module>.bias`` (the CLN's
    scale and bias vectors at the speaker's condition); ``embedding``: the row; ``decoder``: the
    row and every parameter matching ``patterns`` other than the embedding.
    """
    model = model.eval()
    with torch.no_grad():
        values = {"embedding": model.speaker_embedding.weight[speaker_id].detach().clone()}
        if mode == "cln":
            ids = torch.tensor([speaker_id], device=model.speaker_embedding.weight.device)
            cond = model.speaker_condition(1, ids.device, ids)
            for name, module in model.named_modules():
                if isinstance(module, ConditionalLayerNorm):
                    values[f"{name}.scale"] = module.scale(cond)[0].clone()
                    values[f"{name}.bias"] = module.bias(cond)[0].clone()
        elif mode == "decoder":
            for name, param in model.named_parameters():
                if name != EMBEDDING and matches(name, patterns):
                    values[name] = param.detach().clone()
    return values


@torch.no_grad()
def mean_utterance_vector(model: nn.Module, mels: Sequence[torch.Tensor]) -> torch.Tensor:
    """The mean of the utterance-level encoder's vectors of the (normalised) ``mels``, ``(dim,)``."""
    model = model.eval()
    device = next(model.parameters()).device
    vectors = [model.utterance_encoder(mel.unsqueeze(0).to(device))[0] for mel in mels]
    return torch.stack(vectors).mean(dim=0).cpu()


def save_speaker_file(path: Path, speaker: str, mode: str, untranscribed: bool, source_speakers: Sequence[str],
                      values: Dict[str, torch.Tensor], utterance_vector: torch.Tensor) -> None:
    payload = {"format": SPEAKER_FILE_FORMAT, "speaker": speaker, "adapt": mode, "untranscribed": untranscribed,
               "source_speakers": list(source_speakers), "values": {k: v.cpu() for k, v in values.items()},
               "utterance_vector": utterance_vector.cpu()}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_speaker_file(path: PathLike) -> Dict[str, Any]:
    """A ``speaker_<name>.pt`` file; a user error for anything else."""
    p = Path(path)
    if not p.is_file():
        raise UserError("speaker parameter file not found", p)
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise UserError(f"not a speaker parameter file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})", p) from None
    if not isinstance(payload, dict) or payload.get("format") != SPEAKER_FILE_FORMAT:
        raise UserError("not a speaker parameter file written by `speechtools adapt`", p)
    return payload


def stored_utterance_vectors(model_dir: PathLike) -> Dict[str, torch.Tensor]:
    """Speaker name → mean utterance-level vector of the ``speaker_<name>.pt`` files in a model directory."""
    out: Dict[str, torch.Tensor] = {}
    for path in sorted(Path(model_dir).glob("speaker_*.pt")):
        payload = read_speaker_file(path)
        out[payload["speaker"]] = payload["utterance_vector"]
    return out


def apply_speaker_parameters(loaded: LoadedModel, path: PathLike) -> Tuple[str, torch.Tensor]:
    """Load a ``speaker_<name>.pt`` onto the source model it was adapted from (in place).

    The speaker becomes the next embedding row and the next name of ``loaded.task``'s speakers.
    ``cln``: every CLN's projections are set to return the stored vectors whatever the condition
    (weights 0, biases the vectors), so the model speaks with the adapted speaker's norms for every
    speaker id: a one-voice deployment, as in the paper. ``embedding`` / ``decoder``: the row and
    the stored tensors are loaded; the other speakers keep working. Call before
    ``enable_cpu_fast_path``. Returns the speaker's name and its mean utterance-level vector.

    Raises:
        UserError: not such a file, or made from a model with other speakers or shapes.
    """
    payload = read_speaker_file(path)
    model, task = loaded.model, loaded.task
    ids: Optional[Dict[str, int]] = getattr(task, "speaker_ids", None)
    names = sorted(ids, key=ids.__getitem__) if ids else [SOURCE_SPEAKER]
    if list(payload["source_speakers"]) != names:
        raise UserError(f"adapted from a model with speakers {payload['source_speakers']}, this model has {names}", path)
    if payload["speaker"] in names:
        raise UserError(f"speaker {payload['speaker']!r} is already in this model", path)
    values: Dict[str, torch.Tensor] = dict(payload["values"])
    old = model.speaker_embedding
    row = values.pop("embedding")
    if row.shape != (old.embedding_dim,):
        raise UserError(f"the speaker row has shape {tuple(row.shape)}, this model's is ({old.embedding_dim},)", path)
    grown = nn.Embedding(old.num_embeddings + 1, old.embedding_dim).to(old.weight.device)
    state = model.state_dict()
    with torch.no_grad():
        grown.weight.copy_(torch.cat([old.weight, row.to(old.weight)[None]]))
        model.speaker_embedding = grown
        for key, value in values.items():
            module_name, _, part = key.rpartition(".")
            module = _submodule(model, module_name) if part in ("scale", "bias") else None
            if isinstance(module, ConditionalLayerNorm):
                linear = getattr(module, part)
                if value.shape != linear.bias.shape:
                    raise UserError(f"{key} has shape {tuple(value.shape)}, this model's is {tuple(linear.bias.shape)}", path)
                linear.weight.zero_()
                linear.bias.copy_(value)
            elif key in state and state[key].shape == value.shape:
                state[key].copy_(value)
            else:
                raise UserError(f"{key}: no such tensor of that shape in this model", path)
    task._speaker_ids = {name: i for i, name in enumerate(names + [payload["speaker"]])}  # type: ignore[attr-defined]
    return payload["speaker"], payload["utterance_vector"]


def load_adapted_speakers(loaded: LoadedModel, speaker_params: Optional[PathLike] = None) -> Dict[str, torch.Tensor]:
    """Speaker name → stored mean utterance-level vector: the ``speaker_<name>.pt`` files of the model
    directory and, if given, ``speaker_params`` loaded on top (:func:`apply_speaker_parameters`); pass
    it as ``load_model_dir(..., prepare=...)`` so that the CPU fast path comes after."""
    vectors = stored_utterance_vectors(loaded.path)
    if speaker_params is not None:
        name, vectors[name] = apply_speaker_parameters(loaded, speaker_params)
    return vectors


def _submodule(model: nn.Module, name: str) -> Optional[nn.Module]:
    try:
        return model.get_submodule(name)
    except AttributeError:
        return None


def adapt(
    source_dir: PathLike, data_dir: PathLike, out_dir: PathLike, *, feats_dir: Optional[PathLike] = None,
    speaker: Optional[str] = None, untranscribed: bool = False, mode: str = "cln", steps: int = DEFAULT_STEPS,
    num_utts: int = DEFAULT_UTTERANCES, lr: float = DEFAULT_LR, seed: int = 1, device: str = "auto", nj: int = 1,
    show_progress: bool = True,
) -> AdaptResult:
    """Adapt the model directory ``source_dir`` to the speaker of ``data_dir``; write the model directory ``out_dir``.

    Features are extracted with the source's ``feats.yaml`` unless ``feats_dir`` (a feature store of
    ``data_dir`` made with the same settings) is given. ``out_dir`` is written whole or not at all.
    """
    source = Path(source_dir)
    loaded = load_model_dir(source, "cpu")
    source_speakers = check_source(loaded, untranscribed)
    patterns = trainable_patterns(loaded.model, mode, untranscribed)
    data, name = adaptation_data(data_dir, untranscribed, speaker, num_utts, source_speakers)
    out = Path(out_dir)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.adapt.", dir=out.parent if out.parent.is_dir() else None))
    try:
        with atomic_dir(out) as tmp:
            subset = work / "data"
            data.save(subset)
            if feats_dir is None:
                feats = work / "dump"
                extract_to_store(subset, feats, loaded.task.feature_config,  # type: ignore[attr-defined]
                                 ("mel",) if untranscribed else ("mel", "energy", "pitch"), nj=nj, progress=show_progress)
            else:
                feats = Path(feats_dir)
            init = work / "init.pt"
            torch.save(grown_embedding_state(loaded.model), init)
            experiment = _experiment(loaded.config, subset, feats, init, patterns, steps, lr, seed)
            task = SpeakerAdaptationTask(experiment.task_conf, experiment.model, experiment.model_conf, source_speakers, name,
                                         untranscribed)
            trainer = Trainer(experiment, tmp, device=device, task=task, show_progress=show_progress)
            trainer.run()
            shutil.rmtree(tmp / CHECKPOINT_DIR, ignore_errors=True)
            # config.yaml names the inputs the user gave, not the temporary copies
            record = replace(experiment, task_conf=replace(experiment.task_conf, train_data=str(Path(data_dir)),
                                                           train_feats=str(feats_dir or "")),
                             trainer=replace(experiment.trainer, init_from=InitFromConfig(path=str(source), strict=False)))
            save_config(record.to_dict(), tmp / CONFIG_NAME)
            model = trainer.model
            assert model is not None
            model = model.cpu().eval()
            speaker_id = len(source_speakers)
            values = speaker_parameters(model, speaker_id, mode, patterns)
            dataset = task.train_dataset()
            vector = mean_utterance_vector(model, [dataset[i]["mel"] for i in range(len(dataset))])  # type: ignore[arg-type]
            for old in sorted(source.glob("speaker_*.pt")):  # earlier adaptations' files (their mean references)
                copy_file(old, tmp / old.name)
            speaker_file = id_file(tmp, f"speaker_{name}", ".pt", "speaker name")
            save_speaker_file(speaker_file, name, mode, untranscribed, source_speakers, values, vector)
            trained = sum(p.numel() for n, p in model.named_parameters() if matches(n, patterns))
            total = sum(p.numel() for p in model.parameters())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stored = sum(v.numel() for v in values.values())
    dim = values["embedding"].numel()
    norms = sum(1 for k in values if k.endswith(".scale"))
    parts = {"cln": f"embedding row {dim} + CLN scale/bias 2 x {dim} x {norms} norms",
             "embedding": f"embedding row {dim}",
             "decoder": f"embedding row {dim} + {stored - dim:,} decoder-side values"}[mode]
    return AdaptResult(out, name, speaker_id, len(data.utt_ids()), steps, mode, patterns, trained, total, stored, parts,
                       out / speaker_file.name)


def _experiment(source: Experiment, data: Path, feats: Path, init: Path, patterns: Sequence[str], steps: int, lr: float,
                seed: int) -> Experiment:
    """The source experiment turned into an adaptation run (see the module docstring)."""
    task_conf = replace(source.task_conf, train_data=str(data), train_feats=str(feats), valid_data=None, valid_feats=None,
                        speakers=True)
    trainer = replace(source.trainer, max_steps=steps, init_from=InitFromConfig(path=str(init), strict=True),
                      trainable=list(patterns), freeze=[], ema_decay=0.0, average_last=1, keep_last=1, save_interval=steps,
                      valid_interval=0, log_interval=max(1, min(source.trainer.log_interval, steps)), seed=seed,
                      num_workers=0)
    return replace(source, task_conf=task_conf, optim=OptimConfig(name="adam", lr=lr, weight_decay=0.0),
                   scheduler=SchedulerConfig(name="constant"), trainer=trainer)
