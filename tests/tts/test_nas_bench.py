"""bench/nas_cost.py: the JSON interface (the tiny supernet configuration, 2 sentences, 2 random architectures)."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_measures_the_authors_the_smallest_and_random_architectures(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("nas_cost", ROOT / "bench" / "nas_cost.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    out = tmp_path / "out.json"
    config = ROOT / "conf" / "tts" / "lightspeech_supernet_tiny.yaml"
    assert bench.main(["--config", str(config), "--sentences", "2", "--random", "2", "--repeats", "1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    kinds = [v["kind"] for v in result["archs"].values()]
    assert sorted(kinds) == ["authors", "random", "random", "smallest"]
    assert all(v["params"] > 0 and v["macs"] > 0 and v["latency_ms"] > 0 and v["rtf"] > 0 for v in result["archs"].values())
    smallest = next(v for v in result["archs"].values() if v["kind"] == "smallest")
    assert all(smallest["params"] < v["params"] and smallest["macs"] < v["macs"] for v in result["archs"].values() if v is not smallest)
    assert result["random"] == 2 and 0 <= result["random_faster_than_authors"] <= 2 and result["cpu"]
    assert "| `sep5 sep25 sep13 sep9 sep17 sep21 sep9 sep13` | authors |" in capsys.readouterr().out
