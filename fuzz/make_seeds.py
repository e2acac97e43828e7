"""Write the fuzzers' seed corpus: small valid files in every container the decoder reads, and
sidecars. Run from the repository root with the fixtures' venv:
    .venv-fixtures/bin/python fuzz/make_seeds.py
The files are committed; libFuzzer mutates them into the inputs nobody would think of."""
import io
import json
import pathlib
import shutil

import numpy as np
import soundfile as sf

root = pathlib.Path(__file__).resolve().parent
audio = root / "seeds" / "front_end"
sidecars = root / "seeds" / "sidecar"
for d in (audio, sidecars):
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)


def tone(rate, seconds, channels=1):
    t = np.arange(int(rate * seconds)) / rate
    y = 0.4 * np.sin(2 * np.pi * 220 * t) * np.hanning(len(t))
    return np.stack([y * (0.5 + 0.5 * c) for c in range(channels)], axis=1) if channels > 1 else y


def write(name, y, rate, fmt, subtype=None):
    buf = io.BytesIO()
    sf.write(buf, y, rate, format=fmt, subtype=subtype)
    (audio / name).write_bytes(buf.getvalue())


write("pcm16_16k.wav", tone(16_000, 0.05), 16_000, "WAV", "PCM_16")
write("pcm24_48k_stereo.wav", tone(48_000, 0.02, 2), 48_000, "WAV", "PCM_24")
write("float_8k.wav", tone(8_000, 0.05), 8_000, "WAV", "FLOAT")
write("u8_11k.wav", tone(11_025, 0.05), 11_025, "WAV", "PCM_U8")
write("extensible_6ch.wav", tone(22_050, 0.01, 6), 22_050, "WAVEX", "PCM_16")
write("pcm16_22k.aiff", tone(22_050, 0.05), 22_050, "AIFF", "PCM_16")
write("tone_16k.flac", tone(16_000, 0.1), 16_000, "FLAC", "PCM_16")
write("tone_22k.ogg", tone(22_050, 0.2), 22_050, "OGG", "VORBIS")
shutil.copy(root.parent / "tests/fixtures/tone_16000.mp3", audio / "tone_16k.mp3")

shipped = json.loads((root.parent / "model-weights/emodb/model.json").read_text())
shipped["recorded"] = []  # not read when loading; keeps the seed small
(sidecars / "shipped.json").write_text(json.dumps(shipped, indent=1))
for size in sorted(p.stat().st_size for p in audio.iterdir()):
    print(size, end=" ")
print()
