// ElMessage with its styles; utils/toast.ts loads this on first use.
//
// The text is rendered from the Message (key and parameters) inside the
// toast, so a toast on screen follows a language switch. Toasts open below
// the page's header (styles/index.css shifts them by --header-height, which
// AppHeader keeps up to date), so they never hide it, on a phone either.

import { ElMessage } from 'element-plus';
import 'element-plus/es/components/message/style/css';
import { createTextVNode, type VNode } from 'vue';

import { tm, type Message } from '@/locales';

// One render function per message on screen: ElMessage groups toasts whose
// message is the same value, so a repeated message shows once with a count.
const renderers = new Map<string, () => VNode>();

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
    onClose: () => void renderers.delete(id),
  });
}
