// Payload transformation: a monitoring webhook's nested body -> the collection's fields.
// {"alert": {"title": ..., "severity": ..., "labels": {...}}, "reporter": {"email": ...}}
const PRIORITY = { critical: "1", high: "2", warning: "3" };

function reshape(payload) {
  const alert = payload.alert || {};
  const labels = alert.labels || {};
  return {
    summary: alert.title || "(untitled alert)",
    priority: PRIORITY[alert.severity] || "4",
    assignee: (payload.reporter && payload.reporter.email) || null,
    status: "New",
    description: Object.keys(labels).sort().map(k => k + "=" + labels[k]).join(", "),
  };
}
