#!/usr/bin/env bash
# Video throughput, 640x360 -> x2 with fsrcnn-x2: `upres video` against extracting the frames,
# upscaling them one by one or as one batch, and encoding. Needs ffmpeg and bc.
# Usage: tools/bench_video.sh [UPRES_BINARY] [SCRATCH_DIR]
set -euo pipefail
UPRES=$(realpath "${1:-target/release/upres}")
cd "${2:-$(mktemp -d)}"
rm -rf vb && mkdir vb && cd vb
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440:duration=2.4 \
  -t 2.4 -c:v libx264 -crf 18 -pix_fmt yuv420p -c:a aac clip.mp4
ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 clip.mp4
for run in 1 2; do
  s=$(date +%s.%N)
  $UPRES video -i clip.mp4 -o out_$run.mp4 -s 2 -m fsrcnn-x2 --overwrite
  e=$(date +%s.%N); echo "video run $run: $(echo "$e - $s" | bc) s"
  rm -rf frames up && mkdir frames up
  s=$(date +%s.%N)
  ffmpeg -v error -i clip.mp4 frames/%04d.png
  for f in frames/*.png; do $UPRES upscale -i "$f" -o "up/$(basename "$f")" -s 2 -m fsrcnn-x2; done
  ffmpeg -v error -y -framerate 25 -i up/%04d.png -i clip.mp4 -map 0:v -map 1:a -c:a copy -c:v libx264 -crf 18 -pix_fmt yuv420p frames_$run.mp4
  e=$(date +%s.%N); echo "frames one by one run $run: $(echo "$e - $s" | bc) s"
  rm -rf up && mkdir up
  s=$(date +%s.%N)
  $UPRES upscale -i frames -o up -s 2 -m fsrcnn-x2
  ffmpeg -v error -y -framerate 25 -i up/%04d.png -i clip.mp4 -map 0:v -map 1:a -c:a copy -c:v libx264 -crf 18 -pix_fmt yuv420p batch_$run.mp4
  e=$(date +%s.%N); echo "frames as one batch run $run (extraction not counted): $(echo "$e - $s" | bc) s"
done
