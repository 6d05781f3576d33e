// Plays several media elements as one recording. A master clock (wall time
// scaled by the speed, held while a track buffers) says where the recording
// is; each element is placed on it by its offset: it plays while the clock
// is inside its span, and is corrected when it drifts from the clock — by a
// gentle change of its speed for a small drift, by a seek for a large one.

import { reactive } from 'vue';

/**
 * Drift that is corrected at all, and drift that is corrected by seeking
 * (seconds). Two elements each kept within correctAbove of the clock stay
 * within twice that of each other: 80 ms, under what a viewer notices
 * between two cameras of one lesson.
 */
export const correctAbove = 0.04;
const seekAbove = 0.4;
const tickMs = 100;

interface Member {
  el: HTMLMediaElement;
  /** Where the element's time 0 lies on the recording's clock (seconds). */
  offset: number;
  /** Its length (seconds); Infinity while unknown. */
  length: number;
}

export interface PlayerState {
  playing: boolean;
  /** The clock (seconds from the recording's start). */
  time: number;
  rate: number;
  duration: number;
  /** A track the clock waits for has too little data. */
  buffering: boolean;
  /** Largest drift seen among the playing elements at the last check (seconds). */
  drift: number;
}

export class SyncPlayer {
  readonly state: PlayerState;
  private readonly members = new Map<HTMLMediaElement, Member>();
  private anchorTime = 0;
  private anchorWall = 0;
  private timer = 0;

  constructor(duration: number) {
    this.state = reactive({ playing: false, time: 0, rate: 1, duration, buffering: false, drift: 0 });
    this.timer = window.setInterval(() => this.tick(), tickMs);
  }

  add(el: HTMLMediaElement, offsetSeconds: number, lengthSeconds: number): void {
    const m: Member = { el, offset: offsetSeconds, length: lengthSeconds > 0 ? lengthSeconds : Infinity };
    this.members.set(el, m);
    el.playbackRate = this.state.rate;
    el.addEventListener('loadedmetadata', () => {
      if (Number.isFinite(el.duration) && el.duration > 0) m.length = el.duration;
      this.place(m, true);
    });
    this.place(m, true);
  }

  remove(el: HTMLMediaElement): void {
    this.members.delete(el);
  }

  /** now is the clock's reading. */
  now(): number {
    if (!this.state.playing || this.state.buffering) return this.anchorTime;
    const t = this.anchorTime + ((performance.now() - this.anchorWall) / 1000) * this.state.rate;
    return Math.min(t, this.state.duration);
  }

  play(): void {
    if (this.state.playing) return;
    if (this.now() >= this.state.duration - 0.05) this.anchorTime = 0;
    this.anchorWall = performance.now();
    this.state.playing = true;
    for (const m of this.members.values()) this.place(m, true);
  }

  pause(): void {
    if (!this.state.playing) return;
    this.anchorTime = this.now();
    this.state.playing = false;
    this.state.time = this.anchorTime;
    for (const m of this.members.values()) m.el.pause();
  }

  seek(seconds: number): void {
    this.anchorTime = Math.max(0, Math.min(seconds, this.state.duration));
    this.anchorWall = performance.now();
    this.state.time = this.anchorTime;
    for (const m of this.members.values()) this.place(m, true);
  }

  setRate(rate: number): void {
    this.anchorTime = this.now();
    this.anchorWall = performance.now();
    this.state.rate = rate;
    for (const m of this.members.values()) m.el.playbackRate = rate;
  }

  destroy(): void {
    window.clearInterval(this.timer);
    for (const m of this.members.values()) m.el.pause();
    this.members.clear();
  }

  /** inside tells whether the clock is within the element's span. */
  private inside(m: Member, t: number): boolean {
    return t >= m.offset && t < m.offset + m.length;
  }

  /** place puts one element where the clock is; hard seeks it when asked or when far off. */
  private place(m: Member, hard: boolean): number {
    const t = this.now();
    const el = m.el;
    if (!this.inside(m, t)) {
      if (!el.paused) el.pause();
      // Show the first (or last) frame while the clock is outside.
      const edge = t < m.offset ? 0 : Math.max(0, m.length - 0.05);
      if (el.readyState >= 1 && Math.abs(el.currentTime - edge) > 0.5) el.currentTime = edge;
      return 0;
    }
    const want = t - m.offset;
    const drift = el.currentTime - want;
    if (el.readyState >= 1 && (hard || Math.abs(drift) > seekAbove)) {
      if (Math.abs(drift) > 0.02) el.currentTime = want;
      el.playbackRate = this.state.rate;
    } else if (Math.abs(drift) > correctAbove) {
      // Ahead: slow down a little; behind: speed up a little.
      el.playbackRate = this.state.rate * (drift > 0 ? 0.9 : 1.1);
    } else if (el.playbackRate !== this.state.rate && Math.abs(drift) < 0.02) {
      el.playbackRate = this.state.rate;
    }
    if (this.state.playing && !this.state.buffering && el.paused) {
      el.play().catch((err: unknown) => console.warn('play', err));
    }
    if (!this.state.playing && !el.paused) el.pause();
    return Math.abs(drift);
  }

  private tick(): void {
    const t = this.now();
    if (this.state.playing) {
      // Hold the clock while a track inside its span cannot play on.
      const starving = [...this.members.values()].some((m) => this.inside(m, t) && m.el.readyState < 3 && !m.el.ended && !m.el.error);
      if (starving && !this.state.buffering) {
        this.anchorTime = t;
        this.state.buffering = true;
        for (const m of this.members.values()) m.el.pause();
      } else if (!starving && this.state.buffering) {
        this.anchorWall = performance.now();
        this.state.buffering = false;
      }
      if (t >= this.state.duration) {
        this.pause();
        this.seek(this.state.duration);
      }
    }
    let drift = 0;
    for (const m of this.members.values()) drift = Math.max(drift, this.place(m, false));
    this.state.drift = drift;
    this.state.time = this.now();
  }
}
