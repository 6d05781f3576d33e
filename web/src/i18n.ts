// Every user-visible string of the app lives in this one dictionary.
// Chinese (zh-CN) is the default; the choice is kept in localStorage.

export type Lang = 'zh-CN' | 'en';

const zh = {
  'app.title': '云课',
  'app.tagline': '实时在线课堂',
  'lang.switch': 'English',
  'lang.switchTitle': '切换到英文',

  'join.heading': '进入课堂',
  'join.name': '姓名',
  'join.namePlaceholder': '例如：王老师',
  'join.role': '身份',
  'join.role.teacher': '老师',
  'join.role.student': '学生',
  'join.role.teacherHint': '开启摄像头和麦克风授课',
  'join.role.studentHint': '观看和聆听，可以参与聊天',
  'join.room': '课堂名称',
  'join.roomPlaceholder': 'demo',
  'join.submit': '进入课堂',
  'join.submitting': '正在进入…',
  'join.required': '请填写{field}',

  'role.teacher': '老师',
  'role.student': '学生',
  'role.you': '我',

  'state.connecting': '正在连接',
  'state.connected': '已连接',
  'state.reconnecting': '正在重连',
  'state.signalReconnecting': '正在重连',
  'state.disconnected': '已断开',

  'room.leave': '离开课堂',
  'room.label': '课堂',
  'room.reconnecting': '网络连接中断，正在尝试重新连接…',
  'room.enableAudio': '浏览器阻止了自动播放声音，点击这里开启声音',
  'room.enableAudioButton': '开启声音',
  'room.waitingTeacher': '等待老师开启摄像头…',
  'room.cameraOff': '摄像头已关闭',
  'room.screen': '屏幕共享',
  'room.participants': '成员 ({count})',
  'room.micOn': '关闭麦克风',
  'room.micOff': '打开麦克风',
  'room.camOn': '关闭摄像头',
  'room.camOff': '打开摄像头',
  'room.muted': '已静音',
  'room.speaking': '正在发言',
  'room.publishingMedia': '正在开启摄像头和麦克风…',
  'room.studentNotice': '你以学生身份加入：可以观看、聆听和发送聊天消息。',

  'chat.heading': '聊天',
  'chat.placeholder': '输入消息，按回车发送',
  'chat.send': '发送',
  'chat.empty': '还没有消息',
  'chat.sendFailed': '消息发送失败：{message}',
  'chat.unknownSender': '未知成员',

  'error.close': '关闭',
  'error.unreachable': '无法连接到服务器，请检查网络或确认服务器已启动。',
  'error.badResponse': '服务器返回了无法识别的响应（HTTP {status}）。',
  'error.server': '服务器出错：{message}',
  'error.fieldsInvalid': '请检查填写的内容。',
  'error.auth': '服务器拒绝了访问令牌：{message}',
  'error.signalUnreachable': '无法连接到实时服务器（{message}）。',
  'error.timeout': '连接实时服务器超时，请稍后重试。',
  'error.connect': '连接课堂失败：{message}',
  'error.mediaPermission': '无法使用摄像头或麦克风：浏览器拒绝了权限。请在地址栏中允许访问后重试。',
  'error.mediaNotFound': '没有找到摄像头或麦克风设备。',
  'error.mediaInUse': '摄像头或麦克风正被其他程序占用。',
  'error.media': '无法开启摄像头或麦克风：{message}',
  'error.disconnected': '已与课堂断开连接（{reason}）。',
  'error.duplicateIdentity': '同名成员在其他地方进入了课堂，你已被移出。',
  'error.removed': '你已被移出课堂。',
  'error.roomClosed': '课堂已结束。',
  'error.serverShutdown': '服务器正在关闭。',

  'footer.version': '云课 {version}',
  'footer.dev': '开发模式',
} as const;

export type Key = keyof typeof zh;

const en: Record<Key, string> = {
  'app.title': 'Yunke',
  'app.tagline': 'Live online classes',
  'lang.switch': '中文',
  'lang.switchTitle': 'Switch to Chinese',

  'join.heading': 'Join a class',
  'join.name': 'Name',
  'join.namePlaceholder': 'e.g. Ms. Wang',
  'join.role': 'Role',
  'join.role.teacher': 'Teacher',
  'join.role.student': 'Student',
  'join.role.teacherHint': 'Teach with camera and microphone',
  'join.role.studentHint': 'Watch, listen and chat',
  'join.room': 'Class name',
  'join.roomPlaceholder': 'demo',
  'join.submit': 'Join class',
  'join.submitting': 'Joining…',
  'join.required': '{field} is required',

  'role.teacher': 'Teacher',
  'role.student': 'Student',
  'role.you': 'you',

  'state.connecting': 'Connecting',
  'state.connected': 'Connected',
  'state.reconnecting': 'Reconnecting',
  'state.signalReconnecting': 'Reconnecting',
  'state.disconnected': 'Disconnected',

  'room.leave': 'Leave',
  'room.label': 'Class',
  'room.reconnecting': 'Connection lost, trying to reconnect…',
  'room.enableAudio': 'The browser blocked audio playback. Click here to enable sound',
  'room.enableAudioButton': 'Enable audio',
  'room.waitingTeacher': 'Waiting for the teacher to turn on the camera…',
  'room.cameraOff': 'Camera off',
  'room.screen': 'Screen share',
  'room.participants': 'Participants ({count})',
  'room.micOn': 'Mute microphone',
  'room.micOff': 'Unmute microphone',
  'room.camOn': 'Turn camera off',
  'room.camOff': 'Turn camera on',
  'room.muted': 'Muted',
  'room.speaking': 'Speaking',
  'room.publishingMedia': 'Starting camera and microphone…',
  'room.studentNotice': 'You joined as a student: you can watch, listen and chat.',

  'chat.heading': 'Chat',
  'chat.placeholder': 'Type a message…',
  'chat.send': 'Send',
  'chat.empty': 'No messages yet',
  'chat.sendFailed': 'Could not send the message: {message}',
  'chat.unknownSender': 'Unknown participant',

  'error.close': 'Dismiss',
  'error.unreachable': 'Cannot reach the server. Check the network or make sure the server is running.',
  'error.badResponse': 'The server sent an unexpected response (HTTP {status}).',
  'error.server': 'Server error: {message}',
  'error.fieldsInvalid': 'Please check the highlighted fields.',
  'error.auth': 'The server rejected the access token: {message}',
  'error.signalUnreachable': 'Cannot reach the real-time server ({message}).',
  'error.timeout': 'Timed out connecting to the real-time server. Please try again.',
  'error.connect': 'Could not join the class: {message}',
  'error.mediaPermission': 'Cannot use the camera or microphone: the browser denied permission. Allow access in the address bar and try again.',
  'error.mediaNotFound': 'No camera or microphone was found.',
  'error.mediaInUse': 'The camera or microphone is in use by another program.',
  'error.media': 'Could not start the camera or microphone: {message}',
  'error.disconnected': 'Disconnected from the class ({reason}).',
  'error.duplicateIdentity': 'Someone joined with the same identity elsewhere; you were signed out.',
  'error.removed': 'You were removed from the class.',
  'error.roomClosed': 'The class has ended.',
  'error.serverShutdown': 'The server is shutting down.',

  'footer.version': 'Yunke {version}',
  'footer.dev': 'development mode',
};

const dictionaries: Record<Lang, Record<Key, string>> = { 'zh-CN': zh, en };

const storageKey = 'yunke.lang';

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(storageKey);
    if (saved === 'en' || saved === 'zh-CN') return saved;
  } catch {
    // storage unavailable (private mode): keep the default
  }
  return 'zh-CN';
}

let current: Lang = initialLang();
const listeners = new Set<() => void>();

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  if (next === current) return;
  current = next;
  try {
    localStorage.setItem(storageKey, next);
  } catch {
    // ignore
  }
  document.documentElement.lang = next;
  for (const fn of listeners) fn();
}

/** onLangChange registers fn to run after every language switch; the result unregisters it. */
export function onLangChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export type Params = Record<string, string | number>;

/** t returns the string for key in the current language, with {name} placeholders filled. */
export function t(key: Key, params?: Params): string {
  const s = dictionaries[current][key] ?? zh[key] ?? key;
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** A message that can be re-rendered when the language changes. */
export interface Message {
  key: Key;
  params?: Params;
}

/** applyI18n fills every element below root that names a dictionary key. */
export function applyI18n(root: ParentNode): void {
  root.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n as Key);
  });
  root.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]').forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder as Key);
  });
  root.querySelectorAll<HTMLElement>('[data-i18n-title]').forEach((el) => {
    el.title = t(el.dataset.i18nTitle as Key);
    el.setAttribute('aria-label', el.title);
  });
}
