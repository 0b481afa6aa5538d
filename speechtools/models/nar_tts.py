"""The shared non-autoregressive TTS backbone (design.md §5) and the one constructor of its family.

token embedding → encoder stack → (+ speaker embedding, + projected external speaker vector) →
variance adaptor (durations, optional pitch/energy, length regulator) → decoder stack → mel head
→ optional post-net.

FastSpeech, FastSpeech 2, LightSpeech, AdaSpeech and PriorGrad differ only in the parts they
pass in: the block type of the stacks (:class:`~speechtools.nn.fft_block.FFTStackConfig`
``norm``, or the searched separable-convolution stack), the adaptor's variances, the
post-net and the mel head (a linear layer here; any module with ``forward(hidden, mask) -> mel``
fits). :class:`FastSpeechFamily` is the one constructor: a model module subclasses it and
names its stacks and post-net (:meth:`FastSpeechFamily.encoder_stack`,
:meth:`~FastSpeechFamily.decoder_stack`, :meth:`~FastSpeechFamily.postnet_module`); embedding,
adaptor, mel head, speakers, the task-facing ``build_model`` and the loss of FastSpeech 2
(Sec. 2.1 / 2.3, :func:`variance_tts_loss`) are shared.

:meth:`NARTTS.forward` takes everything after the tokens by keyword and ignores batch keys it
does not use, so a task calls ``model(**batch)`` and a model that needs an extra input (a
reference mel, a filled-pause target) adds one keyword without touching any call site.

External speaker vectors (an x-vector / d-vector per utterance) enter as in the LightSpeech /
FastSpeech 2 authors' code (NeuralSpeech ``spk_embed_proj``) and ESPnet2's ``spk_embed_dim``
with ``spk_embed_integration_type: add``: a linear projection of the vector is added to every
encoder output frame, at the same point as the speaker-ID embedding
(:func:`speaker_vector_projection` builds it from a config's ``speaker_vector_dim``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Optional, Tuple

import torch
from torch import nn

from speechtools.nn.conv import masked_fill_padding
from speechtools.nn.masks import lengths_to_mask
from speechtools.config import check_ranges
from speechtools.models.task_info import VarianceTTSInfo
from speechtools.nn.variance_adaptor import VarianceAdaptor, VarianceAdaptorConfig


class LinearMelHead(nn.Module):
    """Decoder hidden → mel frames by one linear layer (FastSpeech 2 Fig. 1a)."""

    def __init__(self, dim: int, n_mels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, n_mels)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_fill_padding(self.proj(hidden), mask)


def check_speaker_vector_dim(speaker_vector_dim: int) -> None:
    """Validate a config's ``speaker_vector_dim`` (0 = no speaker vectors)."""
    if speaker_vector_dim < 0:
        raise ValueError(f"speaker_vector_dim must be >= 0 (0 = no speaker vectors), got {speaker_vector_dim}")


def speaker_vector_projection(speaker_vector_dim: int, dim: int) -> Optional[nn.Linear]:
    """The projection of external speaker vectors to the hidden size (NeuralSpeech ``spk_embed_proj``).

    ``speaker_vector_dim`` 0 means the model takes no speaker vectors (returns ``None``).
    """
    check_speaker_vector_dim(speaker_vector_dim)
    return nn.Linear(speaker_vector_dim, dim) if speaker_vector_dim > 0 else None


class NARTTS(nn.Module):
    """Non-autoregressive TTS built from named parts.

    Args:
        embedding: token ids → ``(batch, T_text, dim)`` (padding id 0).
        encoder, decoder: stacks with ``forward(x, mask, cond=None)``.
        adaptor: the :class:`VarianceAdaptor`.
        mel_head: ``forward(hidden, mask) -> mel``.
        postnet: optional residual refinement ``forward(mel, mask) -> mel``.
        speaker_embedding: optional ``nn.Embedding`` added to the encoder output.
        speaker_vector_proj: optional ``nn.Linear(D, dim)``; ``forward(speaker_vectors=...)`` adds
            the projected ``(batch, D)`` vectors to the encoder output (also fed to the decoder as
            its condition, like the speaker embedding). A model built with it and called without
            vectors adds nothing (the authors' semantics: ``if spk_embed is not None``).
    """

    def __init__(
        self,
        embedding: nn.Module,
        encoder: nn.Module,
        adaptor: VarianceAdaptor,
        decoder: nn.Module,
        mel_head: nn.Module,
        postnet: Optional[nn.Module] = None,
        speaker_embedding: Optional[nn.Embedding] = None,
        speaker_vector_proj: Optional[nn.Linear] = None,
    ) -> None:
        super().__init__()
        self.embedding = embedding
        self.encoder = encoder
        self.adaptor = adaptor
        self.decoder = decoder
        self.mel_head = mel_head
        self.postnet = postnet
        self.speaker_embedding = speaker_embedding
        self.speaker_vector_proj = speaker_vector_proj

    accepts_reference_mel: ClassVar[bool] = False
    """Whether :meth:`forward` uses ``reference_mel``/``reference_mel_lengths`` (AdaSpeech's
    utterance-level acoustic condition); the synthesiser refuses reference audio otherwise."""

    synthesis_controls: ClassVar[Tuple[str, ...]] = ("speed", "pitch_shift", "energy_scale")
    """The prosody controls :meth:`synthesize` honours (``alpha`` is the speed control)."""
    returns_attention: ClassVar[bool] = False
    """Whether :meth:`synthesize` returns an encoder-decoder ``attention`` (here: no, durations are predicted)."""

    def synthesize(self, tokens: torch.Tensor, token_lengths: torch.Tensor, **inputs: Any) -> Dict[str, torch.Tensor]:
        """Inference entry of the synthesiser: :meth:`forward` without targets (``mel_post``, ``frame_lengths``, ``scaled_durations``)."""
        return self(tokens, token_lengths, **inputs)

    def forward(self, tokens: torch.Tensor, token_lengths: torch.Tensor, **inputs: Any) -> Dict[str, torch.Tensor]:
        """Synthesise mels; with ``durations``/``pitch``/``energy`` given, teacher-forced (training).

        The inputs after the tokens are the keywords of :meth:`decode` (batch keys this model does
        not use, such as ``uttids``, are ignored), so a task passes its batch as ``model(**batch)``.
        Returns :meth:`decode`'s dict with ``mel`` (before post-net) and ``mel_post`` (after;
        equal to ``mel`` without post-net) in place of ``decoded``.
        """
        return self.mel_outputs(self.decode(tokens, token_lengths, **inputs))

    def mel_outputs(self, out: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Replace ``out["decoded"]`` by ``mel`` (the mel head's frames) and ``mel_post`` (after the post-net)."""
        frame_mask = out["frame_mask"]
        mel = self.mel_head(out.pop("decoded"), frame_mask)
        out["mel"] = mel
        out["mel_post"] = self.postnet(mel, frame_mask) if self.postnet is not None else mel
        return out

    def decode(
        self,
        tokens: torch.Tensor,
        token_lengths: torch.Tensor,
        *,
        durations: Optional[torch.Tensor] = None,
        pitch: Optional[torch.Tensor] = None,
        energy: Optional[torch.Tensor] = None,
        speakers: Optional[torch.Tensor] = None,
        speaker_vectors: Optional[torch.Tensor] = None,
        mel: Optional[torch.Tensor] = None,
        max_frames: Optional[int] = None,
        alpha: float = 1.0,
        pitch_shift: float = 0.0,
        energy_scale: float = 1.0,
        **unused: Any,
    ) -> Dict[str, torch.Tensor]:
        """Everything before the mel head: embedding, encoder, speakers, adaptor, decoder stack.

        Everything after the tokens is a keyword; keys this model does not use land in ``unused``.
        ``mel`` (the target, training only) fixes the output length to ``mel.size(1)`` frames
        unless ``max_frames`` is given. ``speaker_vectors`` ``(batch, D)``: external speaker
        vectors, projected and added to the encoder output (ValueError if the model has no
        projection or ``D`` differs from it). ``alpha``, ``pitch_shift``, ``energy_scale``: the
        inference controls of the adaptor.

        Returns the adaptor's outputs (``frame_mask``, ``frame_lengths``, ``durations``,
        ``scaled_durations``, predictions), ``token_mask`` and ``decoded`` ``(batch, frames, dim)``,
        the decoder stack's output that the mel head turns into mel frames (a model whose head
        needs more than ``(hidden, mask)``, such as a diffusion decoder with a per-token prior,
        overrides :meth:`forward` and calls this).
        """
        if max_frames is None and mel is not None:
            max_frames = mel.size(1)
        token_mask = lengths_to_mask(token_lengths.to(tokens.device), tokens.size(1))
        hidden = masked_fill_padding(self.embedding(tokens), token_mask)
        cond = self.speaker_condition(tokens.size(0), tokens.device, speakers, speaker_vectors)
        hidden = self.encoder(hidden, token_mask)
        if cond is not None:
            hidden = masked_fill_padding(hidden + cond.unsqueeze(1), token_mask)
        extra: Dict[str, torch.Tensor] = {}
        hidden = self.condition_encoder_output(hidden, token_mask, extra, mel=mel, durations=durations, **unused)
        out = self.adaptor(
            hidden, token_mask, durations, pitch, energy,
            alpha=alpha, pitch_shift=pitch_shift, energy_scale=energy_scale, max_frames=max_frames,
        )
        out.update(extra)
        out["decoded"] = self.decoder(out["hidden"], out["frame_mask"], cond)
        out["token_mask"] = token_mask
        return out

    def speaker_condition(
        self, batch: int, device: torch.device, speakers: Optional[torch.Tensor] = None,
        speaker_vectors: Optional[torch.Tensor] = None,
    ) -> Optional[torch.Tensor]:
        """The speaker representation ``(batch, dim)`` added to the encoder output and given to the decoder
        stack as its condition: the speaker-ID embedding (speaker 0 when ``speakers`` is ``None``) plus the
        projected external speaker vectors; ``None`` when the model has neither."""
        cond = None
        if self.speaker_embedding is not None:
            if speakers is None:
                speakers = torch.zeros(batch, dtype=torch.long, device=device)
            cond = self.speaker_embedding(speakers.to(device))
        if speaker_vectors is not None:
            projected = self._project_speaker_vectors(speaker_vectors, batch)
            cond = projected if cond is None else cond + projected
        return cond

    def condition_encoder_output(
        self, hidden: torch.Tensor, token_mask: torch.Tensor, out: Dict[str, torch.Tensor], **inputs: Any,
    ) -> torch.Tensor:
        """Hook between the encoder (plus speakers) and the variance adaptor: the identity here.

        A model with acoustic conditions (AdaSpeech's utterance- and phoneme-level encoders) adds
        them to ``hidden`` ``(batch, T_text, dim)``; ``inputs`` are ``mel``, ``durations`` and the
        batch keys :meth:`decode` does not use (``reference_mel``, ``mel_lengths``, ...); tensors
        it puts in ``out`` are returned by :meth:`decode` (for the loss).
        """
        return hidden

    def _project_speaker_vectors(self, speaker_vectors: torch.Tensor, batch: int) -> torch.Tensor:
        if self.speaker_vector_proj is None:
            raise ValueError("this model takes no speaker vectors (built with speaker_vector_dim: 0)")
        expected = self.speaker_vector_proj.in_features
        if speaker_vectors.dim() != 2 or speaker_vectors.size(0) != batch or speaker_vectors.size(1) != expected:
            raise ValueError(
                f"speaker vectors must have shape (batch={batch}, {expected}), got {tuple(speaker_vectors.shape)}"
            )
        return self.speaker_vector_proj(speaker_vectors.to(self.speaker_vector_proj.weight.dtype))


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the positions where ``mask`` (its leading axes) is True."""
    weights = mask.to(values.dtype)
    while weights.dim() < values.dim():
        weights = weights.unsqueeze(-1)
    weights = weights.expand_as(values)
    return (values * weights).sum() / weights.sum().clamp(min=1.0)


def variance_tts_loss(
    out: Dict[str, torch.Tensor],
    mel: torch.Tensor,
    durations: torch.Tensor,
    pitch: Optional[torch.Tensor] = None,
    energy: Optional[torch.Tensor] = None,
) -> Dict[str, torch.Tensor]:
    """FastSpeech 2 losses with padding masks (arXiv 2006.04558 Sec. 2.1, 2.3; ESPnet2 form).

    L1 on mel (before and after the post-net), MSE on ``log(d + 1)`` per token, MSE on pitch
    and energy at the adaptor's level. Returns each term and ``loss`` (their sum).
    """
    terms = mel_losses(out, mel)
    terms.update(variance_predictor_losses(out, durations, pitch, energy))
    terms["loss"] = sum(terms.values())  # type: ignore[assignment]
    return terms


def mel_losses(out: Dict[str, torch.Tensor], mel: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The mel terms of :func:`variance_tts_loss` (no ``loss`` entry): L1 over ``out["frame_mask"]`` of
    ``mel`` (``mel_loss``) and, with a post-net, of ``mel_post`` (``postnet_loss``)."""
    t = min(mel.size(1), out["mel"].size(1))
    fm = out["frame_mask"][:, :t]
    terms: Dict[str, torch.Tensor] = {}
    terms["mel_loss"] = masked_mean((out["mel"][:, :t] - mel[:, :t]).abs(), fm)
    if out["mel_post"] is not out["mel"]:
        terms["postnet_loss"] = masked_mean((out["mel_post"][:, :t] - mel[:, :t]).abs(), fm)
    return terms


def variance_predictor_losses(
    out: Dict[str, torch.Tensor],
    durations: torch.Tensor,
    pitch: Optional[torch.Tensor] = None,
    energy: Optional[torch.Tensor] = None,
) -> Dict[str, torch.Tensor]:
    """The variance adaptor's terms of :func:`variance_tts_loss` (no ``loss`` entry): MSE on
    ``log(d + 1)`` per token, MSE on pitch and energy at the adaptor's level, with padding masks."""
    frame_mask = out["frame_mask"]
    token_mask = out["token_mask"]
    terms: Dict[str, torch.Tensor] = {}
    log_target = torch.log(durations.to(out["log_duration_pred"].dtype) + 1.0)
    terms["duration_loss"] = masked_mean((out["log_duration_pred"] - log_target) ** 2, token_mask)
    if "duration_gate_loss" in out:  # AdaSpeech 3's mixture of experts with a speaking-rate gate target
        terms["duration_gate_loss"] = out["duration_gate_loss"]
    for name, target in (("pitch", pitch), ("energy", energy)):
        key = f"{name}_pred"
        if key in out and target is not None:
            pred = out[key]
            mask = token_mask if pred.shape == token_mask.shape else frame_mask
            n = min(pred.size(1), target.size(1))
            terms[f"{name}_loss"] = masked_mean((pred[:, :n] - target[:, :n]) ** 2, mask[:, :n])
    return terms


@dataclass
class NARTTSConfig:
    """``model_conf`` fields every model of the FastSpeech family has. Vocabulary, mel bins and speakers come from the task.

    Attributes:
        dim: hidden size of the embedding, the stacks and the adaptor.
        adaptor: the variance adaptor (durations; pitch/energy where the model uses them).
        speaker_vector_dim: size of external speaker vectors (x-/d-vectors) projected and added
            to the encoder output (ESPnet2 ``spk_embed_dim``, "add" integration); 0 = none.
    """

    dim: int = 256
    adaptor: VarianceAdaptorConfig = field(default_factory=VarianceAdaptorConfig)
    speaker_vector_dim: int = 0

    def __post_init__(self) -> None:
        check_ranges(self, positive=("dim",))
        check_speaker_vector_dim(self.speaker_vector_dim)


class FastSpeechFamily(NARTTS):
    """The one constructor of FastSpeech, FastSpeech 2, LightSpeech (and the models built on them).

    A subclass names its parts by overriding :meth:`encoder_stack`, :meth:`decoder_stack` and,
    if it has one, :meth:`postnet_module` (and :meth:`mel_head_module` for another head than the
    linear one, :meth:`speaker_embedding_module` for another speaker table); everything else is
    shared: token embedding, variance adaptor, linear mel head, speaker-ID embedding
    (``n_speakers > 1``), speaker-vector projection, :meth:`build_model` and the FastSpeech 2
    loss (:func:`variance_tts_loss`; a model without pitch/energy predictors simply has no such
    terms).
    """

    def __init__(self, conf: NARTTSConfig, vocab_size: int, n_mels: int = 80, n_speakers: int = 1) -> None:
        parts = type(self)
        super().__init__(
            embedding=nn.Embedding(vocab_size, conf.dim, padding_idx=0),
            encoder=parts.encoder_stack(conf),
            adaptor=VarianceAdaptor(conf.adaptor, conf.dim),
            decoder=parts.decoder_stack(conf),
            mel_head=parts.mel_head_module(conf, n_mels),
            postnet=parts.postnet_module(conf, n_mels),
            speaker_embedding=parts.speaker_embedding_module(conf, n_speakers),
            speaker_vector_proj=speaker_vector_projection(conf.speaker_vector_dim, conf.dim),
        )
        self.conf = conf
        self.n_mels = n_mels

    @classmethod
    def encoder_stack(cls, conf: Any) -> nn.Module:
        """The encoder: a stack with ``forward(x, mask, cond=None)``."""
        raise NotImplementedError(f"{cls.__name__} must name its encoder stack")

    @classmethod
    def decoder_stack(cls, conf: Any) -> nn.Module:
        """The decoder: a stack with ``forward(x, mask, cond=None)``."""
        raise NotImplementedError(f"{cls.__name__} must name its decoder stack")

    @classmethod
    def speaker_embedding_module(cls, conf: Any, n_speakers: int) -> Optional[nn.Embedding]:
        """The speaker-ID embedding: one row per training speaker, none for a single-speaker corpus."""
        return nn.Embedding(n_speakers, conf.dim) if n_speakers > 1 else None

    @classmethod
    def postnet_module(cls, conf: Any, n_mels: int) -> Optional[nn.Module]:
        """The optional post-net ``forward(mel, mask) -> mel`` (none by default)."""
        return None

    @classmethod
    def mel_head_module(cls, conf: Any, n_mels: int) -> nn.Module:
        """The mel head ``forward(hidden, mask) -> mel`` (default: :class:`LinearMelHead`)."""
        return LinearMelHead(conf.dim, n_mels)

    @classmethod
    def build_model(cls, conf: Any, task: VarianceTTSInfo) -> "FastSpeechFamily":
        """The construction rule: sizes from the task's data, the adaptor de-normalises with its pitch/energy stats."""
        model = cls(conf, vocab_size=task.vocab_size, n_mels=task.n_mels, n_speakers=task.n_speakers)
        model.adaptor.set_stats(*task.variance_stats())
        return model

    def loss(
        self, out: Dict[str, torch.Tensor], mel: torch.Tensor, durations: torch.Tensor,
        pitch: Optional[torch.Tensor] = None, energy: Optional[torch.Tensor] = None, **unused: Any,
    ) -> Dict[str, torch.Tensor]:
        """FastSpeech 2 training loss (:func:`variance_tts_loss`); takes the batch by keyword like :meth:`forward`."""
        return variance_tts_loss(out, mel, durations, pitch, energy)
