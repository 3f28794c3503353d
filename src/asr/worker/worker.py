"""vidscribe ASR worker: one long-lived process, one Whisper model loaded once.

Protocol (documented in src/asr/PROTOCOL.md): JSON lines over stdio.
  stdout carries only protocol messages; everything else (logs, download bars) goes to stderr.
  On start:   {"event": "ready", "model": ..., "multilingual": bool}  or  {"event": "fatal", "code", "message"}
  Requests:   {"id", "op": "ping"} | {"id", "op": "transcribe", "audio": path, "options": {...}} | {"id", "op": "cancel", "target": id}
  Replies:    {"id", "event": "pong"} ; for a transcription: "info", "segment"*, "progress"*, then "done" or "error".
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import threading
import time
import traceback

# Protocol output goes to the real stdout; stray prints from libraries go to stderr.
_PROTOCOL_OUT = sys.stdout
sys.stdout = sys.stderr
_write_lock = threading.Lock()

ASR_FAILED = 5001
MODEL_UNAVAILABLE = 5002
CANCELLED = 5004
BAD_REQUEST = 400

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

    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    if os.path.isdir(spec):
        if not os.path.isfile(os.path.join(spec, "model.bin")):
            raise FileNotFoundError(f"{spec} has no model.bin: not a CTranslate2 Whisper model directory")
        return WhisperModel(spec, device="cpu", compute_type=compute_type, cpu_threads=threads, num_workers=1)
    try:
        return WhisperModel(
            spec,
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=1,
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


def load_pcm(path: str):
    import numpy as np

    # Raw s16le mono 16 kHz written by the TypeScript side's ffmpeg extraction.
    pcm = np.memmap(path, dtype=np.int16, mode="r") if os.path.getsize(path) > 0 else np.zeros(0, dtype=np.int16)
    return (pcm.astype(np.float32) / 32768.0)


class Worker:
    def __init__(self, model, model_name: str):
        from faster_whisper import BatchedInferencePipeline

        self.model = model
        # Batched decoding of VAD chunks: ~1.6x faster than sequential on 2 CPU cores (bench:asr).
        self.batched = BatchedInferencePipeline(model)
        self.model_name = model_name
        self.jobs: "queue.Queue[dict | None]" = queue.Queue()
        self.cancelled: set[str] = set()
        self.current: str | None = None
        self.lock = threading.Lock()

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
                send({"id": rid, "event": "pong", "busy": self.current is not None})
            elif op == "cancel":
                with self.lock:
                    self.cancelled.add(req.get("target"))
                print(f"cancel requested for {req.get('target')}", file=sys.stderr)
                send({"id": rid, "event": "cancelling", "target": req.get("target")})
            elif op == "transcribe":
                self.jobs.put(req)
            elif op == "shutdown":
                break
            else:
                send({"id": rid, "event": "error", "code": BAD_REQUEST, "message": f"unknown op {op!r}"})
        self.jobs.put(None)

    def is_cancelled(self, rid: str) -> bool:
        with self.lock:
            return rid in self.cancelled

    def run(self) -> None:
        threading.Thread(target=self.read_requests, daemon=True).start()
        while True:
            req = self.jobs.get()
            if req is None:
                return
            rid = req.get("id")
            self.current = rid
            try:
                if self.is_cancelled(rid):
                    raise Cancelled()
                self.transcribe(rid, req.get("audio"), req.get("options") or {})
            except Cancelled:
                send({"id": rid, "event": "error", "code": CANCELLED, "message": "transcription cancelled"})
            except Exception as e:  # noqa: BLE001 - every failure is reported on the protocol, with its trace on stderr
                traceback.print_exc(file=sys.stderr)
                send({"id": rid, "event": "error", "code": ASR_FAILED, "message": f"{type(e).__name__}: {e}"})
            finally:
                self.current = None
                with self.lock:
                    self.cancelled.discard(rid)

    def transcribe(self, rid: str, audio_path: str, o: dict) -> None:
        audio = load_pcm(audio_path)
        total = len(audio) / SAMPLE_RATE
        started = time.monotonic()
        word_timestamps = bool(o.get("word_timestamps", True))
        kwargs = dict(
            language=o.get("language") or None,
            task=o.get("task") or "transcribe",
            beam_size=int(o.get("beam_size", 5)),
            word_timestamps=word_timestamps,
            vad_filter=bool(o.get("vad_filter", True)),
            # Conditioning on previous text is the main source of runaway repetition loops.
            condition_on_previous_text=bool(o.get("condition_on_previous_text", False)),
            initial_prompt=o.get("initial_prompt") or None,
            hotwords=o.get("hotwords") or None,
        )
        if o.get("temperature") is not None:
            kwargs["temperature"] = float(o["temperature"])
        batch_size = int(o.get("batch_size", 8))
        use_batched = batch_size > 1 and kwargs["vad_filter"]
        if use_batched:
            kwargs["batch_size"] = batch_size
        elif word_timestamps:
            # Sequential decoding only: skip silent stretches where the model would otherwise invent words.
            kwargs["hallucination_silence_threshold"] = float(o.get("hallucination_silence_threshold", 2.0))
        if kwargs["vad_filter"]:
            kwargs["vad_parameters"] = dict(min_silence_duration_ms=500)
        if total == 0:
            send({"id": rid, "event": "info", "language": kwargs["language"] or "en", "language_probability": 0, "duration": 0})
            send({"id": rid, "event": "done", "duration": 0, "language": kwargs["language"] or "en", "wall": 0})
            return
        segments, info = (self.batched if use_batched else self.model).transcribe(audio, **kwargs)
        send({"id": rid, "event": "info", "language": info.language, "language_probability": info.language_probability,
              "duration": total, "duration_after_vad": info.duration_after_vad})
        last_progress = 0.0
        for s in segments:
            if self.is_cancelled(rid):
                raise Cancelled()
            seg = {
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
            send({"id": rid, "event": "segment", "segment": seg})
            done = min(total, s.end)
            if done > last_progress:
                last_progress = done
                send({"id": rid, "event": "progress", "done": round(done, 3), "total": round(total, 3)})
        send({"id": rid, "event": "progress", "done": round(total, 3), "total": round(total, 3)})
        send({"id": rid, "event": "done", "duration": total, "language": info.language, "wall": round(time.monotonic() - started, 3)})


def main() -> int:
    p = argparse.ArgumentParser(description="vidscribe ASR worker (JSON lines over stdio)")
    p.add_argument("--model", required=True, help="CTranslate2 model directory or a Whisper size name")
    p.add_argument("--compute-type", default="int8")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--download-root", default=None)
    a = p.parse_args()
    try:
        model = load_model(a.model, a.compute_type, a.threads, a.download_root)
    except Exception as e:  # noqa: BLE001 - reported as a fatal protocol message
        traceback.print_exc(file=sys.stderr)
        send({"event": "fatal", "code": MODEL_UNAVAILABLE, "message": str(e)})
        return 3
    send({"event": "ready", "model": a.model, "multilingual": bool(model.model.is_multilingual),
          "compute_type": a.compute_type, "threads": a.threads, "pid": os.getpid()})
    Worker(model, a.model).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
