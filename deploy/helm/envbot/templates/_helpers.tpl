{{- define "envbot.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "envbot.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "envbot.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "envbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "envbot.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name the existing ServiceAccount envbot runs as (serviceAccount.create is false)" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Settings `settings` may hold: envbot's non-secret settings the chart does not set itself. */}}
{{- define "envbot.freeSettings" -}}
AWS_REGION AWS_ENDPOINT_URL LOG_LEVEL SLACK_API_URL ENVBOT_SNS_TOPIC_ARNS ENVBOT_S3_REFRESH_DEBOUNCE_SECONDS ENVBOT_S3_REFRESH_CONCURRENCY ENVBOT_STORAGE_COPY_POLL_SECONDS ENVBOT_GIT_PUSH_CONCURRENCY ENVBOT_PROMOTION_CHECK_EVERY
{{- end -}}

{{/* An env entry read from a Secret key named as the setting. */}}
{{- define "envbot.secretEnv" -}}
- name: {{ .key }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}
