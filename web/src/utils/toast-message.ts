// ElMessage with its styles; utils/toast.ts loads this on first use.

import { ElMessage } from 'element-plus';
import 'element-plus/es/components/message/style/css';

export function showMessage(message: string, type: 'info' | 'error' | 'success', duration: number): void {
  ElMessage({ message, type, duration, showClose: true, grouping: true });
}
