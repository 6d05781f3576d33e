// Entering and leaving the live classroom, shared by the development join
// page and the signed-in homes.

import type { JoinGrant } from './api';
import { Classroom, type Failure, type LocalRole } from './classroom';

export type { Failure };

let current: Classroom | null = null;

/** inClass reports whether a classroom is open. */
export function inClass(): boolean {
  return current !== null;
}

/**
 * enterClassroom connects to the room of grant. It resolves once connected
 * (the room view is showing) and rejects with a Failure, leaving the page as
 * it was. onEnded runs when the class ends later (leave, kicked, lost).
 */
export async function enterClassroom(grant: JoinGrant, role: LocalRole, onEnded: (failure: Failure | null) => void): Promise<void> {
  const classroom = new Classroom(grant, role, {
    onEnded: (failure) => {
      current = null;
      window.yunke.room = null;
      window.yunke.classroom = null;
      onEnded(failure);
    },
  });
  window.yunke.room = classroom.room;
  window.yunke.classroom = classroom;
  try {
    await classroom.connect();
  } catch (failure) {
    window.yunke.room = null;
    window.yunke.classroom = null;
    throw failure as Failure;
  }
  current = classroom;
  document.body.dataset.view = 'room';
}

/** leaveClassroom disconnects the open classroom, if any. */
export async function leaveClassroom(): Promise<void> {
  const c = current;
  if (c) await c.leave();
}

/** classroomRole maps the server's grant role (and the user's home) to how the page behaves. */
export function classroomRole(grantRole: string | undefined, home: string): LocalRole {
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
