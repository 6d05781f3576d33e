package recording

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"yunke/storage"
)

// Composite renders every track of a recording into one WebM with ffmpeg:
// the videos in a grid (the teacher's camera first), every audio track
// mixed, each placed at its offset on the recording's timeline. Progress
// is saved as ffmpeg reports it; the job that calls it (workComposite)
// saves a failure.
func (s *Service) Composite(ctx context.Context, id storage.RecordingID) (err error) {
	rec, err := s.p.Store.GetRecording(ctx, id)
	if err != nil {
		return err
	}
	if rec.Status == storage.RecordingDeleted || rec.Download.Kind != "composite" || rec.Download.Status == storage.DownloadReady {
		return nil
	}
	set := func(status string, progress float64, key string) {
		if err := s.p.Store.SetRecordingDownload(context.WithoutCancel(ctx), id, storage.RecordingDownload{Kind: "composite",
			Status: status, Progress: progress, Key: key}, s.p.Now()); err != nil {
			s.log.Warn("download state not saved", "recording", id, "err", err)
		}
	}
	if s.ffmpeg == "" {
		return fmt.Errorf("recording: composite of %d: %w", id, exec.ErrNotFound)
	}
	set(storage.DownloadRunning, 0, "")
	tmp, err := os.MkdirTemp(s.p.Dir, ".composite-*")
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	defer os.RemoveAll(tmp)

	var videos, audios []int // input indexes
	var args []string
	n := 0
	// The teacher's tracks first, so the teacher takes the grid's first cell.
	order := make([]storage.RecordingTrack, 0, len(rec.Tracks))
	for _, t := range rec.Tracks {
		if t.Role == "teacher" {
			order = append(order, t)
		}
	}
	for _, t := range rec.Tracks {
		if t.Role != "teacher" {
			order = append(order, t)
		}
	}
	for _, t := range order {
		if t.Status == storage.TrackFailed || t.Status == storage.TrackRecording || t.SizeBytes == 0 {
			continue
		}
		path := filepath.Join(tmp, fmt.Sprintf("in%d%s", n, filepath.Ext(t.File)))
		if err := s.copyTrack(ctx, t, path); err != nil {
			return err
		}
		args = append(args, "-itsoffset", fmt.Sprintf("%.3f", float64(t.OffsetMS)/1000), "-i", path)
		if t.Kind == "audio" {
			audios = append(audios, n)
		} else {
			videos = append(videos, n)
		}
		n++
	}
	if len(videos) == 0 && len(audios) == 0 {
		return errNoCamera
	}
	var filter []string
	var maps []string
	if len(videos) > 0 {
		cols := int(math.Ceil(math.Sqrt(float64(len(videos)))))

		const w, h = 640, 360
		var layout, labels []string
		for i, in := range videos {
			filter = append(filter, fmt.Sprintf("[%d:v]scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25[v%d]", in, w, h, w, h, i))
			labels = append(labels, fmt.Sprintf("[v%d]", i))
			layout = append(layout, fmt.Sprintf("%d_%d", (i%cols)*w, (i/cols)*h))
		}
		if len(videos) == 1 {
			filter = append(filter, "[v0]null[vout]")
		} else {
			filter = append(filter, fmt.Sprintf("%sxstack=inputs=%d:layout=%s:fill=black[vout]", strings.Join(labels, ""), len(videos),
				strings.Join(layout, "|")))
		}
		maps = append(maps, "-map", "[vout]", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1500k")
	}
	if len(audios) > 0 {
		var labels []string
		for _, in := range audios {
			labels = append(labels, fmt.Sprintf("[%d:a]", in))
		}
		filter = append(filter, fmt.Sprintf("%samix=inputs=%d:duration=longest:normalize=0[aout]", strings.Join(labels, ""), len(audios)))
		maps = append(maps, "-map", "[aout]", "-c:a", "libopus", "-b:a", "96k")
	}
	out := filepath.Join(tmp, "out.webm")
	cmdArgs := append([]string{"-nostdin", "-v", "error", "-y"}, args...)
	cmdArgs = append(cmdArgs, "-filter_complex", strings.Join(filter, ";"))
	cmdArgs = append(cmdArgs, maps...)
	cmdArgs = append(cmdArgs, "-progress", "pipe:1", "-nostats", out)
	cmd := exec.CommandContext(ctx, s.ffmpeg, cmdArgs...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("recording: composite: %w", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("recording: composite: %w", err)
	}
	total := float64(max(rec.DurationMS, 1))
	last := 0.0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || k != "out_time_us" {
			continue
		}
		us, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue
		}
		p := min(us/1000/total, 0.99)
		if p-last >= 0.05 {
			last = p
			set(storage.DownloadRunning, p, "")
		}
	}
	if err := cmd.Wait(); err != nil {
		msg := stderr.String()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		return fmt.Errorf("recording: ffmpeg: %w: %s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		return fmt.Errorf("recording: composite: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("recording: composite: %w", err)
	}
	key := mediaKey(id, "download-composite.webm")
	if err := s.p.Media.Put(ctx, key, f, st.Size(), "video/webm"); err != nil {
		return fmt.Errorf("recording: composite: %w", err)
	}
	set(storage.DownloadReady, 1, key)
	return nil
}
