"""The reference side of scripts/bench.sh: the Keras TIM-Net of ../shared/reference/keras_timnet.py
(TensorFlow CPU) and librosa, on the same shapes and signal as examples/speed.rs. Prints JSON."""
import json, os, resource, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import librosa
import tensorflow as tf
from tensorflow import keras
import keras_timnet


def signal(n, rate):
    """The same gliding tone with xorshift noise as examples/speed.rs."""
    state = np.uint32(0x2545F491)
    noise = np.empty(n, np.float32)
    s = int(state)
    for i in range(n):
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        noise[i] = (np.float32(s) / np.float32(0xFFFFFFFF) - np.float32(0.5)) * np.float32(0.05)
    t = np.arange(n, dtype=np.float32) / np.float32(rate)
    return (0.3 * np.sin(2 * np.pi * (180 + 40 * np.sin(3 * t)) * t) + noise).astype(np.float32)


def median_ms(runs, f):
    f()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def main():
    out = {}
    clip22 = signal(96_000, 22_050)
    mfcc = lambda y: librosa.feature.mfcc(y=y, sr=22_050, n_mfcc=39)
    out["mfcc_ms"] = median_ms(50, lambda: mfcc(clip22))

    model = keras_timnet.build(188, 39, 7, 8)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.93, beta_2=0.98, epsilon=1e-8),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
    x = np.stack([mfcc(clip22).T * (1 + b * 0.01) for b in range(64)]).astype(np.float32)
    y = keras.utils.to_categorical(np.arange(64) % 7, 7)
    for _ in range(3):
        model.train_on_batch(x, y)
    out["step_ms"] = median_ms(20, lambda: model.train_on_batch(x, y))
    out["infer_forward_ms"] = median_ms(30, lambda: model(x[:1], training=False).numpy())

    clip16 = signal(69_600, 16_000)

    def pipeline():
        y22 = librosa.resample(clip16, orig_sr=16_000, target_sr=22_050, res_type="kaiser_best")
        y22 = librosa.util.fix_length(y22, size=96_000)
        model(mfcc(y22).T[None].astype(np.float32), training=False).numpy()

    out["infer_pipeline_ms"] = median_ms(30, pipeline)
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["versions"] = {"tensorflow": tf.__version__, "keras": keras.__version__, "librosa": librosa.__version__}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
