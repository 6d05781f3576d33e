// ElMessage with its styles; utils/toast.ts loads this on first use.
//
// The text is rendered from the Message (key and parameters) inside the
// toast, so a toast on screen follows a language switch. Each toast opens
// below the page's header (on a phone the header wraps onto two lines and a
// toast at the top would hide it) — or at the top once the header has
// scrolled away.

import { ElMessage } from 'element-plus';
import 'element-plus/es/components/message/style/css';
import { createTextVNode, type VNode } from 'vue';

import { tm, type Message } from '@/locales';

// One render function per message on screen: ElMessage groups toasts whose
// message is the same value, so a repeated message shows once with a count.
const renderers = new Map<string, () => VNode>();

/** belowHeader is the toast's distance from the top of the window. */
function belowHeader(): number {
  const bottom = document.querySelector('header.topbar')?.getBoundingClientRect().bottom ?? 0;
  return Math.max(16, Math.round(bottom) + 8);
}

export function showMessage(message: Message, type: 'info' | 'error' | 'success', duration: number): void {
  const id = JSON.stringify([message.key, message.params ?? {}, type]);
  let render = renderers.get(id);
  if (!render) {
    render = () => createTextVNode(tm(message));
    renderers.set(id, render);
  }
  ElMessage({
    message: render,
    type,
    duration,
    showClose: true,
    grouping: true,
    offset: belowHeader(),
    onClose: () => void renderers.delete(id),
  });
}
