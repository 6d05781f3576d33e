// The notes a review pins on the player's timeline: the review panel (an
// expert's draft) or the teacher's feedback fills them; the player's notes
// lane shows them as markers.

import { ref } from 'vue';

export interface LaneNote {
  start_ms: number;
  end_ms?: number;
  text: string;
  criterion?: string;
}

export const laneNotes = ref<LaneNote[]>([]);
