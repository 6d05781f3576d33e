/// <reference types="vite/client" />

import type { Room } from 'livekit-client';

declare global {
  interface Window {
    /** Handle for diagnostics and browser tests: the live Room of a class or a tutoring session (null outside one). */
    yunke: { room: Room | null };
  }
}

export {};
