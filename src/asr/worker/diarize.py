"""Speaker diarization for the ASR worker: who speaks when, offline, on the CPU, without torch.

Pipeline: Silero VAD (bundled with faster-whisper) finds speech; a GE2E speaker encoder (the
weights resemblyzer 0.1.4 ships in its wheel, run here in numpy) embeds sliding windows inside
the speech; agglomerative clustering (scipy, cosine distance, average linkage) groups the
windows into speakers, counted automatically by a distance threshold or given; every 10 ms of
speech takes the speaker of the nearest window, and runs become turns.

The encoder (Wan et al., "Generalized end-to-end loss for speaker verification"; resemblyzer's
`voice_encoder.py`): 40-channel mel power frames of 16 kHz audio (25 ms Hann window, 10 ms hop,
Slaney mel scale as librosa computes it), a 3-layer LSTM of 256 units, the last hidden state
through a 256-unit linear layer with ReLU, L2-normalised.
"""

from __future__ import annotations

import os
import pickle
from typing import Callable, Iterable

import numpy as np

SAMPLE_RATE = 16000
HOP = 160  # 10 ms
N_FFT = 400  # 25 ms
N_MELS = 40

# Windows embedded inside speech: 1.5 s long, one every 0.75 s. Shorter windows follow quick
# exchanges better but tell voices apart worse; GE2E was trained on 1.6 s partials.
WINDOW_FRAMES = 150
HOP_FRAMES = 75
# Speech shorter than this gets no window of its own: it takes the speaker of the nearest one.
MIN_REGION_SECONDS = 0.4
# Average-linkage cosine distance above which two groups of windows are different speakers
# (tuned on the evaluation set built by test/helpers/two-speakers.ts; see bench/diarize.ts).
DISTANCE_THRESHOLD = 0.3
# In automatic mode a "speaker" holding less speech than this is absorbed by its nearest
# neighbour: a cough, a laugh or a noisy window is not a person. With 2 s, the 11 s demo sample
# (one man speaking) came out as two speakers, 4.5 and 2.25 s (3 windows) 0.25 apart; 3 of 34
# one-speaker files here were split (the demo, its WAV in ../shared, and
# mfa_michaelandsickmichael, one reader well and, by its name, sick). With 3 s, only the last;
# the evaluation set's DER and speaker counts do not change.
MIN_SPEAKER_SECONDS = 3.0
MIN_SPEAKER_SHARE = 0.05
# ...and so is a minor one (under this share of the speech) whose voice is this close (cosine
# distance of the centroids) to another: one reader's changes of tone split off such groups
# (0.11-0.21 on the one-speaker recording), while two real voices measured 0.27 (two men) to
# 0.42 (a man and a woman).
MINOR_SPEAKER_SHARE = 0.2
MINOR_SPEAKER_DISTANCE = 0.24
# A flip of speaker shorter than this inside one stretch of speech is smoothed away.
MIN_TURN_SECONDS = 0.5
# Windows embedded at once (the LSTM's batch): bounds the memory, ~0.1 MB a window.
BATCH = 256
# Average linkage keeps every pair's distance (n²/2 doubles: 12 000 windows, 2.5 hours of speech,
# took 0.6 GB and more): past this many windows the tree is built on an even sample of them
# (16 MB) and every window then joins its nearest speaker centroid.
MAX_CLUSTERED_WINDOWS = 2000


class Stopped(Exception):
    """Raised when the caller's should_stop() says so (a cancelled request)."""


def weights_path() -> str:
    import importlib.util

    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("resemblyzer is not installed (scripts/setup.sh installs it with --no-deps): no speaker encoder weights")
    return os.path.join(list(spec.submodule_search_locations)[0], "pretrained.pt")


class _Storage:
    def __init__(self, key: str, dtype):
        self.key, self.dtype = key, dtype


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "LongStorage": np.int64, "IntStorage": np.int32}


class _TorchUnpickler(pickle.Unpickler):
    """Reads torch's legacy checkpoint pickle without torch: only plain containers, tensors and
    storages may appear (anything else is refused, so a tampered file cannot run code)."""

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            import collections

            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, size, stride, *_rest: _Tensor(storage, offset, tuple(size), tuple(stride))
        if module == "torch" and name in _DTYPES:
            return _DTYPES[name]
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in the speaker encoder weights")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel, view_metadata)
        return _Storage(pid[2], pid[1])


def load_weights(path: str) -> dict:
    """The encoder's parameters as float32 arrays, from torch's legacy (pre-zip) format: magic
    number, protocol, system info, the object, the storage keys, then each storage's raw data."""
    with open(path, "rb") as f:
        for _ in range(3):
            _TorchUnpickler(f).load()
        obj = _TorchUnpickler(f).load()
        keys = _TorchUnpickler(f).load()
        state = obj["model_state"]
        wanted = {t.storage.key: t.storage.dtype for t in state.values() if isinstance(t, _Tensor)}
        raw = {}
        for key in keys:
            (count,) = np.frombuffer(f.read(8), dtype="<i8")
            dtype = np.dtype(wanted.get(key, np.float32))
            data = f.read(int(count) * dtype.itemsize)
            if key in wanted:
                raw[key] = np.frombuffer(data, dtype=dtype)
    out = {}
    for name, t in state.items():
        if not (name.startswith("lstm.") or name.startswith("linear.")):
            continue
        base = raw[t.storage.key]
        item = base.dtype.itemsize
        out[name] = np.lib.stride_tricks.as_strided(base[t.offset:], shape=t.size, strides=[s * item for s in t.stride]).astype(np.float32)
    return out


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """librosa.filters.mel(sr, n_fft, n_mels) with its defaults: Slaney mel scale and area norm."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0

    def hz_to_mel(f):
        f = np.asanyarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m):
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    weights = np.zeros((n_mels, len(fft_freqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2: n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


def mel_frames(audio: np.ndarray, block: int = 6000) -> np.ndarray:
    """Mel power frames (n_frames, 40) like librosa.feature.melspectrogram(center=True): frame t
    is centred on sample t*160. Computed in blocks of a minute so the spectrum never holds more
    than ~10 MB."""
    fb = mel_filterbank()
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann
    padded = np.pad(audio.astype(np.float32), (N_FFT // 2, N_FFT // 2), mode="reflect" if len(audio) > N_FFT // 2 else "constant")
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    out = np.empty((n_frames, N_MELS), dtype=np.float32)
    for lo in range(0, n_frames, block):
        hi = min(n_frames, lo + block)
        idx = (np.arange(lo, hi) * HOP)[:, None] + np.arange(N_FFT)[None, :]
        spec = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2
        out[lo:hi] = spec.astype(np.float32) @ fb.T
    return out


class SpeakerEncoder:
    def __init__(self, path: str | None = None):
        w = load_weights(path or weights_path())
        hidden = 256
        # Per layer one matrix over [input, hidden] and one bias: a single matmul a step. Gates
        # reordered from PyTorch's (input, forget, cell, output) to (input, forget, output, cell),
        # and the three sigmoid gates' rows halved: sigmoid(x) = (tanh(x/2) + 1) / 2, so one tanh
        # over all four gates replaces three sigmoids (scipy's expit was ~10x slower than
        # numpy's tanh on float32 and took most of the LSTM's time besides the matmul).
        order = np.concatenate([np.arange(0, 2 * hidden), np.arange(3 * hidden, 4 * hidden), np.arange(2 * hidden, 3 * hidden)])
        scale = np.concatenate([np.full(3 * hidden, 0.5, np.float32), np.ones(hidden, np.float32)])
        self.layers = []
        for k in range(3):
            wx, wh = w[f"lstm.weight_ih_l{k}"], w[f"lstm.weight_hh_l{k}"]
            weight = np.concatenate([wx, wh], axis=1)[order] * scale[:, None]
            bias = (w[f"lstm.bias_ih_l{k}"] + w[f"lstm.bias_hh_l{k}"])[order] * scale
            self.layers.append((np.ascontiguousarray(weight.T, dtype=np.float32), bias.astype(np.float32)))
        self.linear_w = np.ascontiguousarray(w["linear.weight"].T)
        self.linear_b = w["linear.bias"]

    def embed(self, mels: np.ndarray, should_stop: Callable[[], bool] = lambda: False) -> np.ndarray:
        """(batch, frames, 40) mel windows → (batch, 256) L2-normalised embeddings."""
        batch, frames, n_in = mels.shape
        hidden = 256
        # Each layer's step input [x, h] lives in one buffer, so no concatenation per step.
        xh = [np.zeros((batch, (n_in if k == 0 else hidden) + hidden), np.float32) for k in range(len(self.layers))]
        cs = [np.zeros((batch, hidden), np.float32) for _ in self.layers]
        gates = np.empty((batch, 4 * hidden), np.float32)
        tmp = np.empty((batch, hidden), np.float32)
        last = np.zeros((batch, hidden), np.float32)
        for t in range(frames):
            if t % 25 == 0 and should_stop():
                raise Stopped()
            xh[0][:, :n_in] = mels[:, t, :]
            for k, (w, b) in enumerate(self.layers):
                np.matmul(xh[k], w, out=gates)
                gates += b
                np.tanh(gates, out=gates)
                gates[:, : 3 * hidden] += 1
                gates[:, : 3 * hidden] *= 0.5  # input, forget, output gates: sigmoids now
                c = cs[k]
                c *= gates[:, hidden: 2 * hidden]
                np.multiply(gates[:, :hidden], gates[:, 3 * hidden:], out=tmp)
                c += tmp
                h = xh[k][:, -hidden:]
                np.tanh(c, out=tmp)
                np.multiply(gates[:, 2 * hidden: 3 * hidden], tmp, out=h)
                # The new hidden state is the next layer's input (and, above, the last layer's output).
                if k + 1 < len(self.layers):
                    xh[k + 1][:, :hidden] = h
                else:
                    last = h
        e = np.maximum(last @ self.linear_w + self.linear_b, 0)
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)


_encoder: SpeakerEncoder | None = None


def encoder() -> SpeakerEncoder:
    global _encoder
    if _encoder is None:
        _encoder = SpeakerEncoder()
    return _encoder


def speech_regions(audio: np.ndarray) -> list:
    """(start, end) seconds of speech by Silero VAD, in 5-minute blocks (bounded memory), split
    at pauses of 0.25 s so a change of speaker at a short pause starts a new region."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=250, speech_pad_ms=100, min_speech_duration_ms=200)
    block = 300 * SAMPLE_RATE
    return [((offset + t["start"]) / SAMPLE_RATE, (offset + t["end"]) / SAMPLE_RATE)
            for offset in range(0, len(audio), block)
            for t in get_speech_timestamps(audio[offset: offset + block], options)]


def plan_windows(regions: list, n_frames: int) -> list:
    """Start frames of the embedding windows: each region of speech covered by windows of
    WINDOW_FRAMES every HOP_FRAMES (evenly spread); a shorter region gets one centred window."""
    starts = []
    for s, e in regions:
        if e - s < MIN_REGION_SECONDS:
            continue
        a, b = int(s * 100), int(e * 100)
        if b - a <= WINDOW_FRAMES:
            starts.append(max(0, min(n_frames - WINDOW_FRAMES, (a + b - WINDOW_FRAMES) // 2)))
            continue
        count = int(np.ceil((b - a - WINDOW_FRAMES) / HOP_FRAMES)) + 1
        starts += [int(round(x)) for x in np.linspace(a, b - WINDOW_FRAMES, count)]
    return starts


def cluster(embeddings: np.ndarray, weights: np.ndarray, speakers: int | None, min_speakers: int, max_speakers: int) -> np.ndarray:
    """Speaker label (0..k-1) for each embedding. `weights` is the seconds of speech each window
    stands for (to judge how much a cluster holds)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1 or speakers == 1 or max_speakers == 1:
        return np.zeros(n, dtype=int)
    if n > MAX_CLUSTERED_WINDOWS:
        pick = np.linspace(0, n - 1, MAX_CLUSTERED_WINDOWS).round().astype(int)
        sample = cluster(embeddings[pick], weights[pick] * (n / len(pick)), speakers, min_speakers, max_speakers)
        centroids = np.stack([embeddings[pick][sample == c].mean(0) for c in range(sample.max() + 1)])
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
        return np.unique(np.argmax(embeddings @ centroids.T, axis=1), return_inverse=True)[1]
    tree = linkage(embeddings, method="average", metric="cosine")
    if speakers:
        labels = fcluster(tree, t=min(speakers, n), criterion="maxclust") - 1
    else:
        labels = fcluster(tree, t=DISTANCE_THRESHOLD, criterion="distance") - 1
        labels = _absorb_small(embeddings, labels, weights, keep=min_speakers)
        k = len(set(labels.tolist()))
        if k > max_speakers or k < min_speakers:
            labels = fcluster(tree, t=min(n, max(min_speakers, min(k, max_speakers))), criterion="maxclust") - 1
    # One refinement step: each window to its nearest speaker centroid (average linkage can
    # leave a window with the group it chained into rather than the voice it is closest to).
    k = labels.max() + 1
    centroids = np.stack([embeddings[labels == c].mean(0) for c in range(k)])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
    refined = np.argmax(embeddings @ centroids.T, axis=1)
    if len(set(refined.tolist())) == k:
        labels = refined
    return labels


def _absorb_small(embeddings: np.ndarray, labels: np.ndarray, weights: np.ndarray, keep: int) -> np.ndarray:
    """Merges clusters holding too little speech into their nearest big one, keeping at least `keep`."""
    total = float(weights.sum())
    while True:
        ids = sorted(set(labels.tolist()))
        if len(ids) <= max(1, keep):
            break
        held = {c: float(weights[labels == c].sum()) for c in ids}
        centroids = {c: embeddings[labels == c].mean(0) for c in ids}
        centroids = {c: v / max(float(np.linalg.norm(v)), 1e-9) for c, v in centroids.items()}

        def nearest_to(c):
            return max((o for o in ids if o != c), key=lambda o: float(centroids[o] @ centroids[c]))

        small = min(ids, key=lambda c: held[c])
        if held[small] < MIN_SPEAKER_SECONDS or held[small] < MIN_SPEAKER_SHARE * total:
            victim = small
        else:
            minor = [c for c in ids if held[c] < MINOR_SPEAKER_SHARE * total and 1 - float(centroids[c] @ centroids[nearest_to(c)]) < MINOR_SPEAKER_DISTANCE]
            if not minor:
                break
            victim = min(minor, key=lambda c: held[c])
        labels = np.where(labels == victim, nearest_to(victim), labels)
    _, dense = np.unique(labels, return_inverse=True)
    return dense


def diarize(audio: np.ndarray, options: dict | None = None, should_stop: Callable[[], bool] = lambda: False, regions: list | None = None,
            region_batches: Iterable[list] | None = None) -> list:
    """Speaker turns [{start, end, speaker}] (seconds; speakers numbered 0.. in order of first
    appearance) of 16 kHz mono float32 audio. options: speakers, min_speakers, max_speakers.
    `regions`: speech (start, end) seconds the caller's VAD already found; `region_batches`: the
    same arriving in batches, in order (a transcription's VAD, batch by batch: each batch's
    windows are embedded as it comes); neither runs the VAD here."""
    o = options or {}
    speakers = int(o["speakers"]) if o.get("speakers") else None
    min_speakers = int(o.get("min_speakers") or 1)
    max_speakers = int(o.get("max_speakers") or 16)
    if region_batches is None:
        region_batches = [regions if regions is not None else speech_regions(audio)]
    enc = encoder()
    all_regions: list = []
    starts: list = []
    embeddings: list = []
    mels = None
    n_frames = 0
    for batch in region_batches:
        if should_stop():
            raise Stopped()
        batch = sorted(batch)
        if not batch:
            continue
        all_regions += batch
        if mels is None:
            # The encoder was trained on speech normalised to -30 dBFS (raised only, never
            # lowered); the gain is measured on the first batch of speech (all of it, when the
            # regions come at once).
            speech = np.concatenate([audio[int(s * SAMPLE_RATE): int(e * SAMPLE_RATE)] for s, e in batch])
            rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2))) if len(speech) else 0.0
            gain = 1.0
            if rms > 0:
                change = -30.0 - 20 * np.log10(rms)
                gain = float(10 ** (change / 20)) if change > 0 else 1.0
            del speech
            mels = mel_frames(audio) * np.float32(gain * gain)  # power spectrum: the gain squared
            n_frames = len(mels)
            if len(mels) < WINDOW_FRAMES:
                mels = np.pad(mels, ((0, WINDOW_FRAMES - len(mels)), (0, 0)))
        new = plan_windows(batch, n_frames)
        starts += new
        embeddings += [enc.embed(np.stack([mels[s: s + WINDOW_FRAMES] for s in new[i: i + BATCH]]), should_stop) for i in range(0, len(new), BATCH)]
    if should_stop():
        raise Stopped()
    if not all_regions:
        return []
    all_regions.sort()
    if not starts:
        return [{"start": round(s, 3), "end": round(e, 3), "speaker": 0} for s, e in all_regions]
    order = np.argsort(np.array(starts), kind="stable")
    embeddings = np.concatenate(embeddings)[order]
    centres = np.array(starts)[order] + WINDOW_FRAMES / 2
    weights = np.full(len(starts), HOP_FRAMES / 100.0)
    labels = cluster(embeddings, weights, speakers, min_speakers, max_speakers)
    return _turns(all_regions, centres, labels)


def _turns(regions: list, centres: np.ndarray, labels: np.ndarray) -> list:
    """Each 10 ms frame of speech takes the label of the nearest window centre; runs become turns,
    short flips inside a region are smoothed, speakers renumbered by first appearance."""
    pieces = []  # (start_frame, end_frame, label)
    for s, e in regions:
        a, b = int(round(s * 100)), int(round(e * 100))
        if b <= a:
            continue
        frames = np.arange(a, b) + 0.5
        pos = np.clip(np.searchsorted(centres, frames), 1, len(centres) - 1) if len(centres) > 1 else np.zeros(len(frames), dtype=int)
        if len(centres) > 1:
            left = centres[pos - 1]
            pos = np.where(np.abs(frames - left) <= np.abs(centres[pos] - frames), pos - 1, pos)
        lab = labels[pos]
        runs = []
        start = 0
        for i in range(1, len(lab) + 1):
            if i == len(lab) or lab[i] != lab[start]:
                runs.append([a + start, a + i, int(lab[start])])
                start = i
        # Smooth: a run shorter than MIN_TURN_SECONDS between others takes its longer neighbour's label.
        changed = True
        while changed and len(runs) > 1:
            changed = False
            for j, r in enumerate(runs):
                if r[1] - r[0] < MIN_TURN_SECONDS * 100:
                    nb = [runs[x] for x in (j - 1, j + 1) if 0 <= x < len(runs)]
                    r[2] = max(nb, key=lambda q: q[1] - q[0])[2]
                    merged = []
                    for q in runs:
                        if merged and merged[-1][2] == q[2]:
                            merged[-1][1] = q[1]
                        else:
                            merged.append(list(q))
                    runs = merged
                    changed = True
                    break
        pieces += runs
    # Merge a speaker's consecutive pieces across short pauses; renumber by first appearance.
    turns = []
    order: dict[int, int] = {}
    for a, b, lab in pieces:
        sp = order.setdefault(lab, len(order))
        if turns and turns[-1]["speaker"] == sp and a - turns[-1]["_end"] <= 50:
            turns[-1]["_end"] = b
        else:
            turns.append({"_start": a, "_end": b, "speaker": sp})
    return [{"start": t["_start"] / 100, "end": t["_end"] / 100, "speaker": t["speaker"]} for t in turns]
