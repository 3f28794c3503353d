"""The two faster-whisper baselines of `npm run bench:asr`, as issue 14 measured them: plain
faster-whisper with the model loaded once (the same model files as vidscribe, int8, one CPU thread
per core) and every other setting left at the library's default. Nothing here comes from
vidscribe's worker, so a change to the worker cannot move the baseline.

  --mode batched     BatchedInferencePipeline(model).transcribe(audio, batch_size=8): the
                     library's own VAD (on by default there), beam 5, no word timestamps.
  --mode sequential  model.transcribe(audio, vad_filter=True): the usual call, sequential decoding.

Audio is read with faster_whisper.decode_audio from each file as given (video included).
Prints one JSON line per file ({"file", "wall", "text", "seconds", "language"}; wall is the decode
and transcription of that file), then a last line with the model load time, the settings that were
in effect and the process's peak RSS (ru_maxrss, bytes).
"""

import argparse
import inspect
import json
import os
import resource
import sys
import time

from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

SAMPLE_RATE = 16000


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, help="a CTranslate2 model folder or a faster-whisper size name")
    p.add_argument("--mode", choices=["batched", "sequential"], required=True)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("files", nargs="+")
    a = p.parse_args()

    t0 = time.perf_counter()
    model = WhisperModel(a.model, device="cpu", compute_type="int8", cpu_threads=a.threads)
    if a.mode == "batched":
        pipeline = BatchedInferencePipeline(model)
        chosen = {"batch_size": 8}
        run = lambda audio: pipeline.transcribe(audio, **chosen)  # noqa: E731
        method = BatchedInferencePipeline.transcribe
    else:
        chosen = {"vad_filter": True}
        run = lambda audio: model.transcribe(audio, **chosen)  # noqa: E731
        method = WhisperModel.transcribe
    load = time.perf_counter() - t0
    # Say what the numbers were measured with: the arguments set here, and the installed library's
    # defaults for the rest (read from its signature, so an upgrade that changes one shows here).
    settings = {k: v.default for k, v in inspect.signature(method).parameters.items() if k in ("word_timestamps", "beam_size", "vad_filter", "batch_size")}
    settings.update(chosen)
    print(f"faster-whisper {a.mode}: set here {chosen}; in effect {settings}", file=sys.stderr, flush=True)

    for f in a.files:
        t = time.perf_counter()
        audio = decode_audio(f, sampling_rate=SAMPLE_RATE)
        segments, info = run(audio)
        text = "".join(s.text for s in segments)  # the generator does the work: time it whole
        wall = time.perf_counter() - t
        print(json.dumps({"file": f, "wall": wall, "text": text, "seconds": len(audio) / SAMPLE_RATE, "language": info.language}), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"load": load, "peak_rss": peak, "mode": a.mode, "threads": a.threads, "settings": settings}), flush=True)


if __name__ == "__main__":
    main()
