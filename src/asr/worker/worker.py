"""vidscribe ASR worker: one long-lived process, one Whisper model loaded once.

Protocol (documented in src/asr/PROTOCOL.md): JSON lines over stdio.
  stdout carries only protocol messages; everything else (logs, download bars) goes to stderr.
  On start:   {"event": "ready", "model": ..., "multilingual": bool}  or  {"event": "fatal", "code", "message"}
  Requests:   {"id", "op": "ping"} | {"id", "op": "transcribe", "media": {...} | "audio": path, "options": {...}}
              | {"id", "op": "cancel", "target": id} | {"id", "op": "diarize", "media": {...} | "audio": path, "options": {...}}
  Replies:    {"id", "event": "pong"} ; for a transcription: "started" (given replicas), "info", "segment"*,
              "progress"*, "speakers" (if options.diarize), then "done" or "error"; for diarize: "started",
              "speakers" then "done", or "error". Up to one job per replica runs at once (ReplicaBudget).
"""

from __future__ import annotations

import os

# One BLAS thread for numpy (diarization's LSTM): its matrices are small, and OpenBLAS threads
# spinning against CTranslate2's on a busy machine multiplied the step's CPU time by more than 10.
# Must be set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# decode() runs two batches at once, each on its own CTranslate2 replica (replica_threads splits
# the threads between them). OpenMP threads that wait sleep instead of spinning, so a batch's idle
# moments go to the other batch: when each replica had both threads of 2 cores, spinning made the
# two batches together barely faster than one after the other. Must be set before CTranslate2's
# OpenMP runtime loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import contextlib
import copy
import functools
import itertools
import json
import math
import queue
import sys
import threading
import time
import traceback

from media_audio import UndecodableMedia, decode_media

# Protocol output goes to the real stdout; main() sends stray prints from libraries to stderr.
_PROTOCOL_OUT = sys.stdout
_write_lock = threading.Lock()

ASR_FAILED = 5001
MODEL_UNAVAILABLE = 5002
CANCELLED = 5004
BAD_REQUEST = 400
CORRUPT_MEDIA = 4005

SAMPLE_RATE = 16000


def send(msg: dict) -> None:
    line = json.dumps(msg, ensure_ascii=False, separators=(",", ":"))
    with _write_lock:
        _PROTOCOL_OUT.write(line + "\n")
        _PROTOCOL_OUT.flush()


class Cancelled(Exception):
    pass


def load_model(spec: str, compute_type: str, threads: int, download_root: str | None):
    from faster_whisper import WhisperModel

    replicas, each = replica_threads(threads)
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    if os.path.isdir(spec):
        if not os.path.isfile(os.path.join(spec, "model.bin")):
            raise FileNotFoundError(f"{spec} has no model.bin: not a CTranslate2 Whisper model directory")
        return WhisperModel(spec, device="cpu", compute_type=compute_type, cpu_threads=each, num_workers=replicas)
    try:
        return WhisperModel(
            spec,
            device="cpu",
            compute_type=compute_type,
            cpu_threads=each,
            num_workers=replicas,
            download_root=download_root,
            local_files_only=offline,
        )
    except Exception as e:  # noqa: BLE001 - re-raised with a message a user can act on
        how = (
            "This machine is offline (HF_HUB_OFFLINE=1)"
            if offline
            else "It could not be downloaded"
        )
        raise RuntimeError(
            f"Model '{spec}' is not on this machine. {how}. Pass --model with a local CTranslate2 "
            f"Whisper directory (containing model.bin, config.json, tokenizer.json, vocabulary.txt), "
            f"or run once while online to download it. Cause: {e}"
        ) from e


def replica_threads(threads: int) -> tuple:
    """(replicas, threads each) for a budget of `threads`: up to DECODE_STREAMS replicas of the
    model (CTranslate2 shares their weights), the threads split between them, so that decode()'s
    streams never run more threads than the budget. On 2 cores, two replicas of one thread each
    decoded the 10-minute interview 5-12 % faster and the one-hour input 9 % faster than two of two
    threads each (README, "Two batches at once"); one thread per matrix product also waits for
    no other."""
    threads = max(1, int(threads))
    replicas = min(DECODE_STREAMS, threads)
    return replicas, threads // replicas


def load_audio(req: dict):
    """A request's audio: `media` (a file and its audio stream, decoded here) or `audio` (raw PCM)."""
    media = req.get("media")
    if isinstance(media, dict):
        return decode_media(str(media.get("path")), int(media.get("stream", -1)), str(media.get("format_whitelist", "")),
                            float(media.get("expected_seconds") or 0))
    return load_pcm(str(req.get("audio")))


def load_pcm(path: str):
    import numpy as np

    # Raw s16le mono 16 kHz written by the TypeScript side's ffmpeg extraction.
    pcm = np.memmap(path, dtype=np.int16, mode="r") if os.path.getsize(path) > 0 else np.zeros(0, dtype=np.int16)
    return (pcm.astype(np.float32) / 32768.0)


class Worker:
    def __init__(self, model_name: str, english_name: str | None = None, replicas: int = 1):
        # "Auto" mode: both models stay loaded (tiny.en ~40 MB, base ~150 MB int8), so a slot serves
        # every language without reloading; the multilingual one detects, English goes to the fast one.
        # Each job decodes through Decoders of its own over these two. They are set by serve(): the
        # requests are read, and their audio decoded, while the models load.
        self.model = None
        self.english_model = None
        self.loaded = threading.Event()
        self.model_name = model_name
        self.english_name = english_name
        self.budget = ReplicaBudget(replicas)
        self.jobs: "queue.Queue[dict | None]" = queue.Queue()
        self.turns = itertools.count()
        self.cancelled: set[str] = set()
        self.running: set[str] = set()
        self.lock = threading.Lock()
        self.runners: list = []

    def listen(self) -> None:
        """Starts reading requests, and as many job runners as replicas: while a file decodes,
        the next one's audio is decoded, and a file too short to use every replica (ReplicaBudget)
        decodes beside it. Before the models are loaded (serve), a job decodes its audio and waits."""
        threading.Thread(target=self.read_requests, daemon=True).start()
        self.runners = [threading.Thread(target=self.run_jobs, name=f"jobs-{i}", daemon=True) for i in range(self.budget.total)]
        for t in self.runners:
            t.start()

    def serve(self, model, english=None) -> None:
        """The models are loaded: the waiting jobs go on; returns after a shutdown, once every job
        sent before it has ended."""
        self.model, self.english_model = model, english
        self.loaded.set()
        for t in self.runners:
            t.join()

    # Runs on the reader thread: ping and cancel are answered even while a transcription runs.
    def read_requests(self) -> None:
        for raw in sys.stdin:
            raw = raw.strip()
            if not raw:
                continue
            try:
                req = json.loads(raw)
            except json.JSONDecodeError as e:
                send({"event": "error", "code": BAD_REQUEST, "message": f"malformed request: {e}"})
                continue
            op = req.get("op")
            rid = req.get("id")
            if op == "ping":
                with self.lock:
                    busy = bool(self.running)
                send({"id": rid, "event": "pong", "busy": busy})
            elif op == "cancel":
                with self.lock:
                    self.cancelled.add(req.get("target"))
                print(f"cancel requested for {req.get('target')}", file=sys.stderr)
                send({"id": rid, "event": "cancelling", "target": req.get("target")})
            elif op in ("transcribe", "diarize"):
                req["turn"] = next(self.turns)  # its place in line for the replicas (ReplicaBudget)
                self.jobs.put(req)
            elif op == "shutdown":
                self.jobs.put(None)
                return
            else:
                send({"id": rid, "event": "error", "code": BAD_REQUEST, "message": f"unknown op {op!r}"})
        # stdin closed without a shutdown: our owner is gone (killed), so nobody will read our answers.
        print("stdin closed without shutdown: the server is gone, exiting", file=sys.stderr)
        os._exit(0)

    def is_cancelled(self, rid: str) -> bool:
        with self.lock:
            return rid in self.cancelled

    def run_jobs(self) -> None:
        trimmed = True
        while True:
            try:
                req = self.jobs.get(timeout=None if trimmed else IDLE_TRIM_SECONDS)
            except queue.Empty:
                # Idle: what the last job freed goes back to the system (see reuse_freed_memory).
                with self.lock:
                    idle = not self.running
                if idle:
                    trimmed = release_free_memory()
                continue
            trimmed = False
            if req is None:
                self.jobs.put(None)  # the other runners stop too, once their job is done
                return
            rid = req.get("id")
            with self.lock:
                self.running.add(rid)
            try:
                if self.is_cancelled(rid):
                    raise Cancelled()
                if req.get("op") == "diarize":
                    self.diarize_only(rid, req, req.get("options") or {})
                else:
                    self.transcribe(rid, req, req.get("options") or {})
            except Cancelled:
                send({"id": rid, "event": "error", "code": CANCELLED, "message": "transcription cancelled"})
            except UndecodableMedia as e:
                send({"id": rid, "event": "error", "code": CORRUPT_MEDIA, "message": str(e)})
            except Exception as e:  # noqa: BLE001 - every failure is reported on the protocol, with its trace on stderr
                traceback.print_exc(file=sys.stderr)
                send({"id": rid, "event": "error", "code": ASR_FAILED, "message": f"{type(e).__name__}: {e}"})
            finally:
                self.budget.pass_turn(req["turn"])  # a job that ended before taking replicas
                with self.lock:
                    self.running.discard(rid)
                    self.cancelled.discard(rid)

    def await_models(self, rid: str) -> None:
        """Returns once the models are loaded (serve), so that "ready" comes before the job's
        messages; a cancel stops the wait."""
        while not self.loaded.wait(0.1):
            if self.is_cancelled(rid):
                raise Cancelled()

    @contextlib.contextmanager
    def replicas(self, rid: str, req: dict, wanted: int):
        """Waits for this job's turn and `wanted` replicas (a cancel stops the wait), then tells
        the client the job has started: its time limit counts from here, not from the queue."""
        self.await_models(rid)
        with self.budget.take(req["turn"], wanted, stop=lambda: self.is_cancelled(rid)) as taken:
            send({"id": rid, "event": "started"})
            yield taken

    def transcribe(self, rid: str, req: dict, o: dict) -> None:
        audio = load_audio(req)
        total = len(audio) / SAMPLE_RATE
        started = time.monotonic()
        language = o.get("language") or None
        if total == 0:
            self.await_models(rid)
            send({"id": rid, "event": "info", "language": language or "en", "language_probability": 0, "duration": 0})
            if o.get("diarize") is not None:
                send({"id": rid, "event": "speakers", "turns": [], "count": 0, "wall": 0})
            send({"id": rid, "event": "done", "duration": 0, "language": language or "en", "wall": 0})
            return
        windows = plan_windows(audio)
        wanted = batch_plan(len(windows), transcribe_kwargs(o)["batch_size"])[1]
        with self.replicas(rid, req, wanted) as streams:
            decoders = Decoders(self.model, self.english_model)
            batched, model_name, o, detected = self.route(decoders, audio, o, windows)
            # Diarization runs beside the decoding, in a thread (numpy and onnxruntime release the GIL),
            # so its CPU time hides in what CTranslate2 leaves idle; joined after the last segment.
            # It reuses the speech regions the transcription's VAD finds, batch by batch as they come
            # (Silero over 10 minutes costs ~1.5 CPU-seconds, a third of what diarization costs), and
            # embeds each batch's windows while the next one decodes; None ends the stream.
            abandon = threading.Event()
            speakers = None
            regions: queue.Queue | None = None
            if o.get("diarize") is not None:
                if o.get("vad_filter", True):
                    regions = queue.Queue()
                    batches = iter(regions.get, None)
                else:
                    batches = None  # no VAD in the transcription: diarize runs its own
                speakers = Background(lambda: self.speakers(rid, audio, o["diarize"], stop=abandon.is_set, region_batches=batches))
            try:
                self.decode_and_send(rid, audio, total, started, batched, model_name, o, detected, speakers, regions, windows,
                                     streams, decoders)
            finally:
                # Failed or cancelled: the diarization stops at its next check instead of running on.
                abandon.set()
                if regions is not None:
                    regions.put(None)

    def decode_and_send(self, rid, audio, total, started, batched, model_name, o, detected, speakers, regions, windows, streams,
                        decoders) -> None:
        segments, info = decode(batched, audio, o, regions.put if regions is not None else None, lambda: self.is_cancelled(rid), windows,
                                streams)
        language = info.language if info else (o.get("language") or "en")
        probability = info.language_probability if info else 0
        if detected:
            probability = detected["probability"]
        send({"id": rid, "event": "info", "language": language, "language_probability": probability,
              "duration": total, "model": model_name, "detect_wall": detected["wall"] if detected else 0})
        last_progress = 0.0
        for s in segments:
            if self.is_cancelled(rid):
                raise Cancelled()
            send({"id": rid, "event": "segment", "segment": segment_json(s)})
            done = min(total, s.end)
            if done > last_progress:
                last_progress = done
                send({"id": rid, "event": "progress", "done": round(done, 3), "total": round(total, 3)})
        send({"id": rid, "event": "progress", "done": round(total, 3), "total": round(total, 3)})
        if speakers is not None:
            if regions is not None:
                regions.put(None)  # every batch's regions are in
            send(speakers.result())
        send({"id": rid, "event": "done", "duration": total, "language": language, "wall": round(time.monotonic() - started, 3),
              "encoder_windows": sum(memo.windows for memo in decoders.memos)})

    def send_speakers(self, rid: str, audio, options: dict, regions: list | None = None) -> None:
        send(self.speakers(rid, audio, options, regions))

    def speakers(self, rid: str, audio, options: dict, regions: list | None = None, stop=lambda: False, region_batches=None) -> dict:
        """Who speaks when (diarize.py), as one "speakers" message; a cancel stops it within ~0.1 s."""
        import diarize

        if not isinstance(options, dict):
            raise ValueError("options.diarize must be an object")
        started = time.monotonic()
        try:
            turns = diarize.diarize(audio, options, should_stop=lambda: stop() or self.is_cancelled(rid), regions=regions,
                                    region_batches=region_batches)
        except diarize.Stopped:
            raise Cancelled() from None
        return {"id": rid, "event": "speakers", "turns": turns, "count": len({t["speaker"] for t in turns}),
                "wall": round(time.monotonic() - started, 3)}

    def diarize_only(self, rid: str, req: dict, o: dict) -> None:
        started = time.monotonic()
        audio = load_audio(req)
        with self.replicas(rid, req, self.budget.total):  # its threads take the whole machine
            self.send_speakers(rid, audio, o)
        send({"id": rid, "event": "done", "duration": len(audio) / SAMPLE_RATE, "wall": round(time.monotonic() - started, 3)})


    def route(self, d: "Decoders", audio, o: dict, windows: list):
        """Which model decodes this request, and in which language. An English-only model alone
        decodes everything as English. Otherwise a given language is used as is; else the
        multilingual model's detector listens to the first window decode() will decode (`windows`,
        from plan_windows: audible audio, not the file's first 30 s, which may be silence or music). A hint (the session's language) wins when the
        detector gives it a fair chance, since a short or accented opening can tip the detector
        toward a neighbour language. In auto mode English then goes to the English model."""
        if d.english is None and not d.model.model.is_multilingual:
            return d.batched, self.model_name, o, None
        # A request that names one of the two loaded models gets it, without detection.
        if d.english is not None and o.get("model") == "english":
            return d.english, self.english_name, {**o, "language": "en"}, None
        if d.english is not None and o.get("model") == "multilingual":
            return d.batched, self.model_name, o, None
        language = o.get("language") or None
        detected = None
        if not language:
            started = time.monotonic()
            first = windows[0] if windows else whole_first_window(audio)
            top, probability, ranked = d.model.detect_language(features=window_features(d.model, audio, first))
            probs = dict(ranked)
            if probability < UNSURE_LANGUAGE:
                # Unsure (a short or unusual voice): listen again to the speech alone, without the
                # silence around it, and average the two answers. Only unsure files pay this pass.
                speech = first_speech(audio, windows)
                if speech is not None:
                    memo = d.memos[0]
                    memo.keep = False  # the decoder still reuses the first listen
                    try:
                        again = dict(d.model.detect_language(speech)[2])
                    finally:
                        memo.keep = True
                    probs = {k: (probs.get(k, 0.0) + again.get(k, 0.0)) / 2 for k in probs.keys() | again.keys()}
                    top = max(probs, key=probs.get)
                    probability = probs[top]
                if probability < UNSURE_LANGUAGE and d.memos[0].kept:
                    candidates = sorted((k for k, v in probs.items() if v >= CANDIDATE_LANGUAGE), key=probs.get, reverse=True)
                    if len(candidates) > 1:
                        # Still unsure between candidates: the decoder decides (see likeliest_language).
                        top = likeliest_language(d.model, d.memos[0].kept_output, candidates[:3], int(o.get("beam_size", 5)))
                        probability = probs[top]
            hint = o.get("language_hint") or None
            language = top
            if hint and hint != top and probs.get(hint, 0.0) >= HINT_MIN_PROBABILITY:
                language = hint
            detected = {"probability": round(float(probs.get(language, probability)), 4),
                        "wall": round(time.monotonic() - started, 3)}
            print(f"detected language {top} ({probability:.2f}); using {language}", file=sys.stderr)
            o = {**o, "language": language}
        if language == "en" and d.english is not None:
            return d.english, self.english_name, o, detected
        return d.batched, self.model_name, o, detected


def whole_first_window(audio) -> list:
    """The file's first 30 s, as a window: what the detector hears when nothing is audible."""
    return [(0.0, min(WINDOW_SECONDS, len(audio) / SAMPLE_RATE))]


def window_features(model, audio, pieces: list):
    """The log-Mel features of a window (plan_windows), computed exactly as the batched pipeline
    computes them in run_windows, so the decoder reuses the detector's encoder pass (EncoderMemo)."""
    return model.feature_extractor(window_audio(audio, pieces))[..., :-1]


class EncoderMemo:
    """Keeps the encoder's output for the window the language detector just heard, and hands it
    to the decoder when that window comes first in its batch. The encoder costs as much as the
    rest of a window's decoding, so detection made a short file cost two passes instead of one."""

    def __init__(self, model):
        self._encode = model.encode
        self._key = None
        self._value = None
        self.windows = 0  # windows encoded for this job (each job has memos of its own: Decoders)
        self.keep = True  # False: a single window is encoded without replacing the kept one
        self._lock = threading.Lock()  # decode()'s streams encode at once
        model.encode = self

    @property
    def kept(self) -> bool:
        """Whether the detector's pass is waiting for the decoder."""
        return self._key is not None

    @property
    def kept_output(self):
        """The encoder's output for the window the detector heard (see kept)."""
        return self._value

    @staticmethod
    def _digest(window) -> bytes:
        import hashlib

        import numpy as np

        return hashlib.blake2b(np.ascontiguousarray(window).tobytes(), digest_size=16).digest()

    def __call__(self, features):
        import ctranslate2
        import numpy as np

        with self._lock:
            self.windows += 1 if features.ndim == 2 else features.shape[0]
        if features.ndim == 2 and not self.keep:
            return self._encode(features)
        if features.ndim == 2:  # the detector's single window
            out = self._encode(features)
            with self._lock:
                self._key, self._value = self._digest(features), out
            return out
        with self._lock:
            first = None
            if self._key is not None and self._digest(features[0]) == self._key:
                first, self._key, self._value = self._value, None, None
                self.windows -= 1
        if first is None:
            return self._encode_in_parts(features)
        if features.shape[0] == 1:
            return first
        rest = np.array(self._encode_in_parts(features[1:]))
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.concatenate([np.array(first), rest])))

    def _encode_in_parts(self, features):
        """A batch encoded ENCODER_BATCH windows at a time: the encoder's attention scores take
        72 MB a window with base (8 heads x 1500 x 1500 floats), so a batch of 8 at once set the
        worker's peak (1133 MB against 815 MB two at a time on the 10-minute interview, same CPU
        time). decode()'s two streams each encode one at a time: two at a time each, the peak rose
        by 117 MB with base (951 MB against 834 MB before the streams, in one process), one at a
        time by 29 MB, as fast. The decoder still runs on the whole batch."""
        import ctranslate2
        import numpy as np

        if features.shape[0] <= ENCODER_BATCH:
            return self._encode(features)
        parts = [np.array(self._encode(features[i: i + ENCODER_BATCH])) for i in range(0, features.shape[0], ENCODER_BATCH)]
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.concatenate(parts)))


class Decoders:
    """A job's own handles on the loaded models: the weights and CTranslate2's replicas are
    shared, the per-file state (EncoderMemo, the pipelines' per-call state) is the job's, so two
    jobs decode at once without mixing theirs."""

    def __init__(self, model, english=None):
        from faster_whisper import BatchedInferencePipeline

        self.model = copy.copy(model)
        self.memos = [EncoderMemo(self.model)]
        self.batched = BatchedInferencePipeline(self.model)
        self.english = None
        if english is not None:
            english = copy.copy(english)
            self.memos.append(EncoderMemo(english))
            self.english = BatchedInferencePipeline(english)


class ReplicaBudget:
    """The model's replicas (replica_threads), shared by the worker's jobs: a job takes as many as
    it has batches to decode at once (decode's streams), so a long file takes them all and a file
    of one window takes one, leaving the other to the next file. Jobs take theirs in the order
    they arrived (their turn), so a long file waiting for all of them is never overtaken by short
    ones; a job that ends without taking any passes its turn on."""

    def __init__(self, total: int):
        self.total = max(1, int(total))
        self._free = self.total
        self._turn = 0  # the earliest job that has neither taken replicas nor passed its turn
        self._over: set = set()  # later turns already taken or passed
        self._cond = threading.Condition()

    def _end_turn(self, turn: int) -> None:
        if turn < self._turn:
            return
        self._over.add(turn)
        while self._turn in self._over:
            self._over.discard(self._turn)
            self._turn += 1
        self._cond.notify_all()

    @contextlib.contextmanager
    def take(self, turn: int, wanted: int, stop=lambda: False):
        """Waits for `turn` and min(wanted, total) free replicas, at least one; yields how many it
        took and gives them back on leaving. Raises Cancelled when `stop()` while waiting."""
        n = max(1, min(int(wanted), self.total))
        with self._cond:
            while not (self._turn == turn and self._free >= n):
                if stop():
                    self._end_turn(turn)
                    raise Cancelled()
                self._cond.wait(0.1)
            self._free -= n
            self._end_turn(turn)
        try:
            yield n
        finally:
            with self._cond:
                self._free += n
                self._cond.notify_all()

    def pass_turn(self, turn: int) -> None:
        """A job that ended (failed, or had nothing to decode): later jobs need not wait for it.
        Nothing happens if it took its replicas already."""
        with self._cond:
            self._end_turn(turn)


class Background:
    """A function run in a thread; result() waits for it and returns its value or raises its error."""

    def __init__(self, fn):
        self._value, self._error = None, None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn) -> None:
        try:
            self._value = fn()
        except BaseException as e:  # noqa: BLE001 - handed to whoever waits in result()
            self._error = e

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


# The hinted language is taken when the detector gives it at least this probability.
HINT_MIN_PROBABILITY = 0.2
# Batches decode() runs at most at once, each on its own replica of the model (replica_threads).
DECODE_STREAMS = 2
# The most windows a request may have in flight (its batch_size option).
MAX_BATCH = 16
# Windows the encoder runs on at once in each stream (EncoderMemo._encode_in_parts).
ENCODER_BATCH = 1
# Below this, the detector listens a second time, to the speech alone (Worker.route).
UNSURE_LANGUAGE = 0.5
# Still unsure after that, the languages with at least this probability are decoded (likeliest_language).
CANDIDATE_LANGUAGE = 0.1


def likeliest_language(model, encoder_output, candidates: list, beam_size: int) -> str:
    """The candidate language in which the model finds its own transcript of the first window
    likeliest (mean log-probability per token), reusing the detector's encoder pass. Whisper's
    detector is unsure on short or unusual voices: a synthetic English command scored Latin 0.36
    against English 0.18, but its transcript scores -0.38 as English ("Send a message to Laura...")
    and -1.24 as Latin ("Sena mesi jute lola..."). A looping transcript (compression ratio over
    2.4, faster-whisper's own bound for a failed decoding) does not count."""
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_compression_ratio

    best, best_score = candidates[0], -math.inf
    for language in candidates:
        tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language=language)
        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        result = model.model.generate(encoder_output, [prompt], beam_size=beam_size, return_scores=True, max_length=224)[0]
        if get_compression_ratio(tokenizer.decode(result.sequences_ids[0])) > 2.4:
            continue
        if result.scores[0] > best_score:
            best, best_score = language, result.scores[0]
    print(f"unsure between {candidates}: the likeliest transcript is in {best}", file=sys.stderr)
    return best


def first_speech(audio, windows: list):
    """The VAD's speech in the span of the first planned window, end to end (what
    faster-whisper's detector hears with its VAD on), or None when the VAD hears none there."""
    import numpy as np

    if not windows:
        return None
    regions = speech_regions(audio, windows[0][0][0], windows[0][-1][1])
    if not regions:
        return None
    return np.concatenate([audio[int(s * SAMPLE_RATE): int(e * SAMPLE_RATE)] for s, e in regions])


def segment_json(s) -> dict:
    return {
        "id": s.id,
        "seek": s.seek,
        "start": round(s.start, 3),
        "end": round(s.end, 3),
        "text": s.text,
        "tokens": list(s.tokens),
        "temperature": s.temperature,
        "avg_logprob": s.avg_logprob,
        "compression_ratio": s.compression_ratio,
        "no_speech_prob": s.no_speech_prob,
        "words": [
            {"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3), "probability": round(w.probability, 4)}
            for w in (s.words or [])
        ],
    }


def transcribe_kwargs(o: dict) -> dict:
    """faster-whisper settings for a request (bench:asr's baselines keep the library's defaults)."""
    kwargs = dict(
        language=o.get("language") or None,
        task=o.get("task") or "transcribe",
        beam_size=int(o.get("beam_size", 5)),
        # Beam search runs on until twice the beam's number of hypotheses have ended, not once: an
        # early end of text is then less often taken, and a window less often stops before its
        # speech does. On the 10-minute interview with base: 26 windows with the second pass's
        # instead of 29, WER 7.7 % instead of 7.8 %, and less time, since fewer tails are decoded.
        patience=2.0,
        word_timestamps=bool(o.get("word_timestamps", True)),
        # Conditioning on previous text is the main source of runaway repetition loops.
        condition_on_previous_text=bool(o.get("condition_on_previous_text", False)),
        initial_prompt=o.get("initial_prompt") or None,
        hotwords=o.get("hotwords") or None,
        # Windows in flight at once, shared by decode()'s streams (3 + 3): with 4 + 4 the worker's
        # peak on the 10-minute interview rose by 180 MB with base (1016-1061 MB against 831-855 MB
        # with one batch of 8); with 3 + 3 it stays there (831-860 MB). README, "Two batches at once".
        # At most MAX_BATCH: every window in flight holds its encoder output and beams in memory.
        batch_size=min(MAX_BATCH, max(1, int(o.get("batch_size", 6)))),
        # Each window is decoded whole: no timestamp tokens, so no seeking inside it (see decode).
        without_timestamps=True,
        # Everything audible is decoded: the VAD is applied afterwards (see decode, gate_segments).
        vad_filter=False,
    )
    if o.get("temperature") is not None:
        kwargs["temperature"] = float(o["temperature"])
    return kwargs


def batch_plan(windows: int, batch_size: int) -> tuple:
    """(windows a call, batches) for decode() over `windows` windows. The batch size is shared by
    the streams (DECODE_STREAMS), so no more windows are in flight than with one stream; in one
    process, 4 + 4 windows decoded the 10-minute interview in 11.5 s with base instead of 13.7 s
    one batch of 8 after the other, and 8 + 8 in 13.6 s: its 26 windows then made too few
    batches to share. A file of a few windows is cut into as many batches as there are streams."""
    per_call = max(1, min(batch_size // DECODE_STREAMS, -(-windows // DECODE_STREAMS)))
    return per_call, -(-windows // per_call)


def decode(batched, audio, o: dict, on_regions=None, cancelled=lambda: False, windows=None, streams=None):
    """Runs faster-whisper over all the audible audio in windows of at most 30 s (plan_windows),
    decoded in batches, then uses the VAD twice: to find speech the first pass left out (decoded
    again in a second pass) and to drop hallucinated segments (`on_regions` gets each batch's VAD
    regions as its segments come out). Three failure modes of the usual settings,
    all seen on our test corpus, are avoided this way:
    - faster-whisper's own vad_filter cuts non-speech out *before* decoding, and its Silero state
      can stay stuck on "no speech" after a change of voice or room, silently dropping real speech
      (16 s of 52 in one item; corpus WER 18 % against 8 % here); only silence (by level, not by
      the VAD) is left out of the windows here;
    - sequential decoding with word timestamps seeks to the last word's end when the model stops
      early in a window, and a mis-aligned last word makes it skip a phrase;
    - a window decoded whole can stop early, leaving its tail out (28 % WER on back-to-back clips
      of different speakers, 19 % with the second pass).
    `cancelled` is asked before each call after the first: a batch's segments come out only after
    the next call, so asking between segments alone left two calls between asks.
    """
    kwargs = transcribe_kwargs(o)
    if windows is None:
        windows = plan_windows(audio)
    if not windows:  # nothing audible at all
        return iter(()), None
    # One call per batch of windows (batch_plan): segments stream batch by batch.
    per_call = batch_plan(len(windows), kwargs["batch_size"])[0]
    first, info = run_windows(batched, audio, windows[:per_call], kwargs)
    # Later calls reuse the language detected on the first, as one call over everything would.
    later = {**kwargs, "language": kwargs["language"] or info.language}
    use_vad = bool(o.get("vad_filter", True))
    # The second pass looks for speech no decoded word covers, so it needs the words' times.
    second_pass = use_vad and kwargs["word_timestamps"]
    batches = [windows[i: i + per_call] for i in range(0, len(windows), per_call)]
    calls = CallQueue(len(batches), per_call)
    # As many streams as the model has replicas (replica_threads), or as the job was given
    # (ReplicaBudget): one thread's budget, one stream.
    streams = min(streams or getattr(batched.model.model, "num_workers", 1), len(batches))
    lock = threading.Condition()
    segments_of = [[] for _ in batches]  # batch number -> its segments so far, tails' included
    regions_of: list = [None] * len(batches)
    done: dict = {}  # batch number -> (segments, VAD regions), once its tails are decoded too
    failures: list = []
    stop = threading.Event()

    def decoded(pipeline, windows: list) -> list:
        if stop.is_set() or cancelled():
            raise Cancelled()
        return list(run_windows(pipeline, audio, windows, later)[0])

    def make(pipeline, call: tuple) -> None:
        """One call of the queue: its windows decoded, then (a batch's own call) its VAD regions
        and the tails they leave for the second pass (one tail a window: packed, Whisper skipped
        some of them again)."""
        kind, number, tails = call
        if kind == "tails":
            segments = decoded(pipeline, tails)
        else:
            batch = batches[number]
            # The first batch's call was made before the streams started (it carries no tails).
            segments = list(first) if number == 0 else decoded(pipeline, tails + batch)
            mine = [s for s, w in segments if w >= len(tails)]
            regions = speech_regions(audio, batch[0][0][0], batch[-1][-1][1]) if use_vad else None
            left = []
            if second_pass:
                left = [[piece] for piece in missed_speech(merged(regions + unheard_pieces(batch, mine)), mine)]
        with lock:
            if kind == "tails":
                segments_of[number] += [s for s, _ in segments]
                complete = calls.done(call)
            else:
                if tails:  # windows [0, len(tails)) of the call were an earlier batch's tails
                    segments_of[number - CallQueue.LAG] += [s for s, w in segments if w < len(tails)]
                segments_of[number] += mine
                regions_of[number] = regions
                complete = calls.done(call, left)
            for n in complete:
                done[n] = (segments_of[n], regions_of[n])
                segments_of[n] = []
            lock.notify_all()

    def run(pipeline) -> None:
        """A stream: takes the queue's calls until none is left (or one failed), each on this
        stream's replica."""
        try:
            while True:
                with lock:
                    lock.wait_for(lambda: failures or stop.is_set() or calls.finished or calls.has_ready)
                    if failures or stop.is_set() or calls.finished:
                        return
                    call = calls.take()
                make(pipeline, call)
        except BaseException as e:  # noqa: BLE001 - re-raised by all_segments
            with lock:
                failures.append(e)
                lock.notify_all()

    # Each stream has a pipeline object of its own (the pipeline keeps per-call state); the model
    # and its replicas are shared.
    pipelines = [batched] + [type(batched)(batched.model) for _ in range(1, streams)]

    def all_segments():
        """The batches' segments in batch order, so in time order (a batch's tails lie within
        it), each batch's once its tails are decoded; hallucinations dropped (gate_segments).
        `on_regions` gets each batch's VAD regions in that order too."""
        threads = [threading.Thread(target=run, args=(p,), name=f"decode-stream-{i}", daemon=True) for i, p in enumerate(pipelines)]
        for t in threads:
            t.start()
        try:
            for number in range(len(batches)):
                with lock:
                    lock.wait_for(lambda: number in done or failures)
                    if failures:
                        raise failures[0]
                    segments, regions = done.pop(number)
                if not use_vad:
                    yield from sorted(segments, key=lambda s: s.start)
                else:
                    if on_regions is not None:
                        on_regions(regions)
                    yield from gate_segments(regions, sorted(segments, key=lambda s: s.start))
                # What this batch freed goes back now (see reuse_freed_memory): the windows inside
                # a batch reuse it, and what a diarization thread frees does not pile up. Not after
                # the last one: a next file reuses it at once, and an idle worker gives it back
                # (IDLE_TRIM_SECONDS). Freed after every file, 30 ten-second clips faulted 3.9 GB
                # back in: 1.9 s of system time in 24.8 s.
                if number + 1 < len(batches):
                    release_free_memory()
        finally:
            stop.set()  # a consumer that stops early (an error, a cancel) stops the streams
            with lock:
                lock.notify_all()
            for t in threads:
                t.join()

    return all_segments(), info


class CallQueue:
    """The calls decode() makes, in an order any free replica can take them in, each with the same
    windows whatever that order (so the transcript does not change with timing or with the number
    of replicas). Batch k's call also decodes the tails batch k - LAG left (the second pass), so
    it waits for that batch's call; tails with no later batch to ride with, or more than a call
    holds, get calls of their own. With LAG one more than the streams, a stream never waits for
    the other's chain: with LAG 2 (each stream its own chain of batches), one stream finished the
    10-minute interview's last 3 s alone. Bookkeeping only: decode() holds the lock."""

    LAG = DECODE_STREAMS + 1

    def __init__(self, batches: int, per_call: int):
        self.count, self.per_call = batches, per_call
        # (kind, batch number, tail windows): "batch" decodes the tails then batch k's windows,
        # "tails" decodes tails of batch k alone.
        self._ready = [("batch", k, []) for k in range(min(self.LAG, batches))]
        self._owed: list = [None] * batches  # calls batch k still waits for (None: its own call not done)
        self._complete = 0

    @property
    def has_ready(self) -> bool:
        return bool(self._ready)

    @property
    def finished(self) -> bool:
        """Every batch complete: its own call and its tails' done."""
        return self._complete == self.count

    def take(self) -> tuple:
        """The ready call that completes the earliest batch (tails before a batch's own call)."""
        i = min(range(len(self._ready)), key=lambda i: (self._ready[i][1], self._ready[i][0] == "batch"))
        return self._ready.pop(i)

    def done(self, call: tuple, tails: list | None = None) -> list:
        """A call is done; a batch's own call left `tails` (one-piece windows) to decode. Returns
        the batches now complete."""
        kind, number, carried = call
        if kind == "tails":
            self._owed[number] -= 1
            return self._completed([number])
        later = number + self.LAG
        tails = list(tails or [])
        ride: list = []
        if later < self.count:
            ride, tails = tails[: self.per_call], tails[self.per_call:]
            self._ready.append(("batch", later, ride))
            size = self.per_call
        else:  # the last batches' tails: split between the streams, which are free by then
            size = max(1, min(self.per_call, -(-len(tails) // DECODE_STREAMS)))
        alone = [tails[i: i + size] for i in range(0, len(tails), size)]
        self._ready += [("tails", number, chunk) for chunk in alone]
        self._owed[number] = len(alone) + (1 if ride else 0)
        touched = [number]
        if carried:
            self._owed[number - self.LAG] -= 1
            touched.insert(0, number - self.LAG)
        return self._completed(touched)

    def _completed(self, numbers: list) -> list:
        complete = [n for n in numbers if self._owed[n] == 0]
        for n in complete:
            self._owed[n] = -1  # counted once
        self._complete += len(complete)
        return complete


def run_windows(batched, audio, windows: list, kwargs: dict):
    """Decodes windows (plan_windows) in one batched call: each window's pieces joined end to end
    (window_audio), and every word's time mapped back to the file's. A decoded segment is split
    where its window's pieces join, so that segments keep the file's time order.
    Returns (a generator of (segment, index of its window), info); the decoding is lazy, as the
    pipeline's own is."""
    import dataclasses

    import numpy as np

    joined, clips, layouts = [], [], []
    cursor = 0  # samples
    for pieces in windows:
        parts = window_parts(audio, pieces)
        window = np.concatenate(parts)
        layout, at = [], cursor
        for (s, _), part in zip(pieces, parts):  # (where the piece starts in the joined audio, where in the file, its length), seconds
            layout.append((at / SAMPLE_RATE, s, len(part) / SAMPLE_RATE))
            at += len(part)
        # Half a sample in: the pipeline cuts at int(seconds * 16000), which for an exact n / 16000
        # can come out one sample short (and then the detector's encoder pass would not be reused).
        clips.append({"start": (cursor + 0.5) / SAMPLE_RATE, "end": (cursor + len(window) + 0.5) / SAMPLE_RATE})
        layouts.append(layout)
        joined.append(window)
        cursor += len(window)
    segments, info = batched.transcribe(np.concatenate(joined), clip_timestamps=clips, **kwargs)
    frames_per_second = batched.model.frames_per_second
    # A segment's seek is its window's start in frames, computed here exactly as the pipeline does
    # (rounded down, after a float product that can come out a frame short); its words' times are
    # counted from that frame, and shifted back by what the rounding took. Only the last window can
    # be shorter than a frame, so no two windows share a seek.
    offsets = [int(c["start"] * SAMPLE_RATE) / SAMPLE_RATE for c in clips]
    window_at = {int(offset * frames_per_second): i for i, offset in enumerate(offsets)}

    def mapped():
        for seg in segments:
            w = window_at[seg.seek]
            layout = layouts[w]
            rounding = offsets[w] - seg.seek / frames_per_second

            def piece(t):
                return next((p for p in reversed(layout) if t >= p[0]), layout[0])

            def to_file(t, p):
                return p[1] + min(max(t - p[0], 0.0), p[2])

            def seek(p):  # where the piece begins in the file, in frames (Whisper's: where its window began)
                return round(p[1] * frames_per_second)

            if not seg.words:  # no word timestamps: the segment spans its window
                yield dataclasses.replace(seg, start=layout[0][1], end=layout[-1][1] + layout[-1][2], seek=seek(layout[0])), w
                continue
            by_piece: dict = {}
            for word in seg.words:
                start, end = word.start + rounding, word.end + rounding
                p = piece((start + end) / 2)
                by_piece.setdefault(p, []).append(dataclasses.replace(word, start=to_file(start, p), end=to_file(end, p)))
            for p, words in by_piece.items():
                text = seg.text if len(by_piece) == 1 else "".join(x.word for x in words)
                yield dataclasses.replace(seg, start=words[0].start, end=words[-1].end, words=words, text=text, seek=seek(p)), w

    return mapped(), info


# What a window holds at most: Whisper's 30 s, less a margin for rounding to samples (the
# pipeline would cut a longer window to 30 s, and warn).
WINDOW_SECONDS = 29.9
# A 100 ms frame quieter than this holds no speech (plan_clips' bound for an inaudible clip).
QUIET_DBFS = -60.0
# Quiet this long between sounds is left out of the windows...
QUIET_GAP = 1.0
# ...but for this much on each side, so that a joint sounds like a pause: with 0.2 s, the model
# skipped whole pieces after a joint (WER 12.4 % against 9.8 % on the 10-minute interview).
QUIET_KEEP = 0.4


def audible_pieces(audio) -> list:
    """(start, end) seconds of the audio without its silences of QUIET_GAP or more (QUIET_KEEP of
    each kept). Level alone decides, not the VAD (see decode), so whispered speech stays in."""
    import numpy as np

    duration = len(audio) / SAMPLE_RATE
    n = len(audio) // FRAME
    if n == 0:
        return [(0.0, duration)] if len(audio) and dbfs(audio) > QUIET_DBFS else []
    rms = frame_rms(audio)
    quiet = np.concatenate([[False], 20 * np.log10(rms) < QUIET_DBFS, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))  # quiet runs: [edges[0], edges[1]), ...
    pieces, start = [], 0.0
    for a, b in zip(edges[::2], edges[1::2]):
        if b - a < QUIET_GAP * 10:
            continue
        gap_start, gap_end = a / 10 + QUIET_KEEP, (duration if b == n else b / 10 - QUIET_KEEP)
        if gap_start > start:
            pieces.append((start, gap_start))
        start = max(start, gap_end)
    if duration > start:
        pieces.append((start, duration))
    return [(s, e) for s, e in pieces if dbfs(audio[round(s * SAMPLE_RATE): round(e * SAMPLE_RATE)]) > QUIET_DBFS]


def plan_windows(audio, max_len: float = WINDOW_SECONDS) -> list:
    """The windows decode() runs Whisper on: each a list of (start, end) pieces of the audio, in
    time order, at most `max_len` s together. The audible pieces (audible_pieces) are packed in
    order, and one longer than a window is cut in its pauses (plan_clips). Whisper's encoder costs
    the same for 30 s as for 15, and a window of the 10-minute interview held 19.6 s of audio on
    average when each window was one stretch of the file: packed, 23 windows instead of 33 (24.3 s
    each on average); with the second pass's, 32 instead of 39 with tiny.en and 26 instead of 37
    with base, and as accurate or more (README, "How it works")."""
    pieces = []
    for s, e in audible_pieces(audio):
        if e - s <= max_len:
            pieces.append((s, e))
        else:
            part = audio[round(s * SAMPLE_RATE): round(e * SAMPLE_RATE)]
            pieces += [(s + c["start"], s + c["end"]) for c in plan_clips(part, max_len)]
    return pack_pieces(pieces, max_len)


def pack_pieces(pieces, max_len: float = WINDOW_SECONDS) -> list:
    """(start, end) pieces, none longer than `max_len`, packed in order into windows of at most
    `max_len` s together."""
    windows, current, length = [], [], 0.0
    for s, e in pieces:
        if current and length + (e - s) > max_len:
            windows.append(current)
            current, length = [], 0.0
        current.append((s, e))
        length += e - s
    if current:
        windows.append(current)
    return windows


def window_parts(audio, pieces) -> list:
    """A window's pieces, as slices of the audio (a piece may run past its end: a tail's margin)."""
    return [audio[round(s * SAMPLE_RATE): round(e * SAMPLE_RATE)] for s, e in pieces]


def window_audio(audio, pieces):
    """A window's pieces joined end to end."""
    import numpy as np

    return np.concatenate(window_parts(audio, pieces))


def speech_regions(audio, start: float, end: float) -> list:
    """Silero VAD speech (start, end) seconds within [start, end], in 5-minute blocks: the VAD's
    working copy of an hour of audio would cost ~0.3 GB at once."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=500, speech_pad_ms=200)
    lo, hi = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
    block = VAD_BLOCK_SECONDS * SAMPLE_RATE
    return [((offset + t["start"]) / SAMPLE_RATE, (offset + t["end"]) / SAMPLE_RATE)
            for offset in range(lo, hi, block)
            for t in get_speech_timestamps(audio[offset: min(hi, offset + block)], options)]


def unheard_pieces(windows: list, segments, min_len: float = 1.0) -> list:
    """The pieces of `windows`, `min_len` s or longer, that no decoded word lies in. Whisper skips
    a piece of a window now and then where the pieces join, after a change of voice (whispered
    speech after a loud reader, on the interview of bench:asr), and the VAD, deaf to whispers,
    does not hear what was lost: such a piece is decoded again with the VAD's tails."""
    words = [(w.start, w.end) for s in segments for w in (s.words or [])]
    return [(s, e) for pieces in windows for s, e in pieces
            if e - s >= min_len and not any(we > s and ws < e for ws, we in words)]


def merged(intervals) -> list:
    """(start, end) intervals, overlapping ones joined, in time order."""
    out = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def missed_speech(regions, segments, tolerance: float = 0.5, min_len: float = 1.0) -> list:
    """(start, end) pieces, at most a window long, of `regions` (disjoint, in order: VAD speech, and
    unheard_pieces) at least `min_len` long that no decoded word covers."""
    covered = sorted((w.start - tolerance, w.end + tolerance) for s in segments for w in (s.words or []))
    pieces = []
    for s, e in regions:
        cursor = s
        for cs, ce in covered:
            if ce <= cursor or cs >= e:
                continue
            if cs - cursor >= min_len:
                pieces.append((cursor, cs))
            cursor = max(cursor, ce)
        if e - cursor >= min_len:
            pieces.append((cursor, e))
    clips = []
    for s, e in pieces:
        if clips and s - clips[-1][1] < 1.0 and e - clips[-1][0] <= WINDOW_SECONDS:
            clips[-1] = (clips[-1][0], e)
        else:
            clips.append((max(0.0, s - 0.2), e + 0.2))
    return [(s, min(e, s + WINDOW_SECONDS)) for s, e in clips]


FRAME = SAMPLE_RATE // 10  # 100 ms
VAD_BLOCK_SECONDS = 300
# frame_rms squares this many frames at a time (a minute).
RMS_BLOCK_FRAMES = 600


def frame_rms(audio):
    """The level (RMS) of each whole 100 ms frame, a minute at a time: squared at once, an hour
    made a 230 MB temporary whose pages the kernel faulted in one by one (0.5 s on one core,
    before any decoding). Each frame's value is the same either way."""
    import numpy as np

    n = len(audio) // FRAME
    blocks = []
    for i in range(0, n, RMS_BLOCK_FRAMES):
        j = min(n, i + RMS_BLOCK_FRAMES)
        blocks.append(np.sqrt((audio[i * FRAME: j * FRAME].reshape(j - i, FRAME) ** 2).mean(1) + 1e-12))
    return np.concatenate(blocks) if blocks else np.zeros(0)


# A cut that saves a window may be this much louder than the quietest moment it passes over.
CUT_TOLERANCE_DB = 1.0


def plan_clips(audio, max_len: float = 30.0, min_len: float = 15.0) -> list:
    """Covers the whole audio with clips of at most `max_len` s (a window's worth), each cut at
    the quietest 100 ms between `min_len` and `max_len` s from the last cut, so cuts fall in
    pauses, not words; or, if that pause is as deep, at the quietest 100 ms that leaves the rest
    room for as few clips as it takes. Inaudible clips (below QUIET_DBFS) are left out.
    The quietest moment alone cut 53 s of reading into 15 + 16 + 22 s, three windows where two
    hold it, and base wrote 3 more words wrong in a sonnet of ../shared; the fewest clips alone,
    whatever the level, cut the 10-minute interview at moments up to 3.5 dB louder than the
    quietest, and its second pass grew by 3 windows with base, 2 with tiny.en (README, "How it
    works")."""
    import numpy as np

    rms = frame_rms(audio)
    duration = len(audio) / SAMPLE_RATE
    clips, start = [], 0.0
    while duration - start > max_len:
        needed = math.ceil((duration - start) / max_len)  # clips the rest takes at least
        lo, hi = int((start + min_len) * 10), int((start + max_len) * 10)
        quietest = lo + int(np.argmin(rms[lo:hi]))
        # The quietest moment from `early` on leaves the rest room for one clip fewer...
        early = min(hi - 1, max(lo, math.ceil((duration - (needed - 1) * max_len) * 10)))
        fewest = early + int(np.argmin(rms[early:hi]))
        # ...if it is as deep a pause as the quietest one (within CUT_TOLERANCE_DB): a louder cut
        # may fall between two words of a sentence.
        frame = fewest if rms[fewest] <= rms[quietest] * 10 ** (CUT_TOLERANCE_DB / 20) else quietest
        cut = (frame + 0.5) / 10
        clips.append((start, cut))
        start = cut
    clips.append((start, duration))
    return [{"start": s, "end": e} for s, e in clips if dbfs(audio[int(s * SAMPLE_RATE): int(e * SAMPLE_RATE)]) > QUIET_DBFS]


def dbfs(x) -> float:
    import numpy as np

    return -200.0 if len(x) == 0 else float(20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-10))


def gate_segments(regions, segments):
    """Drops hallucinations: a segment the VAD heard no voice in, which the model also doubts
    (no-speech probability over 0.6, or mean word confidence under 0.3), or which has no letters
    or digits at all. Whisper's classic "You" over silence scores 0.94 / 0.01 here, while real
    speech that the VAD missed scores about 0.4 / 0.85."""
    for s in segments:
        if not any(ch.isalnum() for ch in s.text):
            continue
        heard = any(min(s.end, e) > max(s.start, b) for b, e in regions)
        if not heard:
            words = s.words or []
            confidence = sum(w.probability for w in words) / len(words) if words else 0.0
            if s.no_speech_prob > 0.6 or confidence < 0.3:
                continue
        yield s


def die_with_parent() -> None:
    """Never outlive the server: a killed server must not leave a worker competing with its restart.

    Linux delivers SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG); everywhere, a watcher
    thread exits when the parent process changes (re-parented to init or a subreaper).
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            print(f"prctl(PR_SET_PDEATHSIG) failed (errno {ctypes.get_errno()}): relying on the parent watcher", file=sys.stderr)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                print("the server is gone, exiting", file=sys.stderr)
                os._exit(0)
            time.sleep(0.5)

    # The parent may have died before prctl took effect: the watcher's first look catches that.
    threading.Thread(target=watch, daemon=True).start()


# glibc's allocator, told through mallopt(3): M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
IDLE_TRIM_SECONDS = 2.0


@functools.cache
def _glibc():
    """glibc, loaded once (release_free_memory runs after every batch)."""
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None  # not glibc (macOS, musl): their allocators have no such settings


def reuse_freed_memory() -> None:
    """Keeps freed memory in the process for the next window instead of handing it back.
    By default glibc gives every large block (the encoder's 50-70 MB attention scores, the
    decoder's batch state) back to the kernel when it is freed, and the next window faults
    it in again, page by page: 17 s of system time in 40 s of wall time on a 10-minute
    interview with base. Kept, in one arena so threads do not each grow their own, the
    blocks are reused: 39 s -> 29-31 s on that interview, peak RSS unchanged (0.8-1.0 GB either
    way), and 30 ten-second clips 17.5 s -> 15 s. After each batch but a file's last (decode),
    and when idle, release_free_memory() returns it. Must run before any other thread starts
    (see main)."""
    libc = _glibc()
    if libc is None:
        print("not glibc: the allocator keeps its defaults", file=sys.stderr)
        return
    for option, value in ((_M_ARENA_MAX, 1), (_M_MMAP_THRESHOLD, 1 << 30), (_M_TRIM_THRESHOLD, 1 << 30)):
        if libc.mallopt(option, value) != 1:
            print(f"mallopt({option}, {value}) was refused: the allocator keeps that default", file=sys.stderr)


def release_free_memory() -> bool:
    """Gives the memory freed so far back to the system (malloc_trim(3)); True once done."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
    return True


def main() -> int:
    # Before any other thread exists (die_with_parent's watcher is one): a thread that allocates
    # first gets an arena of its own, and M_ARENA_MAX cannot take it back. Watcher first, a
    # replica thread later used that second arena, whose blocks over 64 MB (the encoder's
    # attention scores) are always mapped anew: 30 ten-second clips faulted 6.8 GB in.
    reuse_freed_memory()
    die_with_parent()
    p = argparse.ArgumentParser(description="vidscribe ASR worker (JSON lines over stdio)")
    p.add_argument("--model", required=True, help="CTranslate2 model directory or a Whisper size name")
    p.add_argument("--compute-type", default="int8")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--english-model", default=None,
                   help="auto mode: also load this English-only model for English speech; --model (multilingual) detects and takes the rest")
    p.add_argument("--download-root", default=None)
    a = p.parse_args()
    sys.stdout = sys.stderr
    # Requests are taken from the start: the first file's audio decodes while the models load
    # (PyAV and CTranslate2 work outside the GIL), 0.3 s sooner into the 10-minute interview.
    worker = Worker(a.model, a.english_model, replica_threads(a.threads)[0])
    worker.listen()
    try:
        model = load_model(a.model, a.compute_type, a.threads, a.download_root)
        english = load_model(a.english_model, a.compute_type, a.threads, a.download_root) if a.english_model else None
        if english is not None and not model.model.is_multilingual:
            raise RuntimeError(f"--english-model needs a multilingual --model to detect the language; {a.model} is English-only")
    except Exception as e:  # noqa: BLE001 - reported as a fatal protocol message
        traceback.print_exc(file=sys.stderr)
        send({"event": "fatal", "code": MODEL_UNAVAILABLE, "message": str(e)})
        return 3
    # "ready" before any job's first message: serve() lets the jobs go on.
    send({"event": "ready", "model": a.model, "english_model": a.english_model, "multilingual": bool(model.model.is_multilingual),
          "compute_type": a.compute_type, "threads": a.threads, "pid": os.getpid()})
    worker.serve(model, english)
    return 0


if __name__ == "__main__":
    sys.exit(main())
