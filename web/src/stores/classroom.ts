// The live class as the rest of the app sees it, without the LiveKit SDK:
// the grant a page obtained before opening the class page, and what the
// header shows while a class is open.

import { reactive } from 'vue';

import type { Class, ClassRating, ClassRole, ClassView } from '@/api/classes';
import type { JoinGrant, Role } from '@/api/rooms';
import type { Home } from '@/api/auth';

/** How the local user takes part: a teacher publishes, a student watches and chats, an observer watches hidden. */
export type LocalRole = Role | 'observer';

/** A class a page is about to enter: the class page takes it. */
export interface PendingClass {
  grant: JoinGrant;
  role: LocalRole;
  /** The page to show again when the class ends. */
  back: string;
  /** A scheduled class: the class and the caller's role in it. */
  cls?: Class;
  classRole?: ClassRole;
}

/** A scheduled class the student is asked to rate (RatingDialog, in App.vue). */
export interface ClassRatingPrompt {
  kind: 'class-rating';
  cls: ClassView;
  onSaved?: (r: ClassRating) => void;
}

export const liveClass = reactive<{
  pending: PendingClass | null;
  /** The open class's room name and connection state (livekit-client's ConnectionState values). */
  open: { room: string; state: string; title?: string } | null;
  /** The class whose rating dialog is open. */
  rating: ClassRatingPrompt | null;
}>({ pending: null, open: null, rating: null });

/** rateClassPrompt opens the rating dialog for a scheduled class. */
export function rateClassPrompt(cls: ClassView, onSaved?: (r: ClassRating) => void): void {
  liveClass.rating = { kind: 'class-rating', cls, onSaved };
}

/** classroomRole maps the server's grant role (and the user's home) to how the page behaves. */
export function classroomRole(grantRole: string | undefined, home: Home | undefined): LocalRole {
  switch (grantRole) {
    case 'teacher':
      return 'teacher';
    case 'student':
      return 'student';
    case undefined:
    case '':
      return home === 'teacher' ? 'teacher' : home === 'student' ? 'student' : 'observer';
    default:
      return 'observer';
  }
}
