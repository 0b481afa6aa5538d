"""Every metric a speech judge (and ``score melody``) reports, once: its JSON key, printed label, decimals and direction.

The judges declare their columns from here, and ``speechtools score compare`` reads labels and
directions from :data:`METRICS` (the order of its columns).
"""

from __future__ import annotations

from typing import Dict

from speechtools.scoring.judges.base import Metric

MCD = Metric("mcd_db", "MCD (dB)", 2, lower_is_better=True)
LOG_F0_RMSE = Metric("log_f0_rmse", "log-F0 RMSE", 3, lower_is_better=True)
PESQ_WB = Metric("pesq_wb", "PESQ-WB", 2)
STOI = Metric("stoi", "STOI", 3)
P808_MOS = Metric("p808_mos", "DNSMOS P.808", 2)
OVRL_MOS = Metric("ovrl_mos", "P.835 OVRL", 2)
SIG_MOS = Metric("sig_mos", "P.835 SIG", 2)
BAK_MOS = Metric("bak_mos", "P.835 BAK", 2)
ASR_WER = Metric("asr_wer", "ASR WER %", 2, lower_is_better=True)
ASR_IR = Metric("asr_ir", "IR % (ASR)", 2)
SPEAKER_SIM = Metric("speaker_sim", "Speaker similarity", 3)
# Size and speed of an acoustic model (speechtools score cost)
PARAMS_M = Metric("params_m", "Params (M)", 2, lower_is_better=True)
GMACS = Metric("gmacs", "GMACs", 3, lower_is_better=True)
LATENCY_MS = Metric("latency_ms", "ms / sentence", 2, lower_is_better=True)
RTF = Metric("rtf", "RTF", 4, lower_is_better=True)
# Generated melodies against the real ones (speechtools score melody; SongMASS)
MELODY_PD = Metric("melody_pd", "PD", 4)
MELODY_DD = Metric("melody_dd", "DD", 4)
MELODY_MD = Metric("melody_md", "MD", 4, lower_is_better=True)

METRICS: Dict[str, Metric] = {m.key: m for m in (MCD, LOG_F0_RMSE, PESQ_WB, STOI, P808_MOS, OVRL_MOS, SIG_MOS, BAK_MOS, ASR_WER, ASR_IR,
                                                    SPEAKER_SIM, PARAMS_M, GMACS, LATENCY_MS, RTF, MELODY_PD, MELODY_DD, MELODY_MD)}
