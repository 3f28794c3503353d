"""A media file's audio stream decoded in the worker, as Whisper wants it: float32 mono 16 kHz.

Why here and not in an ffmpeg process: starting Debian's ffmpeg (215 shared libraries) costs
about 65 ms of CPU, more than decoding a minute of AAC takes here (ten minutes: 0.5 s). For a
batch of short clips that start-up was a tenth of the work. PyAV (a faster-whisper dependency, with its own
FFmpeg libraries) decodes in this long-lived process instead, with the same input rules as the
TypeScript side's ffmpeg: only the demuxers it names, local files only.
"""

from __future__ import annotations

import math

SAMPLE_RATE = 16000
# The longest buffer a header's duration can make us reserve up front (4 h: 0.9 GB of float32).
MAX_RESERVE_SECONDS = 4 * 3600
# Samples converted to float32 at a time (4 s).
CONVERT_SAMPLES = 1 << 16


class UndecodableMedia(Exception):
    """The stream could not be opened or nothing in it could be decoded."""


def decode_media(path: str, stream_index: int, format_whitelist: str, expected_seconds: float = 0.0):
    """The audio stream `stream_index` (the container's index, as ffprobe counts) of `path`,
    downmixed and resampled to mono at 16 kHz, as float32. Damaged packets are skipped, as the
    ffmpeg command line does; a stream with nothing decodable raises UndecodableMedia. The
    buffer is allocated once from the probed duration and grows only if the header was short,
    so an hour costs its 230 MB once, not twice; a header claiming more than MAX_RESERVE_SECONDS
    reserves no more than that (what it really holds still decodes)."""
    import av
    import numpy as np

    try:
        container = av.open(path, options={"format_whitelist": format_whitelist, "protocol_whitelist": "file"})
    except (av.error.FFmpegError, OSError) as e:
        raise UndecodableMedia(f"could not open the media: {e}") from e
    with container:
        stream = next((s for s in container.streams if s.index == stream_index), None)
        if stream is None or stream.type != "audio":
            raise UndecodableMedia(f"stream {stream_index} is not an audio stream")
        # 16-bit, as the ffmpeg extraction writes it: the same samples to the last bit or one,
        # so both paths hear the same audio (float output moved the interview's WER by a point).
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        reserve = min(max(expected_seconds, 0.0), MAX_RESERVE_SECONDS) if math.isfinite(expected_seconds) else 0.0
        buffer = np.empty(int((reserve + 1) * SAMPLE_RATE), dtype=np.float32)
        filled = 0

        pending: list = []  # 16-bit samples not yet converted: views of the frames' memory
        waiting = 0

        def convert() -> None:
            """The pending samples, converted to float32 in one go: per frame of 1024 samples the
            conversion cost more than decoding did (an hour of AAC: 2.9 s in all against 1.8 s)."""
            nonlocal buffer, filled, waiting
            if not pending:
                return
            samples = np.frombuffer(b"".join(pending), dtype=np.int16)
            pending.clear()
            waiting = 0
            if filled + len(samples) > len(buffer):
                grown = np.empty(max(len(buffer) * 3 // 2, filled + len(samples)), dtype=np.float32)
                grown[:filled] = buffer[:filled]
                buffer = grown
            np.divide(samples, 32768.0, out=buffer[filled: filled + len(samples)], dtype=np.float32)
            filled += len(samples)

        def append(frames) -> None:
            nonlocal waiting
            for out in frames:
                # Mono 16-bit: one plane, padded past its samples.
                pending.append(memoryview(out.planes[0])[: out.samples * 2])
                waiting += out.samples
            if waiting >= CONVERT_SAMPLES:
                convert()

        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue  # a damaged packet: skipped, as ffmpeg does
                for frame in frames:
                    append(resampler.resample(frame))
            append(resampler.resample(None))  # what the resampler still holds
            convert()
        except av.error.FFmpegError as e:
            convert()
            if filled == 0:
                raise UndecodableMedia(f"the audio could not be decoded: {e}") from e
            # Truncated after some audio: keep what decoded, as ffmpeg does.
        if filled == 0:
            raise UndecodableMedia("no audio could be decoded")
        return buffer[:filled]
