// An Alertmanager alert group of one environment as a Slack message: what fires (or that it
// resolved), each alert's service and summary, and a button to the environment's dashboard.
import { alertText, type AlertMessage } from '../../../shared/chat.js';
import { clip, context, esc, fallback, section, SLACK_LIMITS, type KnownBlock, type MessagePayload } from './common.js';

const SEVERITY_EMOJI: Record<string, string> = { critical: '🔴', warning: '🟠', info: '🔵' };

export function alertMessage(a: AlertMessage): MessagePayload {
  const head =
    a.status === 'resolved'
      ? `✅ *Resolved* in *${esc(a.environment)}*`
      : `🚨 *${a.alerts.filter((x) => x.status === 'firing').length} firing* in *${esc(a.environment)}*`;
  const lines = a.alerts.slice(0, 20).map((x) => {
    const mark = x.status === 'resolved' ? '✅' : (SEVERITY_EMOJI[x.severity ?? ''] ?? '🟠');
    return `${mark} *${esc(x.name)}*${x.service ? ` · ${esc(x.service)}` : ''}${x.summary ? `: ${esc(x.summary)}` : ''}`;
  });
  const blocks: KnownBlock[] = [section(clip([head, ...lines].join('\n'), SLACK_LIMITS.sectionText))];
  const notes = [
    ...(a.alerts.length > 20 ? [`${a.alerts.length - 20} more alerts not shown`] : []),
    ...(a.truncated ? [`Alertmanager left out ${a.truncated} more`] : []),
  ];
  if (a.dashboardUrl) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open dashboard' }, url: a.dashboardUrl, action_id: 'alert_dashboard' }] });
  if (notes.length) blocks.push(context(notes));
  return { text: fallback(alertText(a), `Alerts in ${a.environment}`), blocks };
}
