"""Baseline for `npm run bench:asr`: the same audio through faster-whisper alone, in a plain
Python call, with the model loaded once.

  --mode same     the settings vidscribe uses (shared with the worker: transcribe_kwargs and the
                  clip plan), but faster-whisper reads the file itself and nothing is gated after.
  --mode classic  the usual faster-whisper call: sequential decoding with vad_filter=True.

Prints one JSON line per file ({"file", "wall", "text", "seconds"}) and a last line with the
model load time and peak RSS.
"""

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src", "asr", "worker"))
from worker import SAMPLE_RATE, plan_clips, transcribe_kwargs  # noqa: E402

from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--mode", choices=["same", "classic"], default="same")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    t0 = time.perf_counter()
    model = WhisperModel(a.model, device="cpu", compute_type="int8", cpu_threads=a.threads, num_workers=1)
    batched = BatchedInferencePipeline(model)
    load = time.perf_counter() - t0
    for f in a.files:
        t = time.perf_counter()
        audio = decode_audio(f, sampling_rate=SAMPLE_RATE)
        if a.mode == "same":
            clips = plan_clips(audio)
            segments, _ = batched.transcribe(audio, clip_timestamps=clips, **transcribe_kwargs({})) if clips else ([], None)
        else:
            segments, _ = model.transcribe(audio, beam_size=5, word_timestamps=True, vad_filter=True)
        text = "".join(s.text for s in segments)
        print(json.dumps({"file": f, "wall": time.perf_counter() - t, "text": text, "seconds": len(audio) / SAMPLE_RATE}), flush=True)
    print(json.dumps({"load": load, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}), flush=True)


if __name__ == "__main__":
    main()
