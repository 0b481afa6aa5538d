"""The world the hostile-input suite runs every command in: valid inputs of every kind, built once (``conftest.world``).

A small real data directory (4 LJSpeech mini clips) with features, stats, tokens and durations;
tiny trained model directories (FastSpeech 2, aligner, Transformer TTS teacher, FastCorrect,
MusicBERT classifier, PriorGrad vocoder, CTC/attention recogniser); synthesised wavs; text, pair, transcript, sheet, score, MIDI and TextGrid
files. Everything lives under one folder that the suite copies into each case's sandbox by
reference (inputs are read-only; outputs go to the case's own folder).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
FEATS_CONF = REPO / "conf" / "feats" / "mel22k.yaml"


@dataclass
class World:
    """Paths of valid inputs for every command."""

    root: Path
    data: Path
    dump: Path
    tokens: Path
    stats: Path
    tts: Path
    aligner: Path
    teacher: Path
    corrector: Path
    vocoder: Path
    music: Path
    music_data: Path
    midi_dir: Path
    wavs: Path
    files: Path
    configs: Path
    corpora: Path
    ada: Path = Path()
    asr: Path = Path()
    rapper: Path = Path()
    supernet: Path = Path()
    songmass: Path = Path()


def _cli(*args: str) -> None:
    from speechtools.cli.main import cli

    cli.main(args=list(args), prog_name="speechtools", standalone_mode=False)


def _train(config: Path, out: Path, *sets: str) -> Path:
    from speechtools.train.experiment import load_experiment
    from speechtools.train.trainer import Trainer

    Trainer(load_experiment(config, list(sets)), out, device="cpu", show_progress=False).run()
    return out


def build_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from speechtools.align.mas import durations_from_path, maximum_path
    from speechtools.align.prior import beta_binomial_log_prior
    from speechtools.audio.store import FeatureStore
    from speechtools.data.corpora.ljspeech import prepare_ljspeech
    from speechtools.data.kaldi import read_table, write_durations
    from speechtools.text.frontend import get_frontend

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("hostile_world")
    prepare_ljspeech(root / "all")
    data = root / "data"
    _cli("data", "subset", str(root / "all" / "train"), str(data), "--first", "4")
    dump, tokens = root / "dump", root / "tokens.txt"
    _cli("extract-feats", str(data), str(dump), "--conf", str(FEATS_CONF), "--no-progress")
    _cli("compute-stats", str(dump), "--no-progress")
    _cli("make-tokens", str(data), "--frontend", "en_phone", "--out", str(tokens))
    frontend, texts, shapes = get_frontend("en_phone"), read_table(data / "text"), FeatureStore(dump).shapes("mel")
    durations = {}
    for uttid in texts:
        n, t = len(frontend.tokenize(texts[uttid])), int(shapes[uttid][0])
        prior = beta_binomial_log_prior(torch.tensor([n]), torch.tensor([t])).clamp(min=-1e4)
        durations[uttid] = durations_from_path(maximum_path(prior.transpose(1, 2), torch.tensor([n]), torch.tensor([t])))[0].tolist()
    write_durations(data / "durations", durations)
    sets = [f"task_conf.train_data={data}", f"task_conf.train_feats={dump}", f"task_conf.token_list={tokens}",
            f"task_conf.stats={dump / 'stats.npz'}", f"task_conf.feats_conf={FEATS_CONF}", "trainer.max_steps=2",
            "trainer.save_interval=2", "trainer.valid_interval=0"]
    tts = _train(REPO / "conf" / "tts" / "fastspeech2_tiny.yaml", root / "tts", *sets)
    aligner = _train(REPO / "conf" / "tts" / "aligner_tiny.yaml", root / "aligner", *sets)
    ada = _train(REPO / "conf" / "tts" / "adaspeech2_tiny.yaml", root / "ada", *sets)  # the source of `adapt`
    teacher = _train(REPO / "conf" / "tts" / "transformer_tts_tiny.yaml", root / "teacher", *sets)
    supernet = _train(REPO / "conf" / "tts" / "lightspeech_supernet_tiny.yaml", root / "supernet", *sets)  # `nas search`
    vocoder = _train(REPO / "conf" / "vocoder" / "priorgrad_tiny.yaml", root / "vocoder", f"task_conf.train_data={data}",
                     f"task_conf.train_feats={dump}", f"task_conf.stats={dump / 'stats.npz'}", f"task_conf.feats_conf={FEATS_CONF}",
                     "trainer.max_steps=2", "trainer.save_interval=2")
    asr_tokens = root / "asr_tokens.txt"
    _cli("make-tokens", str(data), "--units", "en_char", "--out", str(asr_tokens))
    asr_sets = [s for s in sets if not s.startswith("task_conf.token_list=")] + [f"task_conf.token_list={asr_tokens}"]
    asr = _train(REPO / "conf" / "asr" / "ctc_attention_tiny.yaml", root / "asr", *asr_sets)
    pairs = FIXTURES / "correction" / "kathleen_pairs.tsv"
    _cli("correct", "vocab", "--lang", "en", str(pairs), str(root / "corr_tokens.txt"))
    corrector = _train(REPO / "conf" / "correction" / "fastcorrect_tiny.yaml", root / "fastcorrect",
                       f"task_conf.train=[{pairs}]", f"task_conf.tokens={root / 'corr_tokens.txt'}", "trainer.max_steps=1")
    midi_dir = root / "midi"
    midi_dir.mkdir()
    for name in ("aloha_oe.mid", "bwv1.6.mid", "bwv362.mid", "synthetic_drums_tpb383.mid"):
        shutil.copy(FIXTURES / "music" / name, midi_dir / name)
    (midi_dir / "labels.tsv").write_text("song\tmode\naloha_oe\tmajor\nbwv1.6\tmajor\nbwv362\tminor\nsynthetic_drums_tpb383\tminor\n")
    music_data = root / "prepared"
    _cli("midi", "prepare", "--midi-dir", str(midi_dir), "--out-dir", str(music_data), "--labels", str(midi_dir / "labels.tsv"),
         "--label-column", "mode", "--window-notes", "64", "--window-step", "32", "--group-size", "4")
    music = _train(REPO / "conf" / "music" / "musicbert_tiny.yaml", root / "music", "task=music_classification",
                   f"task_conf.train={music_data / 'melody_completion' / 'train.npz'}", "model_conf.num_classes=2",
                   "trainer.max_steps=1", "trainer.batch_bins=4096")
    wavs = root / "synth"
    _cli("synth", "--model-dir", str(tts), "--text-file", str(data / "text"), "--ids", "--out-dir", str(wavs), "--device", "cpu")
    files = _text_files(root / "files", data, pairs, music_data)
    _vocode_inputs(files, dump)
    (files / "asr_wav.scp").write_text((data / "wav.scp").read_text())  # `asr decode --wav-scp`'s input
    shutil.copytree(data, files / "plain_data")  # without durations: what `data fix`/`split` rewrite in place
    (files / "plain_data" / "durations").unlink()
    _new_speaker(data, files / "new_speaker")
    configs = _configs(root / "configs", sets, pairs, root / "corr_tokens.txt", asr_sets)
    corpora = _corpora(root / "corpora", data)
    lyrics = root / "lyrics"
    _cli("music", "prepare-lyrics", str(FIXTURES / "music" / "lyrics" / "beats_zh.txt"), "--lang", "zh", "--out-dir", str(lyrics))
    rapper = _train(REPO / "conf" / "music" / "deeprapper_tiny.yaml", root / "rapper", f"task_conf.train_lyrics={lyrics / 'train.txt'}",
                    f"task_conf.token_list={lyrics / 'tokens.txt'}", f"task_conf.rhyme_list={lyrics / 'rhymes.txt'}", "trainer.max_steps=1")
    songmass = _songmass(root, files)
    return World(root, data, dump, tokens, dump / "stats.npz", tts, aligner, teacher, corrector, vocoder, music, music_data, midi_dir,
                 wavs, files, configs, corpora, ada, asr, rapper, supernet, songmass)


def _vocode_inputs(folder: Path, dump: Path) -> None:
    """``vocode_mel.scp``: the first 12 frames of two utterances' mels, named by absolute paths (so a copy of the scp still finds them)."""
    from speechtools.audio.store import FeatureStore

    store = FeatureStore(dump)
    (folder / "vocode_mels").mkdir()
    lines = []
    for uttid in store.utt_ids("mel")[:2]:
        path = folder / "vocode_mels" / f"{uttid}.npy"
        np.save(path, store.read("mel", uttid)[:12])
        lines.append(f"{uttid} {path}\n")
    (folder / "vocode_mel.scp").write_text("".join(lines))


def _text_files(folder: Path, data: Path, pairs: Path, music_data: Path) -> Path:
    """Small valid inputs of the text formats the commands read."""
    from speechtools.cli.main import cli

    folder.mkdir()
    ids = [line.split()[0] for line in (data / "text").read_text().splitlines()]
    (folder / "sentences.txt").write_text("The 3 dogs ran home.\nPrinting was invented in 1450.\n")
    (folder / "ref.txt").write_text("".join(f"{u} the dog ran home\n" for u in ids))
    (folder / "hyp.txt").write_text("".join(f"{u} the dog ran {'home' if k % 2 else 'hum'}\n" for k, u in enumerate(ids)))
    (folder / "nbest.tsv").write_text("".join(f"{u}\tthe dog ran {'home' if k % 2 else 'hum'}\tthe dog ran hum ||| the dog ran home\n"
                                              for k, u in enumerate(ids)))  # n-best lists (asr_hyp.tsv format)
    (folder / "pairs.tsv").write_text("".join(pairs.read_text().splitlines(keepends=True)[:20]))
    (folder / "labels_ref.txt").write_text("s1 bach\ns2 mozart\ns3 bach\n")
    (folder / "labels_hyp.txt").write_text("s1 bach\ns2 bach\ns3 bach\n")
    (folder / "ranking.txt").write_text("a a1 0 0.9\na a2 1 0.8\na a3 0 0.1\nb b1 1 0.9\nb b2 0 0.7\n")
    for name, mcd in (("report_a.json", 5.0), ("report_b.json", 6.0)):  # score compare's and score paired's inputs: --json reports
        (folder / name).write_text('{"summary": {"mcd_db": {"value": %s, "ci_low": null, "ci_high": null}}, '
                                   '"utterances": {"u1": {"mcd_db": %s}, "u2": {"mcd_db": %s}}}\n' % (mcd, mcd - 1, mcd + 1))
    (folder / "mos.csv").write_text("system,utterance,listener,score\nA,u1,L1,4\nA,u2,L1,5\nA,u1,L2,3\nB,u1,L1,2\nB,u2,L2,3\n")
    (folder / "intelligibility.csv").write_text("system,utterance,listener,transcription\ntts,u1,L1,the cat sat\ntts,u2,L1,hello world\n")
    (folder / "intelligibility_ref.txt").write_text("u1 The cat sat.\nu2 Hello world\n")
    cli.main(args=["midi", "encode", str(FIXTURES / "music" / "bwv362.mid"), str(folder / "octuple.txt")],
             prog_name="speechtools", standalone_mode=False)
    tg_data, tg_grids = folder / "tg_data", folder / "tg_grids"
    tg_data.mkdir()
    tg_grids.mkdir()
    (tg_data / "text").write_text("LJ-test hello world.\n")
    (tg_data / "wav.scp").write_text("LJ-test /dev/null\n")
    (tg_grids / "LJ-test.TextGrid").write_bytes((FIXTURES / "align" / "LJ-test.TextGrid").read_bytes())
    from speechtools.audio.store import FeatureStore

    attention = folder / "attention"  # `score attention`'s input: (frames, tokens) matrices, rows distributions
    attention.mkdir()
    for uttid, (frames, tokens) in (("a1", (12, 4)), ("a2", (9, 3))):
        weights = np.eye(tokens, dtype=np.float32)[np.arange(frames) * tokens // frames]
        np.save(attention / f"{uttid}.npy", weights)
    (folder / "attention_words.txt").write_text("a1 2 2\na2 1 2\n")
    store = FeatureStore(folder / "tg_dump")
    store.write("mel", "LJ-test", np.zeros((87, 80), np.float32))
    store.write_index("mel", ["LJ-test"])
    return folder


def _new_speaker(data: Path, out: Path) -> None:
    """`adapt`'s data: two of the clips with text and durations, as one new speaker."""
    from speechtools.data.kaldi import DataDir

    chosen = DataDir.load(data).select(sorted(DataDir.load(data).utt_ids())[:2])
    chosen.utt2spk = {u: "newspk" for u in chosen.utt_ids()}
    chosen.save(out)


def _configs(folder: Path, sets: list, pairs: Path, corr_tokens: Path, asr_sets: list) -> Path:
    """Complete experiment configs (every path filled in) for `train`, `align train` and `asr train`."""
    import yaml

    from speechtools.config import load_config

    folder.mkdir()
    for name, base, extra in (("aligner.yaml", REPO / "conf" / "tts" / "aligner_tiny.yaml", sets),
                              ("fastcorrect.yaml", REPO / "conf" / "correction" / "fastcorrect_tiny.yaml",
                               [f"task_conf.train=[{pairs}]", f"task_conf.tokens={corr_tokens}", "trainer.max_steps=1"]),
                              ("asr.yaml", REPO / "conf" / "asr" / "ctc_attention_tiny.yaml", asr_sets)):
        config = dict(load_config(base, list(extra) + ["trainer.max_steps=1"]))
        (folder / name).write_text(yaml.safe_dump(config))
    return folder


def _corpora(folder: Path, data: Path) -> Path:
    """Tiny corpora in the layouts `data prepare kathleen|aishell1|philipp` read (real audio, made-up ids)."""
    import soundfile as sf

    from speechtools.data.kaldi import read_table

    wav = next(iter(read_table(data / "wav.scp").values()))
    kathleen = folder / "kathleen"
    (kathleen / "wavs").mkdir(parents=True)
    for uttid in ("arctic_a0001", "arctic_a0539", "arctic_a0544"):
        (kathleen / "wavs" / f"{uttid}.flac").symlink_to(wav)
    (kathleen / "text.psv").write_text("arctic_a0001|Author of the danger trail.\narctic_a0539|Not at this particular case.\n"
                                       "arctic_a0544|For the twentieth time that evening.\n")
    from speechtools.data.corpora.philipp import ADAPT_IDS, EVAL_IDS

    philipp = folder / "philipp"
    (philipp / "wavs").mkdir(parents=True)
    for uttid in ADAPT_IDS + EVAL_IDS[:1]:
        (philipp / "wavs" / f"{uttid}.flac").symlink_to(wav)
    (philipp / "metadata.csv").write_text("".join(f"{u}|Line 1.|Line one.\n" for u in ADAPT_IDS + EVAL_IDS[:1]))
    aishell = folder / "aishell"
    (aishell / "transcript").mkdir(parents=True)
    audio, rate = sf.read(wav)
    lines = []
    for name, uttid in (("train", "BAC009S0002W0122"), ("dev", "BAC009S0724W0121"), ("test", "BAC009S0764W0121")):
        (aishell / "wav" / name / uttid[6:11]).mkdir(parents=True)
        sf.write(aishell / "wav" / name / uttid[6:11] / f"{uttid}.wav", audio[: rate // 2], rate)
        lines.append(f"{uttid} 而 对 楼市 成交 抑制 作用 最 大 的 限 购\n")
    (aishell / "transcript" / "aishell_transcript_v0.8.txt").write_text("".join(lines))
    return folder


def _songmass(root: Path, files: Path) -> Path:
    """SongMASS inputs: Lakh-format .npy songs (``files/lmd``), their data folder (``files/songs``),
    a lyrics file, a melody MIDI, melody token files; returns a tiny songmass model directory."""
    lmd = files / "lmd"
    lmd.mkdir()
    rng = np.random.default_rng(0)
    for k in range(30):
        melody = [[[[float(rng.integers(55, 75)), 1.0, 0.0]] for _ in range(5)] for _ in range(2)]
        lyric = [[[w] for w in rng.choice(["la", "li", "lo", "sun", "moon"], 5)] for _ in range(2)]
        arr = np.empty(1, dtype=object)
        arr[0] = [None, melody, lyric]
        np.save(lmd / f"song{k}.npy", arr, allow_pickle=True)
    _cli("music", "lyrics-melody", "--lmd-dir", str(lmd), "--out-dir", str(files / "songs"))
    (files / "lyrics.txt").write_text("Hel-lo sun\nla li\n\nMoon-light\n")
    (files / "melody_ref.txt").write_text((files / "songs" / "para" / "train.melody").read_text())
    (files / "melody_hyp.txt").write_text((files / "songs" / "para" / "train.melody").read_text())
    shutil.copy(FIXTURES / "music" / "aloha_oe.mid", files / "tune.mid")
    return _train(REPO / "conf" / "music" / "songmass_tiny.yaml", root / "songmass", f"task_conf.data_dir={files / 'songs'}",
                  "model_conf.d_model=32", "model_conf.n_heads=2", "model_conf.ffn_dim=64", "model_conf.encoder_layers=1",
                  "model_conf.decoder_layers=1", "trainer.max_steps=1", "trainer.save_interval=1", "trainer.valid_interval=0")
