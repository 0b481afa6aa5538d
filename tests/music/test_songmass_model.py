"""SongMASS model and task: the sentence constraint, the alignment loss, a few steps lowering the loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from speechtools.models.songmass import KINDS, SongMASSConfig, alignment_loss, sentence_mask
from speechtools.music.lyric_dataset import Collected, write_dataset
from speechtools.music.lyric_melody import Note, Song, Syllable
from speechtools.music.song_vocab import EOS_ID, SEP_ID
from speechtools.tasks.songmass import SongMASSTask, SongMASSTaskConfig

TINY = dict(d_model=32, n_heads=2, ffn_dim=64, encoder_layers=1, decoder_layers=2, dropout=0.0)


def random_song(name: str, rng: np.random.Generator) -> Song:
    syllables = ["la", "li", "lo", "mi", "ma", "do", "re", "sol"]
    sentences = []
    for _ in range(int(rng.integers(2, 4))):
        words = []
        for _ in range(int(rng.integers(2, 4))):
            word = []
            for _ in range(int(rng.integers(1, 3))):
                notes = [Note(int(rng.choice([60, 62, 64, 65, 67])), float(rng.choice([0.5, 1.0])), float(rng.choice([0.0, 0.0, 1.0])))
                         for _ in range(int(rng.integers(1, 3)))]
                word.append(Syllable(str(rng.choice(syllables)), notes))
            words.append(word)
        sentences.append(words)
    return Song(name, sentences)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    out = tmp_path_factory.mktemp("songs") / "data"
    melodies = [random_song(f"m{k}", rng) for k in range(10)]
    write_dataset(Collected(songs=[random_song(f"s{k}", rng) for k in range(60)], melodies=melodies), str(out))
    return out


def make_task(data_dir: Path, **model) -> SongMASSTask:
    return SongMASSTask(SongMASSTaskConfig(data_dir=str(data_dir)), "songmass", SongMASSConfig(**{**TINY, **model}))


def test_supervised_items_follow_the_reference_layout(data_dir):
    task = make_task(data_dir)
    items = [task.train_dataset()[k] for k in range(len(task.train_dataset()))]
    pair = next(i for i in items if i["kind"] == "lyric_to_melody")
    assert pair["target"][-1] == EOS_ID and pair["prev"] == [EOS_ID] + pair["target"][:-1]
    n_sep = pair["source"].count(SEP_ID)
    assert n_sep == pair["target"].count(SEP_ID) and pair["source_sentences"][-1] == pair["target_sentences"][-1] == n_sep
    # [sep] aligns to [sep] and </s> to </s> by word index
    src_sep = [w for t, w in zip(pair["source"], pair["source_words"]) if t == SEP_ID]
    tgt_sep = [w for t, w in zip(pair["target"], pair["target_words"]) if t == SEP_ID]
    assert src_sep == tgt_sep and pair["source_words"][-1] == pair["target_words"][-1]
    assert {i["kind"] for i in items} == {"lyric_mass", "melody_mass", "lyric_to_melody", "melody_to_lyric"}


def test_sentence_mask_lets_a_token_see_only_its_sentence():
    pad = torch.tensor([[False, False, False, True]])
    mask = sentence_mask(pad, torch.tensor([[0, 0, 1, -1]]), torch.tensor([[0, 1, -2]]))
    assert mask.shape == (1, 1, 3, 4)
    assert mask[0, 0].tolist() == [[True, True, False, False], [False, False, True, False], [True, True, True, False]]


def test_alignment_loss_is_zero_for_uniform_attention_on_the_word():
    source_words, target_words = torch.tensor([[0, 0, 1]]), torch.tensor([[0, 1]])
    sentences = torch.tensor([[0, 0, 0]]), torch.tensor([[0, 0]])
    perfect = torch.tensor([[[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]])
    valid = torch.ones(1, 2, dtype=torch.bool)
    assert alignment_loss([perfect, perfect], source_words, target_words, *sentences, valid).item() == 0.0
    wrong = torch.tensor([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]])
    # token 0: (0.5^2 + 0.5^2 + 1) / 3; token 1: (1 + 0 + 1) / 3; the mean over the two layers
    expected = ((0.5 + 1) / 3 + 2 / 3) / 2
    assert alignment_loss([perfect, wrong], source_words, target_words, *sentences, valid).item() == pytest.approx(expected)


def test_a_few_steps_lower_the_loss(data_dir):
    torch.manual_seed(0)
    task = make_task(data_dir)
    model = task.build_model()
    data = task.train_dataset()
    items = [data[k] for k in range(len(data))]
    batch = task.collate([i for kind in KINDS for i in [i for i in items if i["kind"] == kind][:6]])
    assert set(batch["parts"]) == {"lyric_mass", "melody_mass", "lyric_to_melody", "melody_to_lyric"}
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss, stats = task.compute_loss(model, batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    assert {"ce", "align", "lyric_to_melody_nll", "melody_mass_nll"} <= set(stats)


def test_generation_keeps_the_sentence_count(data_dir):
    from speechtools.nn.beam_search import beam_search

    torch.manual_seed(0)
    task = make_task(data_dir)
    model = task.build_model().eval()
    pair = next(i for i in (task.train_dataset()[k] for k in range(200)) if i["kind"] == "lyric_to_melody")
    src = torch.tensor([pair["source"]])
    with torch.inference_mode():
        state_sentences = torch.tensor([pair["source_sentences"]])
        model.direction = ("lyric", "melody")

        class Search:
            def init_state(self, s, lengths):
                return model.init_state(s, lengths, state_sentences, torch.tensor([60]))
            step = staticmethod(model.step)
            reorder = staticmethod(model.reorder)

        out = beam_search(Search(), src, torch.tensor([src.size(1)]), EOS_ID, EOS_ID, beam_size=3, max_lengths=torch.tensor([60]))
    assert out[0].count(SEP_ID) == pair["source"].count(SEP_ID)
