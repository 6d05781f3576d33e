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

  'join.devNote': '开发模式：无需账号，填写姓名即可进入。',
  'join.toSignIn': '使用账号登录',
  'join.unavailable': '试用课堂只在开发模式下可用。请使用账号登录。',

  'role.expert': '专家',
  'role.school_admin': '学校管理员',
  'role.district_admin': '区县管理员',
  'role.system_admin': '系统管理员',

  'room.observerNotice': '你以观察者身份进入：其他成员看不到你，你可以观看和聆听。',

  'nav.home': '首页',
  'nav.admin': '管理',
  'nav.signout': '退出登录',
  'nav.changePassword': '修改密码',
  'nav.schools': '学校',
  'nav.schoolsHint': '查看、新建和停用学校',
  'nav.users': '用户',
  'nav.usersHint': '学生、教师、专家和管理员账号',
  'nav.import': '批量导入',
  'nav.importHint': '从 CSV 或 Excel 文件导入学校、教师、学生',
  'nav.targets': '年度目标',
  'nav.targetsHint': '各校的年度录课、参与教师和见习教师覆盖目标',
  'nav.subjects': '学科',
  'nav.subjectsHint': '学科列表',
  'nav.districts': '区县',
  'nav.districtsHint': '查看和新建区县',

  'signin.heading': '登录',
  'signin.intro': '请使用学校或区县发放的账号登录。',
  'signin.username': '用户名',
  'signin.password': '密码',
  'signin.submit': '登录',
  'signin.submitting': '正在登录…',
  'signin.invalid': '用户名或密码不正确。',
  'signin.rateLimited': '登录尝试次数过多，请在 {seconds} 秒后重试。',
  'signin.rateLimitedOver': '现在可以重新尝试登录了。',
  'signin.unreachable': '无法连接到服务器，请检查网络后重试。',
  'signin.devJoin': '试用课堂（开发模式）',
  'signin.signedOut': '你已退出登录。',
  'signin.expired': '登录已过期，请重新登录。',

  'password.heading': '修改密码',
  'password.forced': '首次登录或密码被重置后，需要先设置新密码才能继续使用。',
  'password.current': '当前密码',
  'password.new': '新密码',
  'password.confirm': '再次输入新密码',
  'password.rule': '密码长度为 8–128 个字符。',
  'password.same': '新密码不能与当前密码相同。',
  'password.mismatch': '两次输入的新密码不一致。',
  'password.submit': '保存新密码',
  'password.submitting': '正在保存…',
  'password.wrongCurrent': '当前密码不正确。',
  'password.changed': '密码已修改。',

  'form.required': '请填写{field}',

  'common.loading': '正在加载…',
  'common.saving': '正在保存…',
  'common.actions': '操作',
  'common.yes': '是',

  'action.save': '保存',
  'action.cancel': '取消',
  'action.close': '关闭',
  'action.edit': '编辑',
  'action.search': '搜索',
  'action.deactivate': '停用',
  'action.reactivate': '启用',
  'action.reload': '重新加载',

  'filter.all': '全部',
  'filter.status': '状态',
  'status.active': '启用',
  'status.inactive': '已停用',

  'page.prev': '上一页',
  'page.next': '下一页',
  'page.label': '分页',
  'page.range': '第 {from}–{to} 条，共 {total} 条',
  'page.notFound': '页面不存在',
  'page.forbidden': '没有权限',
  'page.forbiddenText': '你的账号不能访问这个页面。',

  'grade.n': '{n}年级',

  'home.greeting': '你好，{name}',
  'home.school': '学校',
  'home.grade': '年级',
  'home.class': '班级',
  'home.studentNo': '学号',
  'home.staffNo': '工号',
  'home.subjects': '任教学科',
  'home.grades': '任教年级',
  'home.trainee': '见习教师',
  'home.scope': '负责范围',
  'home.scopeDistrict': '全区县 {district}',
  'home.scopeNone': '尚未分配',
  'home.scopeInstallation': '全系统',
  'home.roomName': '课堂名称',
  'home.joinClass': '进入课堂',
  'home.joinHintStudent': '输入老师告诉你的课堂名称，例如 math-7-2。',
  'home.startClass': '开始或进入课堂',
  'home.joinHintTeacher': '自己取一个课堂名称（例如 math-7-2），把它告诉学生。',
  'home.startSubmit': '开始上课',
  'home.observeClass': '进入课堂旁听',
  'home.joinHintObserver': '以观察者身份进入，其他成员看不到你。选择学校，填写老师使用的课堂名称（例如 math-7-2）。',
  'home.observeSubmit': '进入旁听',
  'home.tutoringHistory': '辅导记录',
  'home.qaHistory': '答疑记录',
  'home.comingSoon': '即将推出，目前还不可用。',
  'home.recentActivity': '最近动态',
  'home.noActivity': '还没有动态。',
  'home.activityFailed': '无法加载最近动态。',

  'kind.primary': '小学',
  'kind.junior_secondary': '初中',
  'kind.senior_secondary': '高中',
  'kind.complete_secondary': '完全中学',
  'kind.nine_year': '九年一贯制',
  'kind.kindergarten': '幼儿园',
  'kind.unknown': '未知',

  'schools.search': '搜索',
  'schools.searchPlaceholder': '学校代码或名称',
  'schools.code': '学校代码',
  'schools.name': '学校名称',
  'schools.kind': '学段',
  'schools.district': '所属区县',
  'schools.create': '新建学校',
  'schools.createTitle': '新建学校',
  'schools.editTitle': '编辑学校：{name}',
  'schools.empty': '没有符合条件的学校。',
  'schools.created': '已新建学校“{name}”。',
  'schools.saved': '已保存学校“{name}”。',
  'schools.deactivated': '已停用学校“{name}”。',
  'schools.reactivated': '已启用学校“{name}”。',

  'users.search': '搜索',
  'users.searchPlaceholder': '用户名、姓名、工号或学号',
  'users.username': '用户名',
  'users.name': '姓名',
  'users.password': '初始密码',
  'users.role': '角色',
  'users.roles': '角色',
  'users.rolesRequired': '请至少选择一个角色。',
  'users.school': '学校',
  'users.noSchool': '（不属于某所学校）',
  'users.district': '区县',
  'users.noDistrict': '（无）',
  'users.studentNo': '学号',
  'users.grade': '年级',
  'users.noGrade': '（未设置）',
  'users.class': '班级',
  'users.staffNo': '工号',
  'users.subjects': '学科',
  'users.grades': '任教年级',
  'users.trainee': '见习教师',
  'users.scope': '专家负责范围',
  'users.scopeDistrict': '全区县',
  'users.scopeSchools': '指定学校',
  'users.create': '新建用户',
  'users.createTitle': '新建用户',
  'users.editTitle': '编辑用户：{name}',
  'users.empty': '没有符合条件的用户。',
  'users.created': '已新建用户“{name}”。',
  'users.saved': '已保存用户“{name}”。',
  'users.deactivated': '已停用用户“{name}”。',
  'users.reactivated': '已启用用户“{name}”。',
  'users.resetPassword': '重置密码',
  'users.resetTitle': '重置密码：{name}（{username}）',
  'users.resetExplain': '重置后，该用户的所有登录会话将结束，下次登录时必须修改密码。',
  'users.newPassword': '新密码',
  'users.resetSubmit': '重置密码',
  'users.resetDone': '已重置“{name}”的密码。请把新密码告诉本人；其下次登录时必须修改密码。',

  'import.heading': '上传文件',
  'import.explain': '整个文件作为一次导入：只要有一行有错，就不会导入任何数据。重复导入同一个文件不会产生变化。',
  'import.kind': '导入内容',
  'import.kind.schools': '学校',
  'import.kind.teachers': '教师',
  'import.kind.students': '学生',
  'import.kind.knowledge_points': '知识点',
  'import.file': '文件（CSV 或 XLSX）',
  'import.fileHint': '第一行必须是表头，中文或英文表头均可；文件不超过 10 MiB。',
  'import.initialPassword': '新账号的初始密码',
  'import.initialPasswordHint': '必填。仅用于本次新建的账号，首次登录时必须修改；已有账号的密码不变。',
  'import.chooseFile': '请选择要导入的文件。',
  'import.initialPasswordRequired': '导入教师或学生时请填写初始密码（8–128 个字符）。',
  'import.district': '导入到区县',
  'import.districtHint': '新学校和账号属于这个区县。',
  'import.dryRun': '仅检查（试运行）',
  'import.submit': '导入',
  'import.checking': '正在检查…',
  'import.importing': '正在导入…',
  'import.uploading': '正在上传… {pct}%',
  'import.processing': '上传完成，服务器正在处理…',
  'import.noDryRunKp': '知识点导入不支持试运行',
  'import.done': '导入完成：{file}',
  'import.dryRunOk': '检查通过：{file} 共 {rows} 行，没有发现错误。',
  'import.dryRunNote': '这是试运行：下表是导入将会做的改动，实际没有导入任何数据。确认无误后点击“导入”。',
  'import.nothingImported': '没有导入任何数据：{file} 中有 {count} 处错误。请修改后重新上传。',
  'import.noRowErrors': '服务器没有列出具体的错误行。',
  'import.nothingCounted': '没有数据。',
  'import.col.kind': '类别',
  'import.col.created': '新建',
  'import.col.updated': '更新',
  'import.col.unchanged': '未变化',
  'import.col.row': '行号',
  'import.col.column': '列',
  'import.col.message': '问题',
  'import.templates': '下载模板',
  'import.templatesHint': '按模板填写后上传。',

  'targets.year': '年度',
  'targets.school': '学校',
  'targets.lessons_recorded': '录制课时数',
  'targets.teachers_participating': '参与教师数',
  'targets.trainee_coverage_pct': '见习教师覆盖率（%）',
  'targets.empty': '没有学校。',
  'targets.readOnly': '只有区县管理员可以修改年度目标，你可以查看。',
  'targets.saved': '已保存“{name}”{year} 年的目标。',
  'targets.badNumber': '“{field}”必须是不小于 0 的整数（覆盖率不超过 100）。',

  'subjects.code': '代码',
  'subjects.name': '名称',
  'subjects.nameEn': '英文名称',
  'subjects.sort': '排序',
  'subjects.create': '新建学科',
  'subjects.createTitle': '新建学科',
  'subjects.created': '已新建学科“{name}”。',
  'subjects.empty': '还没有学科。',

  'districts.code': '区县代码',
  'districts.name': '区县名称',
  'districts.created': '已新建区县“{name}”。',
  'districts.createdAt': '创建时间',
  'districts.create': '新建区县',
  'districts.createTitle': '新建区县',
  'districts.empty': '还没有区县。',

  'error.conflict': '这条记录已被其他人修改。请重新加载后再改。',
  'error.forbidden': '没有权限：{message}',
  'error.notFound': '找不到：{message}',
  'error.tooLarge': '文件太大：上限为 10 MiB。',
  'error.rateLimited': '请求过于频繁，请在 {seconds} 秒后重试。',
  'error.csrf': '页面已过期，请刷新页面后重试。',
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

  'join.devNote': 'Development mode: no account needed, just enter a name.',
  'join.toSignIn': 'Sign in with an account',
  'join.unavailable': 'Trying a class without an account is only available in development mode. Please sign in.',

  'role.expert': 'Expert',
  'role.school_admin': 'School admin',
  'role.district_admin': 'District admin',
  'role.system_admin': 'System admin',

  'room.observerNotice': 'You joined as an observer: others cannot see you; you can watch and listen.',

  'nav.home': 'Home',
  'nav.admin': 'Administration',
  'nav.signout': 'Sign out',
  'nav.changePassword': 'Change password',
  'nav.schools': 'Schools',
  'nav.schoolsHint': 'View, create and deactivate schools',
  'nav.users': 'Users',
  'nav.usersHint': 'Student, teacher, expert and admin accounts',
  'nav.import': 'Import',
  'nav.importHint': 'Import schools, teachers and students from CSV or Excel',
  'nav.targets': 'Targets',
  'nav.targetsHint': 'Yearly targets per school',
  'nav.subjects': 'Subjects',
  'nav.subjectsHint': 'The list of subjects',
  'nav.districts': 'Districts',
  'nav.districtsHint': 'View and create districts',

  'signin.heading': 'Sign in',
  'signin.intro': 'Sign in with the account your school or district gave you.',
  'signin.username': 'Username',
  'signin.password': 'Password',
  'signin.submit': 'Sign in',
  'signin.submitting': 'Signing in…',
  'signin.invalid': 'Wrong username or password.',
  'signin.rateLimited': 'Too many sign-in attempts. Try again in {seconds} seconds.',
  'signin.rateLimitedOver': 'You can try to sign in again now.',
  'signin.unreachable': 'Cannot reach the server. Check the network and try again.',
  'signin.devJoin': 'Try a class (development mode)',
  'signin.signedOut': 'You have signed out.',
  'signin.expired': 'Your session has ended. Please sign in again.',

  'password.heading': 'Change password',
  'password.forced': 'Set a new password before you continue (first sign-in or the password was reset).',
  'password.current': 'Current password',
  'password.new': 'New password',
  'password.confirm': 'New password again',
  'password.rule': 'Passwords are 8–128 characters long.',
  'password.same': 'The new password must differ from the current one.',
  'password.mismatch': 'The two new passwords do not match.',
  'password.submit': 'Save new password',
  'password.submitting': 'Saving…',
  'password.wrongCurrent': 'The current password is wrong.',
  'password.changed': 'Your password was changed.',

  'form.required': '{field} is required',

  'common.loading': 'Loading…',
  'common.saving': 'Saving…',
  'common.actions': 'Actions',
  'common.yes': 'Yes',

  'action.save': 'Save',
  'action.cancel': 'Cancel',
  'action.close': 'Close',
  'action.edit': 'Edit',
  'action.search': 'Search',
  'action.deactivate': 'Deactivate',
  'action.reactivate': 'Reactivate',
  'action.reload': 'Reload',

  'filter.all': 'All',
  'filter.status': 'Status',
  'status.active': 'Active',
  'status.inactive': 'Inactive',

  'page.prev': 'Previous',
  'page.next': 'Next',
  'page.label': 'Pages',
  'page.range': '{from}–{to} of {total}',
  'page.notFound': 'Page not found',
  'page.forbidden': 'Not allowed',
  'page.forbiddenText': 'Your account cannot open this page.',

  'grade.n': 'Grade {n}',

  'home.greeting': 'Hello, {name}',
  'home.school': 'School',
  'home.grade': 'Grade',
  'home.class': 'Class',
  'home.studentNo': 'Student number',
  'home.staffNo': 'Staff number',
  'home.subjects': 'Subjects',
  'home.grades': 'Grades taught',
  'home.trainee': 'Trainee teacher',
  'home.scope': 'Scope',
  'home.scopeDistrict': 'The whole district {district}',
  'home.scopeNone': 'Not assigned yet',
  'home.scopeInstallation': 'The whole installation',
  'home.roomName': 'Class name',
  'home.joinClass': 'Join a class',
  'home.joinHintStudent': 'Enter the class name your teacher gave you, e.g. math-7-2.',
  'home.startClass': 'Start or join a class',
  'home.joinHintTeacher': 'Pick a class name (e.g. math-7-2) and tell your students.',
  'home.startSubmit': 'Start class',
  'home.observeClass': 'Observe a class',
  'home.joinHintObserver': 'You join as a hidden observer. Choose the school and enter the class name the teacher uses (e.g. math-7-2).',
  'home.observeSubmit': 'Observe',
  'home.tutoringHistory': 'Tutoring history',
  'home.qaHistory': 'Q&A history',
  'home.comingSoon': 'Coming soon; not available yet.',
  'home.recentActivity': 'Recent activity',
  'home.noActivity': 'No activity yet.',
  'home.activityFailed': 'Could not load recent activity.',

  'kind.primary': 'Primary',
  'kind.junior_secondary': 'Junior secondary',
  'kind.senior_secondary': 'Senior secondary',
  'kind.complete_secondary': 'Complete secondary',
  'kind.nine_year': 'Nine-year',
  'kind.kindergarten': 'Kindergarten',
  'kind.unknown': 'Unknown',

  'schools.search': 'Search',
  'schools.searchPlaceholder': 'School code or name',
  'schools.code': 'School code',
  'schools.name': 'School name',
  'schools.kind': 'Stage',
  'schools.district': 'District',
  'schools.create': 'New school',
  'schools.createTitle': 'New school',
  'schools.editTitle': 'Edit school: {name}',
  'schools.empty': 'No schools match.',
  'schools.created': 'Created the school “{name}”.',
  'schools.saved': 'Saved the school “{name}”.',
  'schools.deactivated': 'Deactivated the school “{name}”.',
  'schools.reactivated': 'Reactivated the school “{name}”.',

  'users.search': 'Search',
  'users.searchPlaceholder': 'Username, name, staff or student number',
  'users.username': 'Username',
  'users.name': 'Name',
  'users.password': 'Initial password',
  'users.role': 'Role',
  'users.roles': 'Roles',
  'users.rolesRequired': 'Choose at least one role.',
  'users.school': 'School',
  'users.noSchool': '(no school)',
  'users.district': 'District',
  'users.noDistrict': '(none)',
  'users.studentNo': 'Student number',
  'users.grade': 'Grade',
  'users.noGrade': '(not set)',
  'users.class': 'Class',
  'users.staffNo': 'Staff number',
  'users.subjects': 'Subjects',
  'users.grades': 'Grades taught',
  'users.trainee': 'Trainee teacher',
  'users.scope': 'Expert scope',
  'users.scopeDistrict': 'The whole district',
  'users.scopeSchools': 'These schools',
  'users.create': 'New user',
  'users.createTitle': 'New user',
  'users.editTitle': 'Edit user: {name}',
  'users.empty': 'No users match.',
  'users.created': 'Created the user “{name}”.',
  'users.saved': 'Saved the user “{name}”.',
  'users.deactivated': 'Deactivated the user “{name}”.',
  'users.reactivated': 'Reactivated the user “{name}”.',
  'users.resetPassword': 'Reset password',
  'users.resetTitle': 'Reset password: {name} ({username})',
  'users.resetExplain': 'All of the user’s sessions end, and they must change the password at their next sign-in.',
  'users.newPassword': 'New password',
  'users.resetSubmit': 'Reset password',
  'users.resetDone': 'The password of “{name}” was reset. Give them the new password; they must change it at their next sign-in.',

  'import.heading': 'Upload a file',
  'import.explain': 'A file is imported as a whole: if any row is wrong, nothing is imported. Importing the same file again changes nothing.',
  'import.kind': 'What to import',
  'import.kind.schools': 'Schools',
  'import.kind.teachers': 'Teachers',
  'import.kind.students': 'Students',
  'import.kind.knowledge_points': 'Knowledge points',
  'import.file': 'File (CSV or XLSX)',
  'import.fileHint': 'The first row must be a header row, in Chinese or English; at most 10 MiB.',
  'import.initialPassword': 'Initial password for new accounts',
  'import.initialPasswordHint': 'Required. Only for accounts this import creates; they must change it at first sign-in. Existing accounts keep theirs.',
  'import.chooseFile': 'Choose a file to import.',
  'import.initialPasswordRequired': 'Teachers and students need an initial password (8–128 characters).',
  'import.district': 'District',
  'import.districtHint': 'New schools and accounts belong to this district.',
  'import.dryRun': 'Check only (dry run)',
  'import.submit': 'Import',
  'import.checking': 'Checking…',
  'import.importing': 'Importing…',
  'import.uploading': 'Uploading… {pct}%',
  'import.processing': 'Uploaded; the server is processing the file…',
  'import.noDryRunKp': 'Knowledge point imports have no dry run',
  'import.done': 'Import finished: {file}',
  'import.dryRunOk': 'Check passed: {file} has {rows} rows and no errors.',
  'import.dryRunNote': 'This was a dry run: the table shows what the import would do, and nothing was imported. Press “Import” when you are ready.',
  'import.nothingImported': 'Nothing was imported: {file} has {count} error(s). Fix them and upload the file again.',
  'import.noRowErrors': 'The server did not list the rows.',
  'import.nothingCounted': 'Nothing.',
  'import.col.kind': 'Kind',
  'import.col.created': 'Created',
  'import.col.updated': 'Updated',
  'import.col.unchanged': 'Unchanged',
  'import.col.row': 'Row',
  'import.col.column': 'Column',
  'import.col.message': 'Problem',
  'import.templates': 'Templates',
  'import.templatesHint': 'Fill in a template and upload it.',

  'targets.year': 'Year',
  'targets.school': 'School',
  'targets.lessons_recorded': 'Lessons recorded',
  'targets.teachers_participating': 'Teachers participating',
  'targets.trainee_coverage_pct': 'Trainee coverage (%)',
  'targets.empty': 'No schools.',
  'targets.readOnly': 'Only district administrators change targets; you can view them.',
  'targets.saved': 'Saved the {year} targets of “{name}”.',
  'targets.badNumber': '“{field}” must be a whole number of at least 0 (coverage at most 100).',

  'subjects.code': 'Code',
  'subjects.name': 'Name',
  'subjects.nameEn': 'English name',
  'subjects.sort': 'Order',
  'subjects.create': 'New subject',
  'subjects.createTitle': 'New subject',
  'subjects.created': 'Created the subject “{name}”.',
  'subjects.empty': 'No subjects yet.',

  'districts.code': 'District code',
  'districts.name': 'District name',
  'districts.created': 'Created the district “{name}”.',
  'districts.createdAt': 'Created',
  'districts.create': 'New district',
  'districts.createTitle': 'New district',
  'districts.empty': 'No districts yet.',

  'error.conflict': 'Someone else changed this record. Reload it and make your change again.',
  'error.forbidden': 'Not allowed: {message}',
  'error.notFound': 'Not found: {message}',
  'error.tooLarge': 'The file is too large: the limit is 10 MiB.',
  'error.rateLimited': 'Too many requests. Try again in {seconds} seconds.',
  'error.csrf': 'The page is out of date. Reload it and try again.',
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
    let params: Params | undefined;
    if (el.dataset.i18nParams) {
      try {
        params = JSON.parse(el.dataset.i18nParams) as Params;
      } catch {
        params = undefined;
      }
    }
    // Keep child elements (e.g. a spinner) that precede the text.
    const text = t(el.dataset.i18n as Key, params);
    if (el.children.length === 0) el.textContent = text;
    else {
      const last = el.lastChild;
      if (last && last.nodeType === Node.TEXT_NODE) last.textContent = text;
      else el.append(text);
    }
  });
  root.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]').forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder as Key);
  });
  root.querySelectorAll<HTMLElement>('[data-i18n-title]').forEach((el) => {
    el.title = t(el.dataset.i18nTitle as Key);
    el.setAttribute('aria-label', el.title);
  });
}
