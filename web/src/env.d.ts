/// <reference types="vite/client" />

import type { Room } from 'livekit-client';

import type { SyncPlayer } from '@/media/sync-player';

declare global {
  interface Window {
    /** Handle for diagnostics and browser tests: the live Room of a class or a tutoring session (null outside one). */
    yunke: { room: Room | null; /** The recording player's clock (null outside the player). */ player?: SyncPlayer | null };
  }
}

export {};
