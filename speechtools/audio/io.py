"""Reading and writing audio: files soundfile decodes, ``wav.scp`` pipes, ``segments`` spans.

:func:`load_audio` always returns mono float32 at the requested rate: channels are
averaged, a span ``(start, end)`` in seconds is cut before anything else, and a file at
another rate is either an error (the default, so a mis-prepared corpus is noticed) or
resampled with soxr's high-quality polyphase filter when ``resample=True``.
Every failure is a :class:`~speechtools.errors.UserError` naming the utterance and file.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import subprocess
from pathlib import Path
from typing import BinaryIO, Optional, Tuple, Union

import numpy as np
import soundfile as sf
import soxr

from speechtools.data.kaldi import split_wav_entry
from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_path

Span = Tuple[float, float]
SEGMENT_END_TOLERANCE_S = 0.05  # a segment may end this far past the recording (rounding in segment files)


def _label(utt_id: Optional[str]) -> str:
    return f"utterance {utt_id}: " if utt_id else ""


def _open_source(entry: Union[PathLike, str], utt_id: Optional[str]) -> Tuple[Union[Path, io.BytesIO], str]:
    """Return something soundfile can open and the name to report in errors."""
    source, is_pipe = split_wav_entry(os.fspath(entry))
    if is_pipe:
        try:
            proc = subprocess.run(source, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        except OSError as exc:
            raise UserError(f"{_label(utt_id)}cannot run command: {exc}", source) from None
        if proc.returncode != 0:
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = f": {tail[-1]}" if tail else ""
            raise UserError(f"{_label(utt_id)}command exited with status {proc.returncode}{detail}", source)
        if not proc.stdout:
            raise UserError(f"{_label(utt_id)}command produced no audio", source)
        return io.BytesIO(proc.stdout), source
    path = Path(source)
    if path.is_dir():
        raise UserError(f"{_label(utt_id)}is a folder, expected an audio file", path)
    if not path.is_file():
        raise UserError(f"{_label(utt_id)}no such audio file", path)
    if path.stat().st_size == 0:
        raise UserError(f"{_label(utt_id)}empty audio file", path)
    return path, source


STREAMED_SIZES = (0, 0xFFFFFFFF)  # a WAV 'data' size written before the length was known (a pipe): read to the end


def wav_frame_counts(handle: BinaryIO) -> Optional[Tuple[int, int, int]]:
    """``(frames the header declares, frames the file holds, sample rate)`` of a RIFF/RIFX WAV, else ``None``.

    libsndfile quietly reads a WAV shorter than its ``data`` chunk declares (a copy cut off, a
    full disk) as a shorter recording; this reads the chunk headers to notice. ``None`` for
    other formats, RF64, and a streamed header (``data`` size 0 or 0xFFFFFFFF).
    """
    handle.seek(0, io.SEEK_END)
    length = handle.tell()
    handle.seek(0)
    head = handle.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        return None
    order = "<" if head[:4] == b"RIFF" else ">"
    block_align = rate = 0
    while True:
        chunk = handle.read(8)
        if len(chunk) < 8:
            return None
        size = struct.unpack(order + "I", chunk[4:])[0]
        if chunk[:4] == b"fmt ":
            body = handle.read(size)
            if len(body) < 14:
                return None
            rate = struct.unpack(order + "I", body[4:8])[0]
            block_align = struct.unpack(order + "H", body[12:14])[0]
            handle.seek(size & 1, io.SEEK_CUR)
        elif chunk[:4] == b"data":
            if block_align == 0 or rate == 0 or size in STREAMED_SIZES:
                return None
            return size // block_align, (length - handle.tell()) // block_align, rate
        else:
            handle.seek(size + (size & 1), io.SEEK_CUR)


def _check_not_truncated(handle: Union[Path, io.BytesIO], name: str, label: str) -> None:
    with (open(handle, "rb") if isinstance(handle, Path) else contextlib.nullcontext(handle)) as stream:
        counts = wav_frame_counts(stream)
        stream.seek(0)
    if counts is not None and counts[1] < counts[0]:
        declared, held, rate = counts
        raise UserError(f"{label}truncated WAV: the header declares {declared} samples ({declared / rate:.3f} s) "
                        f"but the file holds {held} ({held / rate:.3f} s)", name)


def read_audio(
    entry: Union[PathLike, str], segment: Optional[Span] = None, utt_id: Optional[str] = None
) -> Tuple[np.ndarray, int, str]:
    """Read a recording as mono float32 at its own rate: ``(samples, sample rate, name for messages)``.

    Args and errors as :func:`load_audio` (without the rate check).
    """
    handle, name = _open_source(entry, utt_id)
    label = _label(utt_id)
    _check_not_truncated(handle, name, label)
    try:
        with sf.SoundFile(handle) as audio:
            rate = audio.samplerate
            total = audio.frames
            start, stop = 0, total
            if segment is not None:
                begin, end = float(segment[0]), float(segment[1])
                start = int(round(begin * rate))
                if end > 0:
                    if end > total / rate + SEGMENT_END_TOLERANCE_S:
                        raise UserError(
                            f"{label}segment {begin:.3f}-{end:.3f} s ends after the recording ({total / rate:.3f} s)", name
                        )
                    stop = min(total, int(round(end * rate)))
                if start >= stop:
                    raise UserError(f"{label}segment {begin:.3f}-{end:.3f} s is empty in a {total / rate:.3f} s recording", name)
            if start > 0:
                audio.seek(start)
            data = audio.read(stop - start, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        message = str(exc).splitlines()[-1] if str(exc) else type(exc).__name__
        raise UserError(f"{label}cannot decode audio ({message})", name) from None
    if data.shape[0] == 0:
        raise UserError(f"{label}audio has no samples", name)
    if not np.isfinite(data).all():
        raise UserError(f"{label}audio contains NaN or infinite samples", name)
    wav = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    return np.ascontiguousarray(wav, dtype=np.float32), rate, name


def load_audio(
    entry: Union[PathLike, str],
    sample_rate: int,
    segment: Optional[Span] = None,
    resample: bool = False,
    utt_id: Optional[str] = None,
) -> np.ndarray:
    """Load a recording as mono float32 at ``sample_rate``.

    Args:
        entry: a file path, or a ``wav.scp`` value (a path, or a shell command ending in ``|``
            whose standard output is an audio file).
        sample_rate: the rate the caller needs, in Hz.
        segment: ``(start, end)`` in seconds of the recording to keep (Kaldi ``segments``);
            ``end <= 0`` means to the end of the recording.
        resample: convert other rates with soxr (``HQ``) instead of raising.
        utt_id: the utterance, to name in error messages.

    Raises:
        UserError: missing, empty, truncated (a WAV shorter than its header declares), undecodable
            or non-finite audio; a path that is a folder; a failed pipe command;
            a segment outside the recording; a rate other than ``sample_rate`` without ``resample``.
    """
    wav, rate, name = read_audio(entry, segment, utt_id)
    label = _label(utt_id)
    if rate != sample_rate:
        if not resample:
            raise UserError(
                f"{label}sample rate is {rate} Hz, expected {sample_rate} Hz (resample the corpus or set resample: true)", name
            )
        wav = soxr.resample(wav, rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(wav, dtype=np.float32)


def save_audio(path: PathLike, wav: np.ndarray, sample_rate: int, subtype: Optional[str] = None) -> None:
    """Write ``wav`` (``(T,)`` or ``(T, channels)``, float in [-1, 1]) atomically; the format follows the suffix.

    Samples are clipped to [-1, 1] so integer formats (16-bit PCM, the WAV default) do not wrap.
    """
    data = np.clip(np.asarray(wav, dtype=np.float32), -1.0, 1.0)
    target = Path(path)
    fmt = target.suffix.lstrip(".").upper() or None
    if fmt is not None and fmt not in sf.available_formats():
        raise UserError(f"unknown audio format {target.suffix!r} (soundfile writes {', '.join(sorted(sf.available_formats()))})", target)
    with atomic_path(target) as tmp:
        sf.write(tmp, data, int(sample_rate), subtype=subtype, format=fmt)
